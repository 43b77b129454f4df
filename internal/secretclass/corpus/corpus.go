// Package corpus is the shared test corpus of the secret classifier: names, paths, values and
// argument lists that must be masked wherever tenantctl writes them (audit records, drift
// findings and reports, API responses), and benign ones that must stay readable. The classifier's
// own tests and those of every package that redacts run against it, so they cannot drift apart.
package corpus

// SecretKeys are keys whose values are secrets (ConfigMap keys, env var names, JSON members,
// details keys, flag names).
var SecretKeys = []string{
	"password", "dbPassword", "DB_PASSWORD", "DB_PASS", "SMTP_PASS", "PGPASSWORD", "pwd", "passwd",
	"passphrase", "client_secret", "clientSecret", "AZURE_CLIENT_SECRET", "secret", "webhookSecret",
	"apiKey", "api-key", "API_KEY", "apiKeys", "accessKey", "AZURE_STORAGE_KEY", "accountKey",
	"primaryKey", "sharedKey", "privateKey", "private_key", "sshPrivateKey", "tls.key",
	"token", "accessToken", "refresh_token", "GITHUB_TOKEN", "sasToken", "sasUrl", "sasUri",
	"connectionString", "ConnectionStrings", "connStr", "DB_CONNECTION_STRING", "credentials",
	"credential", "Authorization", "cookie", "signature", "passwordFile", "tokenFile", "db-password",
	"adminPassword", "administratorLoginPassword",
}

// SecretPaths are field paths whose values are secrets.
var SecretPaths = []string{
	"data.password", "stringData[db-password]", `data["tls.key"]`, "spec.template.metadata.annotations.apiToken",
	"spec.template.spec.containers[0].env[2].value", "spec.credentials.password", "properties.administratorLoginPassword",
	`metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]`, "data.DB_PASS", "data.passwordFile",
}

// BenignKeys name references to secrets, or ordinary settings: never masked.
var BenignKeys = []string{
	"secretName", "keyVaultRef", "currentVersion", "tokenExpiry", "secretRef", "secretKeyRef",
	"passwordSecretRef", "policy", "rule", "tenantId", "key", "publicKey", "keyId", "keyVaultName",
	"secretVersion", "passwordPolicy", "tokenTTL", "bypass", "compass", "passthrough", "tenant",
	"namespace", "replicas", "image", "port", "username", "user", "host", "database", "DB_HOST",
	"LOG_LEVEL", "secretProviderClass", "tokenLifetime", "passwordLength", "secretNames", "name",
	"environment", "commit", "keys", "signingAlgorithm", "passwordFilePath", "secretMountPath",
}

// BenignPaths are field paths whose values stay readable.
var BenignPaths = []string{
	"metadata.labels.tenant", "spec.replicas", "spec.secrets[0].secretName", "spec.ingress[0].from",
	"spec.template.spec.containers[0].image", "metadata.name", "spec.selector.matchLabels.app",
	"properties.attributes.enabled", "spec.credentials.passwordSecretRef", "spec.template.spec.containers[0].env[0].name",
	"spec.credentials.username",
}

// SecretResourceTypes are types whose every non-metadata value is secret.
var SecretResourceTypes = []string{
	"v1/Secret", "Secret", "core/v1/Secret", "kubernetes:core/v1:Secret", "Microsoft.KeyVault/vaults/secrets",
	"azure-native:keyvault:Secret", "azure-native:keyvault/v20230701:Secret", "azure:keyvault/secret:Secret",
	"tenantpg:index:Password", "random:index/randomPassword:RandomPassword",
}

// BenignResourceTypes are not secret as a whole.
var BenignResourceTypes = []string{
	"v1/ConfigMap", "kubernetes:core/v1:ConfigMap", "apps/v1/Deployment", "Microsoft.KeyVault/vaults",
	"azure-native:keyvault:Vault", "kubernetes:core/v1:ServiceAccount", "secrets-store.csi.x-k8s.io/v1/SecretProviderClass",
}

// SecretValues carry credentials whatever key they sit under. Canary is the secret inside each;
// none of these may appear unmasked in any output.
const Canary = "hunter2-Zq9x"

var SecretValues = []string{
	"Server=tcp:db.example;Database=app;User ID=app;Password=" + Canary + ";",
	"Host=db;Username=app;Pwd=" + Canary,
	"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=" + Canary + "==;EndpointSuffix=core.windows.net",
	"Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=" + Canary,
	"https://acct.blob.core.windows.net/c?sv=2022-11-02&sig=" + Canary + "&se=2030",
	"postgres://app:" + Canary + "@db:5432/app",
	"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ" + Canary + ".c2lnbmF0dXJl",
	"-----BEGIN PRIVATE KEY-----\nMIIE" + Canary + "\n-----END PRIVATE KEY-----",
	"Authorization: Bearer " + Canary + "abcdef",
	"app --password " + Canary + " --port 80",
	"app --client-secret=" + Canary,
	"https://login.example/cb?code=1&access_token=" + Canary,
}

// BenignValues must stay as they are.
var BenignValues = []string{
	"https://db.example:5432/app", "Server=tcp:db.example;Database=app;", "password", "passwordless login",
	"registry.example/app@sha256:0123abcd", "10.20.0.0/16", "t-acme", "--port 80", "sig", "token-expiry: 1h",
	"user@example.com", "app --log-level debug", "tenant.acme.dev", "kv-acme-dev", "acme-db-connection",
}

// ArgLists are container args and commands with secrets; MaskedArgs is each one masked.
var ArgLists = [][]string{
	{"--password", Canary},
	{"--password=" + Canary},
	{"serve", "--db-pass", Canary, "--port", "8080"},
	{"-token", Canary},
	{"--api-key=" + Canary, "--verbose"},
	{"sh", "-c", "app --password " + Canary},
	{"--conn", "Server=db;Password=" + Canary},
}

var MaskedArgs = [][]string{
	{"--password", "[REDACTED]"},
	{"--password=[REDACTED]"},
	{"serve", "--db-pass", "[REDACTED]", "--port", "8080"},
	{"-token", "[REDACTED]"},
	{"--api-key=[REDACTED]", "--verbose"},
	{"sh", "-c", "app --password [REDACTED]"},
	{"--conn", "Server=db;Password=[REDACTED]"},
}

// BenignArgLists stay as they are.
var BenignArgLists = [][]string{
	{"--port", "8080"}, {"--secret-name", "db-conn"}, {"--password-file", "/run/secrets/pw"},
	{"serve", "--log-level=debug"}, {"--token-ttl", "1h"}, {"--key", "tenant"},
}
