#!/usr/bin/env bash
# Regenerates the typed Go SDK of the tenantpg provider (sdk/go/tenantpg) from the schema the
# built plugin serves: the pulumi CLI reads the schema from the plugin binary, Pulumi's Go code
# generator (provider/cmd/gen-go-sdk) writes the package. Offline; `make sdk-tenantpg` runs it and
# the provider module's TestSDKMatchesSchema fails while the committed SDK is stale.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
hack/build-tool.sh tenantpg
cache=$(hack/build-tool.sh dir)
const() { sed -n "s/.*$1 *= *\"\\(.*\\)\"/\\1/p" internal/toolchain/toolchain.go; }
pulumi=$cache/pulumi-$(const PulumiVersion)/bin/pulumi
plugin=$cache/pulumi-resource-tenantpg-v$(const TenantPGProviderVersion)/pulumi-resource-tenantpg
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
PULUMI_HOME=$tmp/home PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true \
	"$pulumi" package get-schema "$plugin" > "$tmp/schema.json"
(cd provider && go run ./cmd/gen-go-sdk -schema "$tmp/schema.json" -out "$here/sdk/go/tenantpg" >/dev/null)
echo "[sdk] sdk/go/tenantpg regenerated from $plugin"
