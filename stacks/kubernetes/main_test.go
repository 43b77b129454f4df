package kubernetes_test

import (
	"os"
	"testing"

	"github.com/connectsoft/tenantctl/internal/testenv"
)

// TestMain starts the local cluster lazily for the integration tests and stops it afterwards; the
// package's unit tests never start it.
func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }
