package audit

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The two-process test re-executes this test binary; with these variables set it appends events
// as a second process instead of running tests.
const (
	helperLogEnv   = "AUDIT_TEST_HELPER_LOG"
	helperCountEnv = "AUDIT_TEST_HELPER_COUNT"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(helperLogEnv); path != "" {
		n, err := strconv.Atoi(os.Getenv(helperCountEnv))
		if err == nil {
			err = appendInTwoHalves(path, "child", "parent", n)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// appendInTwoHalves appends n events named prefix-i: half of them, then, once the other writer
// has appended anything, the rest. Each half races the other writer's appends, and the hand-over
// makes the records interleave however the processes are scheduled: whichever writer starts first
// has records before the other's first record (its first half) and after it (its second half).
// It cannot deadlock, since nobody waits before appending its first record.
func appendInTwoHalves(path, prefix, other string, n int) error {
	l, err := Open(path, WithoutFsync())
	if err != nil {
		return err
	}
	defer l.Close()
	for i := range n {
		if i == max(n/2, 1) {
			if err := awaitRecordOf(path, other); err != nil {
				return err
			}
		}
		ev := Event{EventID: fmt.Sprintf("%s-%d", prefix, i), Type: TypeDriftRemediate, Outcome: OutcomeSucceeded}
		if _, err := l.Append(context.Background(), ev); err != nil {
			return err
		}
	}
	return nil
}

func awaitRecordOf(path, prefix string) error {
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		recs, err := QueryFile(context.Background(), path, Filter{})
		if err != nil {
			return err
		}
		for _, r := range recs {
			if strings.HasPrefix(r.EventID, prefix+"-") {
				return nil
			}
		}
	}
	return fmt.Errorf("no %s record within a minute", prefix)
}

func TestConcurrentAppendsFromTwoProcessesFormOneChain(t *testing.T) {
	const each = 300
	_, path := openTemp(t)
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), helperLogEnv+"="+path, helperCountEnv+"="+strconv.Itoa(each))
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	if err := appendInTwoHalves(path, "parent", "child", each); err != nil {
		_ = child.Process.Kill()
		t.Fatal(err)
	}
	if err := child.Wait(); err != nil {
		t.Fatalf("child process: %v", err)
	}
	mustVerify(t, path, 2*each)
	assertEachIDOnce(t, path, 2*each)

	recs, err := QueryFile(context.Background(), path, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	switches := 0
	for i := 1; i < len(recs); i++ {
		if recs[i].EventID[:5] != recs[i-1].EventID[:5] {
			switches++
		}
	}
	if switches < 2 {
		t.Errorf("the two writers alternated %d times; the hand-over should make them interleave", switches)
	}
	t.Logf("the writers alternated %d times", switches)
}
