package benchkit

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// clusterProcesses (comm, cut at 15 characters) are left out of the engine's memory: the local control plane is the system
// under provisioning, not part of tenantctl.
var clusterProcesses = map[string]bool{"etcd": true, "kube-apiserver": true, "kube-controller": true}

// RSSSampler tracks the peak resident memory of a process tree (by default this process and its
// descendants: the pulumi CLIs and the provider plugins they start), sampled from /proc. The sum is
// taken per sample, so it is the peak of what was resident at once, not a sum of peaks.
type RSSSampler struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	peak int64 // bytes; 0 when /proc is unavailable
	root func() int
}

// StartRSSSampler samples this process's tree every interval until Stop.
func StartRSSSampler(every time.Duration) *RSSSampler {
	return StartTreeSampler(every, os.Getpid)
}

// StartTreeSampler samples the tree under the pid root returns (read at every sample, so a
// command started after the sampler is picked up once it has a pid; 0 means not yet).
func StartTreeSampler(every time.Duration, root func() int) *RSSSampler {
	s := &RSSSampler{stop: make(chan struct{}), done: make(chan struct{}), root: root}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			s.sample()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// Stop ends sampling and returns the peak in bytes (0: not measurable here).
func (s *RSSSampler) Stop() int64 {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

type procInfo struct {
	ppid int
	comm string
	rss  int64
}

func (s *RSSSampler) sample() {
	root := s.root()
	if root <= 0 {
		return
	}
	procs := readProcs()
	if len(procs) == 0 {
		return
	}
	children := map[int][]int{}
	for pid, p := range procs {
		children[p.ppid] = append(children[p.ppid], pid)
	}
	var total int64
	stack := []int{root}
	for len(stack) > 0 {
		pid := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		p, ok := procs[pid]
		if !ok || clusterProcesses[p.comm] {
			continue
		}
		total += p.rss
		stack = append(stack, children[pid]...)
	}
	s.mu.Lock()
	s.peak = max(s.peak, total)
	s.mu.Unlock()
}

var pageSize = int64(os.Getpagesize())

// readProcs reads every process's parent, command name and resident set from /proc.
func readProcs() map[int]procInfo {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	out := map[int]procInfo{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid ... ; comm may hold spaces and parentheses, so cut at the last ')'.
		open, closing := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
		if open < 0 || closing < open {
			continue
		}
		fields := bytes.Fields(stat[closing+1:])
		if len(fields) < 22 {
			continue
		}
		ppid, _ := strconv.Atoi(string(fields[1]))
		rssPages, _ := strconv.ParseInt(string(fields[21]), 10, 64)
		out[pid] = procInfo{ppid: ppid, comm: string(stat[open+1 : closing]), rss: rssPages * pageSize}
	}
	return out
}
