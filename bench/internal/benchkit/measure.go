package benchkit

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// CPUTime is the user+sys time of this process and of the children it waited for (the pulumi
// CLIs, which wait for their provider plugins; a shell, which waits for its commands).
func CPUTime() time.Duration {
	var self, children syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(children.Utime) + tv(children.Stime)
}

// LoadAverage is the 1-minute load average from /proc/loadavg ("n/a" elsewhere): other work on
// the machine takes CPU from what is measured, and this says how much.
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "n/a"
	}
	return f[0]
}

// Secs formats a duration for a table: seconds with one decimal, minutes past ten minutes.
func Secs(d time.Duration) string {
	if d >= 10*time.Minute {
		return fmt.Sprintf("%.1f min", d.Minutes())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// MiB formats bytes for a table ("n/a" when not measurable here).
func MiB(b int64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%d MiB", b>>20)
}

// ChildrenCPUTime is the user+sys time of the children this process waited for, and of theirs:
// the delta around one command is what that command's process tree used.
func ChildrenCPUTime() time.Duration {
	var children syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	return time.Duration(children.Utime.Nano()) + time.Duration(children.Stime.Nano())
}

// InUse is the memory the Go runtime holds from the OS (mapped minus released), the part of the
// process's resident set the program accounts for.
func InUse() uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(sample)
	return sample[0].Value.Uint64() - sample[1].Value.Uint64()
}

// PeakMemory samples InUse every 5 ms while run runs and returns the peak.
func PeakMemory(run func()) uint64 {
	var peak uint64
	read := func() { peak = max(peak, InUse()) }
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				read()
			}
		}
	})
	run()
	close(done)
	wg.Wait()
	read()
	return peak
}

// BestOf runs fn runs times after a garbage collection each and returns the least CPU and wall
// time and the highest memory in use: the least is what the work costs, the rest is neighbours.
func BestOf(runs int, fn func()) (cpu, wall time.Duration, peak uint64) {
	cpu, wall = time.Duration(1<<62), time.Duration(1<<62)
	for range runs {
		runtime.GC()
		c0, w0 := CPUTime(), time.Now()
		peak = max(peak, PeakMemory(fn))
		cpu, wall = min(cpu, CPUTime()-c0), min(wall, time.Since(w0))
	}
	return cpu, wall, peak
}

// MeasureLoop runs one iteration of a benchmark per b.Loop and reports, besides time and
// allocations, the fleet's size (objects), the memory the fleet held before (fleet-MiB), the
// process's CPU time per iteration (cpu-ms/op: under a loaded machine it says what the work costs
// when wall time cannot), the peak memory in use while it ran (peak-MiB) and the part above the
// fleet (analysis-MiB). extra metrics are reported as given.
func MeasureLoop(b *testing.B, objects int, extra map[string]float64, run func()) {
	runtime.GC()
	debug.FreeOSMemory()
	base := InUse()
	cpu0 := CPUTime()
	b.ResetTimer()
	var peak uint64
	for b.Loop() {
		peak = max(peak, PeakMemory(run))
	}
	b.StopTimer()
	// Reported after the loop: ResetTimer drops metrics reported before it.
	b.ReportMetric(float64(objects), "objects")
	for unit, v := range extra {
		b.ReportMetric(v, unit)
	}
	b.ReportMetric(float64(base)/(1<<20), "fleet-MiB")
	b.ReportMetric(float64(CPUTime()-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
	b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
	b.ReportMetric(float64(peak-min(peak, base))/(1<<20), "analysis-MiB")
}

// MachineBusy is the CPU time every process on the machine has used so far (the busy fields of
// /proc/stat's "cpu" line: user, nice, system, irq, softirq, steal), 0 where there is none. Its
// delta over a phase divided by the phase's wall time is how many cores were busy — the engine
// and everything serving it (control plane, database server), which CPUTime leaves out.
func MachineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system [idle iowait] irq softirq steal
		v, _ := strconv.ParseInt(f[i], 10, 64)
		ticks += v
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}
