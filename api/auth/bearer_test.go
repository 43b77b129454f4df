package auth_test

import (
	"strings"
	"testing"

	"github.com/connectsoft/tenantctl/api/auth"
)

func TestParseBearer(t *testing.T) {
	tests := []struct {
		header string
		token  string
		reason auth.Reason
	}{
		{"Bearer abc.def.ghi", "abc.def.ghi", ""},
		{"bearer abc.def.ghi", "abc.def.ghi", ""},
		{"Bearer  abc.def-_~+/=", "abc.def-_~+/=", ""},
		{"", "", auth.ReasonMissingToken},
		{"Basic dXNlcjpwYXNz", "", auth.ReasonMalformedHeader},
		{"Bearer", "", auth.ReasonMalformedHeader},
		{"Bearer ", "", auth.ReasonMalformedHeader},
		{"Bearer a b", "", auth.ReasonMalformedHeader},
		{"Bearer =abc", "", auth.ReasonMalformedHeader},
		{"Bearer abc=d", "", auth.ReasonMalformedHeader},
		{"Bearer ab\x00c", "", auth.ReasonMalformedHeader},
		{"Bearer " + strings.Repeat("a", auth.MaxTokenBytes+1), "", auth.ReasonTokenTooLarge},
	}
	for _, tc := range tests {
		name := tc.header
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			tok, err := auth.ParseBearer(tc.header)
			if tc.reason == "" {
				if err != nil || tok != tc.token {
					t.Fatalf("ParseBearer = %q, %v; want %q", tok, err, tc.token)
				}
				return
			}
			f, ok := auth.AsFailure(err)
			if !ok || f.Reason != tc.reason {
				t.Fatalf("err = %v, want reason %s", err, tc.reason)
			}
		})
	}
}
