package tenantpg

import (
	"regexp"
	"strings"
	"testing"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
)

var passwordChars = regexp.MustCompile(`^[A-Za-z0-9]+$`)

// TestPassword runs against a provider whose server does not exist: a password never needs one.
func TestPassword(t *testing.T) {
	h := newOfflineHarness(t)
	logs := captureLogs(t)
	var results []string

	for _, tc := range []struct {
		name   string
		inputs map[string]any
		length int
	}{
		{"default length", map[string]any{}, 32},
		{"shortest", map[string]any{"length": 16}, 16},
		{"longest", map[string]any{"length": 128, "keepers": map[string]string{"tenant": "acme"}}, 128},
	} {
		t.Run(tc.name, func(t *testing.T) {
			urn := h.urn("Password", tc.name)
			checked, failures := h.check(urn, property.Map{}, props(tc.inputs))
			if len(failures) > 0 {
				t.Fatalf("Check: %+v", failures)
			}
			// Preview: the password is unknown (and a secret), nothing is generated.
			preview, err := h.s.Create(p.CreateRequest{Urn: urn, Properties: checked, DryRun: true})
			if err != nil {
				t.Fatal(err)
			}
			if v := preview.Properties.Get("result"); !v.IsComputed() {
				t.Errorf("preview result = %v, want unknown", v)
			}
			if v := preview.Properties.Get("length"); v.IsComputed() || v.AsNumber() != float64(tc.length) {
				t.Errorf("preview length = %v", v)
			}
			r, err := h.tryCreate("Password", tc.name, tc.inputs)
			if err != nil {
				t.Fatal(err)
			}
			v := r.state.Get("result")
			if !v.Secret() {
				t.Error("result is not a secret")
			}
			pw := v.AsString()
			if len(pw) != tc.length || !passwordChars.MatchString(pw) || !hasEveryClass([]byte(pw)) {
				t.Errorf("password of %d characters: got %d, charset ok %v, every class %v", tc.length, len(pw), passwordChars.MatchString(pw), hasEveryClass([]byte(pw)))
			}
			if r.id == "" || strings.Contains(pw, r.id) || strings.Contains(r.id, pw) {
				t.Errorf("ID %q", r.id)
			}
			results = append(results, pw)

			// Stable: Read returns the state, diff against the same inputs is empty.
			before := r.state
			for i := 0; i < 2; i++ {
				if !r.refresh() {
					t.Fatal("Read reports the password gone")
				}
			}
			if !r.state.Equals(before) {
				t.Errorf("Read changed the state:\n%v\n%v", before, r.state)
			}
			wantChanged(t, "same inputs", r.diff(tc.inputs))
			r.delete()
		})
	}

	// Any change of length or keepers is a new password (a rotation); none deletes first.
	inputs := map[string]any{"keepers": map[string]string{"rotation": "1"}}
	r := h.create("Password", "rotated", inputs)
	for _, tc := range []struct {
		name   string
		inputs map[string]any
		want   []string
	}{
		{"unchanged", map[string]any{"keepers": map[string]string{"rotation": "1"}, "length": 32}, nil},
		{"keeper changed", map[string]any{"keepers": map[string]string{"rotation": "2"}}, []string{"keepers!"}},
		{"keeper added", map[string]any{"keepers": map[string]string{"rotation": "1", "by": "ops"}}, []string{"keepers!"}},
		{"keepers removed", map[string]any{}, []string{"keepers!"}},
		{"length", map[string]any{"keepers": map[string]string{"rotation": "1"}, "length": 40}, []string{"length!"}},
	} {
		d := r.diff(tc.inputs)
		wantChanged(t, tc.name, d, tc.want...)
		if d.DeleteBeforeReplace {
			t.Errorf("%s: a password replacement deletes first", tc.name)
		}
	}
	empty := h.create("Password", "no-keepers", map[string]any{})
	wantChanged(t, "no keepers vs empty keepers", empty.diff(map[string]any{"keepers": map[string]string{}}))
	rotated := h.create("Password", "rotated-2", map[string]any{"keepers": map[string]string{"rotation": "2"}})
	results = append(results, r.state.Get("result").AsString(), rotated.state.Get("result").AsString(), empty.state.Get("result").AsString())

	// No two passwords alike.
	seen := map[string]bool{}
	for _, pw := range results {
		if seen[pw] {
			t.Errorf("password generated twice")
		}
		seen[pw] = true
	}

	// Import is refused: the password exists only in the state.
	if _, err := h.s.Read(p.ReadRequest{ID: r.id, Urn: h.urn("Password", "imported")}); err == nil || !strings.Contains(err.Error(), "cannot be imported") {
		t.Errorf("import: err = %v", err)
	}

	// Never logged, nor echoed by an error.
	for _, pw := range results {
		if strings.Contains(logs.String(), pw) {
			t.Error("a password appears in the provider's log")
		}
	}
	_, failures := h.check(h.urn("Password", "short"), property.Map{}, props(map[string]any{"length": 8}))
	if len(failures) != 1 || failures[0].Property != "length" || !strings.Contains(failures[0].Reason, "16 to 128") {
		t.Errorf("length 8: failures %+v", failures)
	}
}

func TestGeneratePassword(t *testing.T) {
	counts := map[rune]int{}
	for i := 0; i < 2000; i++ {
		pw, err := generatePassword(16)
		if err != nil {
			t.Fatal(err)
		}
		if len(pw) != 16 || !passwordChars.MatchString(pw) || !hasEveryClass([]byte(pw)) {
			t.Fatalf("password %d: %d characters, charset ok %v", i, len(pw), passwordChars.MatchString(pw))
		}
		for _, c := range pw {
			counts[c]++
		}
	}
	// 32,000 characters over 62: each is expected about 516 times; a character never or far too
	// often drawn means a broken alphabet or a biased draw.
	if len(counts) != len(passwordAlphabet) {
		t.Errorf("%d distinct characters drawn, want %d", len(counts), len(passwordAlphabet))
	}
	for c, n := range counts {
		if n < 350 || n > 700 {
			t.Errorf("character %q drawn %d times of 32000", c, n)
		}
	}
	for _, n := range []int{0, 15, 129} {
		if _, err := generatePassword(n); err == nil {
			t.Errorf("length %d accepted", n)
		}
	}
}
