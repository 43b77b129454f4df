package automation_test

import (
	"os"
	"testing"

	"github.com/connectsoft/tenantctl/internal/testenv"
)

func TestMain(m *testing.M) {
	if os.Getenv("TENANTCTL_TEST_KILL_DATA") != "" {
		killedUpHelper() // child process of TestRecoverAfterSIGKILL; never returns
	}
	os.Exit(testenv.Run(m))
}
