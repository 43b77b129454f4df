//go:build !linux

package providerpool

import "os/exec"

// setParentDeathSignal has no portable equivalent off Linux; Close and the idle timeout stop
// the plugins there.
func setParentDeathSignal(*exec.Cmd) {}
