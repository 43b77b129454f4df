package api_test

import (
	"os"
	"testing"

	"github.com/connectsoft/tenantctl/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }
