package providerpool

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal makes the kernel kill a plugin when the process that started it dies, so
// a killed tenantctl leaves no provider behind (the CLI's own plugins die with their CLI).
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
