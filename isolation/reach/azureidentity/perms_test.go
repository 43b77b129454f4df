package azureidentity

import "testing"

func TestGlobs(t *testing.T) {
	tests := []struct {
		fn      string
		a, b    string
		want    bool
		comment string
	}{
		{"match", "*", "Microsoft.KeyVault/vaults/write", true, "everything"},
		{"match", "Microsoft.KeyVault/*", "microsoft.keyvault/vaults/secrets/getSecret/action", true, "case-insensitive, crosses /"},
		{"match", "*/read", "Microsoft.Storage/storageAccounts/read", true, ""},
		{"match", "*/read", "Microsoft.Storage/storageAccounts/write", false, ""},
		{"match", "Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/write", true, "Contributor's notAction"},
		{"match", "Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/read", false, ""},
		{"contains", "*", "Microsoft.KeyVault/*", true, ""},
		{"contains", "Microsoft.Authorization/*", "Microsoft.Authorization/*/Write", true, ""},
		{"contains", "Microsoft.Authorization/*/Write", "*", false, "a narrower pattern never contains *"},
		{"contains", "Microsoft.KeyVault/vaults/secrets/*", "Microsoft.KeyVault/vaults/*", false, ""},
		{"contains", "a*c", "abc", true, ""},
		{"contains", "a*c", "a*bc", true, ""},
		{"contains", "abc", "a*c", false, ""},
		{"intersect", "system:serviceaccount:t-*", "system:serviceaccount:t-acme:*", true, ""},
		{"intersect", "system:serviceaccount:t-globex:*", "system:serviceaccount:t-acme:*", false, ""},
		{"intersect", "*:app", "system:serviceaccount:t-acme:*", true, ""},
		{"intersect", "system:serviceaccount:kube-system:*", "system:serviceaccount:t-acme:*", false, ""},
	}
	for _, tc := range tests {
		var got bool
		switch tc.fn {
		case "match":
			got = globMatch(tc.a, tc.b)
		case "contains":
			got = globContains(tc.a, tc.b)
		case "intersect":
			got = globIntersect(tc.a, tc.b)
		}
		if got != tc.want {
			t.Errorf("%s(%q, %q) = %v, want %v %s", tc.fn, tc.a, tc.b, got, tc.want, tc.comment)
		}
	}
}

func TestRoleDefinitionEffect(t *testing.T) {
	tests := []struct {
		name        string
		p           permission
		write, data string
	}{
		{"Reader", permission{actions: []string{"*/read"}}, "", ""},
		{"Contributor", permission{actions: []string{"*"}, notActions: []string{"Microsoft.Authorization/*/Write"}}, "*", ""},
		{"write excluded wholly", permission{actions: []string{"Microsoft.KeyVault/vaults/write"}, notActions: []string{"Microsoft.KeyVault/*"}}, "", ""},
		{"listKeys is not a read", permission{actions: []string{"Microsoft.Storage/storageAccounts/listkeys/action"}}, "Microsoft.Storage/storageAccounts/listkeys/action", ""},
		{"data minus notData", permission{dataActions: []string{"Microsoft.KeyVault/vaults/secrets/*"}, notDataActions: []string{"Microsoft.KeyVault/vaults/secrets/*"}}, "", ""},
		{"data", permission{dataActions: []string{"Microsoft.KeyVault/vaults/secrets/getSecret/action"}}, "", "Microsoft.KeyVault/vaults/secrets/getSecret/action"},
		{"* in actions grants no data action", permission{actions: []string{"*"}}, "*", ""},
	}
	for _, tc := range tests {
		d := &roleDefinition{name: tc.name, perms: []permission{tc.p}}
		if w, dat := d.writeAction(), d.dataAction(); w != tc.write || dat != tc.data {
			t.Errorf("%s: write %q data %q, want %q %q", tc.name, w, dat, tc.write, tc.data)
		}
	}
	contributor := &roleDefinition{perms: []permission{{actions: []string{"*"}, notActions: []string{"Microsoft.Authorization/*/Write"}}}}
	if a := contributor.allows("Microsoft.Authorization/roleAssignments/write"); a != "" {
		t.Errorf("Contributor allows roleAssignments/write through %q", a)
	}
	owner := &roleDefinition{perms: []permission{{actions: []string{"*"}}}}
	if a := owner.allows("Microsoft.Authorization/roleAssignments/write"); a != "*" {
		t.Errorf("Owner allows roleAssignments/write through %q, want *", a)
	}
}
