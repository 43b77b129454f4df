package automation

import (
	"errors"
	"testing"
)

func TestConciseErrorKeepsTheProgramsReasons(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain CLI error", "failed to run update: exit status 1\nstdout noise\nerror: update failed",
			"failed to run update: exit status 1: error: update failed"},
		{"program error with bullets",
			"failed to run preview: exit status 1\n+ pulumi:pulumi:Stack creating\nerror: an unhandled error occurred: 1 error occurred:\n\t* environment dev keeps tenant data on PostgreSQL: pass --postgres-connection FILE\n\nResources:\n    + 1 to create",
			"failed to run preview: exit status 1: error: an unhandled error occurred: 1 error occurred:; * environment dev keeps tenant data on PostgreSQL: pass --postgres-connection FILE"},
		{"bullets only after an error line", "failed\n* not a reason", "failed"},
		{"no error lines", "failed to run update: exit status 2\nsomething", "failed to run update: exit status 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := conciseError(errors.New(tt.in)); got != tt.want {
				t.Errorf("conciseError =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}
