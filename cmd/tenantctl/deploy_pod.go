package main

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/connectsoft/tenantctl/internal/exitcode"
)

// deployOptions are what `deploy job` and `deploy cronjob` share: who runs, with what image, on
// which desired state, against which state backend, and where reports go.
type deployOptions struct {
	namespace string
	name      string
	image     string
	shards    int
	envs      []string
	cpu       string
	memory    string
	runAsUser int64
	toolsDir  string

	// The state backend URL and the stacks' passphrase come from one Secret, never from a flag
	// value that would end up in the manifest: the URL as an environment variable (secretKeyRef),
	// the passphrase as a file, which the engine hands to the pulumi CLI by path, so neither the
	// CLI's environment nor any plugin's ever holds it.
	secret        string
	backendKey    string
	passphraseKey string
	// postgresSecret holds the data layer's connection file (connection.json) and what it names.
	postgresSecret string

	// source is where the desired state comes from: a ConfigMap built from the -d folder, or a
	// git-sync init container.
	source        string
	repo          string
	ref           string
	repoPath      string
	gitSyncImage  string
	gitAuthSecret string

	reportsClaim        string
	reportsSize         string
	reportsStorageClass string
	reportsAccessMode   string

	waitTimeout time.Duration

	// desiredItems put the desired-state ConfigMap's flat keys back at their paths; filled when
	// the ConfigMap is built (baseObjects), before the pods that mount it.
	desiredItems []corev1.KeyToPath
}

const (
	sourceConfigMap = "configmap"
	sourceGit       = "git"

	// Where things are inside the containers.
	mountDesiredState = "/desired-state"
	mountGit          = "/git"
	mountReports      = "/reports"
	mountData         = "/var/lib/tenantctl"
	mountKubeconfig   = "/etc/tenantctl/kubeconfig"
	mountPostgres     = "/etc/tenantctl/postgres"
	mountPassphrase   = "/var/run/tenantctl"
	saDir             = "/var/run/secrets/kubernetes.io/serviceaccount"

	containerTenantctl = "tenantctl"
	containerWait      = "wait"
	containerGitSync   = "git-sync"
)

func (o *deployOptions) addFlags(cmd *cobra.Command, defaultName string) {
	f := cmd.Flags()
	f.IntVar(&o.shards, "shards", 4, "number of shards (completion indexes of the shard Job)")
	f.StringVar(&o.namespace, "namespace", "tenantctl-system", "namespace the manifests create and run in")
	f.StringVar(&o.name, "name", defaultName, "name of the Jobs, their ServiceAccount, RBAC and volumes (a prefix)")
	f.StringVar(&o.image, "image", "", "container image with tenantctl and its tools, pinned by digest (`REPO@sha256:...`)")
	f.StringSliceVar(&o.envs, "env", nil, "restrict every run to these environments (repeatable)")
	f.StringVar(&o.cpu, "cpu", "500m", "cpu request (and limit) per pod")
	f.StringVar(&o.memory, "memory", "1Gi", "memory request (and limit) per pod")
	f.Int64Var(&o.runAsUser, "run-as-user", 65532, "uid (and gid, fsGroup) the tenantctl containers run as; the reports volume is writable by it")
	f.StringVar(&o.toolsDir, "image-tools-dir", "/opt/tenantctl/tools", "folder in the image holding the pulumi CLI and plugins (the pods get it as TENANTCTL_TOOLS_DIR; not read from this machine's TENANTCTL_TOOLS_DIR)")
	f.StringVar(&o.secret, "secret", "tenantctl-state", "Secret (in --namespace) holding the state backend URL and the stacks' passphrase")
	f.StringVar(&o.backendKey, "backend-key", "backend-url", "key of the state backend URL in --secret")
	f.StringVar(&o.passphraseKey, "passphrase-key", "passphrase", "key of the passphrase in --secret")
	f.StringVar(&o.postgresSecret, "postgres-secret", "", "Secret holding the data layer's connection file as key connection.json (its passwordFile under "+mountPostgres+"/); for environments that keep tenant data on PostgreSQL")
	f.StringVar(&o.source, "source", sourceConfigMap, "where the desired state comes from: configmap (built from the -d folder) or git (a git-sync init container)")
	f.StringVar(&o.repo, "repo", "", "with --source git: repository URL")
	f.StringVar(&o.ref, "ref", "", "with --source git: branch, tag or commit to check out")
	f.StringVar(&o.repoPath, "repo-path", "", "with --source git: desired-state folder inside the repository (default its root)")
	f.StringVar(&o.gitSyncImage, "git-sync-image", "", "with --source git: git-sync v4 image, pinned by digest (`REPO@sha256:...`)")
	f.StringVar(&o.gitAuthSecret, "git-auth-secret", "", "with --source git: Secret with keys username and password (a token) for a private repository")
	f.StringVar(&o.reportsClaim, "reports-claim", "", "PersistentVolumeClaim the shards write their reports to and the last step reads (default NAME-reports)")
	f.StringVar(&o.reportsSize, "reports-size", "1Gi", "size of the reports claim")
	f.StringVar(&o.reportsStorageClass, "reports-storage-class", "", "storage class of the reports claim (default: the cluster's default class)")
	f.StringVar(&o.reportsAccessMode, "reports-access-mode", string(corev1.ReadWriteMany), "access mode of the reports claim: ReadWriteMany lets shards on different nodes write; ReadWriteOnce only if every pod lands on one node")
	f.DurationVar(&o.waitTimeout, "wait-timeout", 6*time.Hour, "how long a step waits for the Job it runs after")
}

// digestRef is an image reference pinned by digest: a tag can be moved to other code, a digest
// cannot.
var digestRef = regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?@sha256:[0-9a-f]{64}$`)

func checkPinned(flag, ref string) error {
	if ref == "" {
		return exitcode.With(exitcode.Invalid, fmt.Errorf("--%s is required: an image pinned by digest (REPO@sha256:<64 hex>)", flag))
	}
	if !digestRef.MatchString(ref) {
		return exitcode.With(exitcode.Invalid, fmt.Errorf("--%s %q: not pinned by digest; want REPO@sha256:<64 hex> (a tag can be moved to other code, a digest cannot)", flag, ref))
	}
	return nil
}

// validate checks every flag before anything is printed: a manifest that the API server or the
// kubelet would refuse is worse than an error here.
func (o *deployOptions) validate() error {
	invalid := func(format string, args ...any) error {
		return exitcode.With(exitcode.Invalid, fmt.Errorf(format, args...))
	}
	if o.shards < 1 || o.shards > 1000 {
		return invalid("--shards %d: want 1..1000", o.shards)
	}
	if err := checkPinned("image", o.image); err != nil {
		return err
	}
	if errs := validation.IsDNS1123Label(o.namespace); len(errs) > 0 {
		return invalid("--namespace %q: %s", o.namespace, strings.Join(errs, "; "))
	}
	// the longest object name is NAME-desired-state; CronJob names must leave room for the
	// controller's 11-character suffix on their Jobs
	if errs := validation.IsDNS1123Label(o.name); len(errs) > 0 || len(o.name) > 40 {
		return invalid("--name %q: want a DNS label of at most 40 characters", o.name)
	}
	for flag, v := range map[string]string{"secret": o.secret, "postgres-secret": o.postgresSecret, "git-auth-secret": o.gitAuthSecret, "reports-claim": o.reportsClaim} {
		if v == "" && flag != "secret" {
			continue
		}
		if errs := validation.IsDNS1123Subdomain(v); len(errs) > 0 {
			return invalid("--%s %q: %s", flag, v, strings.Join(errs, "; "))
		}
	}
	for flag, v := range map[string]string{"backend-key": o.backendKey, "passphrase-key": o.passphraseKey} {
		if errs := validation.IsConfigMapKey(v); len(errs) > 0 {
			return invalid("--%s %q: %s", flag, v, strings.Join(errs, "; "))
		}
	}
	for flag, v := range map[string]string{"cpu": o.cpu, "memory": o.memory, "reports-size": o.reportsSize} {
		if _, err := resource.ParseQuantity(v); err != nil {
			return invalid("--%s %q: %v", flag, v, err)
		}
	}
	switch corev1.PersistentVolumeAccessMode(o.reportsAccessMode) {
	case corev1.ReadWriteMany, corev1.ReadWriteOnce, corev1.ReadWriteOncePod:
	default:
		return invalid("--reports-access-mode %q: want ReadWriteMany, ReadWriteOnce or ReadWriteOncePod", o.reportsAccessMode)
	}
	if o.waitTimeout <= 0 {
		return invalid("--wait-timeout %s: want a positive duration", o.waitTimeout)
	}
	switch o.source {
	case sourceConfigMap:
		if o.repo != "" || o.ref != "" || o.gitSyncImage != "" || o.gitAuthSecret != "" || o.repoPath != "" {
			return invalid("--repo, --ref, --repo-path, --git-sync-image and --git-auth-secret need --source git")
		}
	case sourceGit:
		if o.repo == "" || o.ref == "" {
			return invalid("--source git needs --repo URL and --ref REF")
		}
		if err := checkPinned("git-sync-image", o.gitSyncImage); err != nil {
			return err
		}
		if strings.HasPrefix(o.repoPath, "/") || strings.Contains("/"+o.repoPath+"/", "/../") {
			return invalid("--repo-path %q: want a folder inside the repository", o.repoPath)
		}
	default:
		return invalid("--source %q: want configmap or git", o.source)
	}
	if o.reportsClaim == "" {
		o.reportsClaim = o.name + "-reports"
	}
	return nil
}

// desiredStateDir is the -d folder inside the tenantctl container. A ConfigMap volume holds its
// files under a hidden "..data" link to the current version (the top level holds links into it,
// which the desired-state loader refuses to follow); git-sync's link points at the checked-out
// worktree. Both are given with a trailing "/." so the loader starts from the folder the link
// resolves to and sees regular files only.
func (o *deployOptions) desiredStateDir() string {
	if o.source == sourceGit {
		if p := strings.Trim(o.repoPath, "/"); p != "" {
			return mountGit + "/desired-state/" + p
		}
		return mountGit + "/desired-state/."
	}
	return mountDesiredState + "/..data/."
}

// commonArgs are the flags every tenantctl command in the pods takes.
func (o *deployOptions) commonArgs() []string {
	args := []string{"-d", o.desiredStateDir(), "--kubeconfig", mountKubeconfig + "/config", "--data-dir", mountData,
		"--audit-log", mountData + "/audit.jsonl", "--audit-stdout"}
	if o.postgresSecret != "" {
		args = append(args, "--postgres-connection", mountPostgres+"/connection.json")
	}
	for _, e := range o.envs {
		args = append(args, "--env", e)
	}
	return args
}

func secretEnv(name, secret, key string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key}}}
}

func (o *deployOptions) restricted() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr(false), ReadOnlyRootFilesystem: ptr(true), RunAsNonRoot: ptr(true),
		Capabilities:   &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// tenantctlContainer runs `tenantctl args...` as name. A command that reads the desired state and
// the state backend (engine) gets the common flags, the backend URL and passphrase from the
// Secret, and the desired state mounted; drift merge needs only the reports.
func (o *deployOptions) tenantctlContainer(name string, args []string, engine bool) corev1.Container {
	res := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(o.cpu), corev1.ResourceMemory: resource.MustParse(o.memory)}
	c := corev1.Container{
		Name:    name,
		Image:   o.image,
		Command: []string{"tenantctl"},
		Args:    args,
		Env: []corev1.EnvVar{
			{Name: "TENANTCTL_TOOLS_DIR", Value: o.toolsDir},
			// audit signing key, state and anything else tenantctl keeps per user
			{Name: "HOME", Value: mountData},
			{Name: "XDG_CONFIG_HOME", Value: mountData + "/config"},
			{Name: "XDG_STATE_HOME", Value: mountData + "/state"},
			{Name: "XDG_CACHE_HOME", Value: mountData + "/cache"},
		},
		Resources: corev1.ResourceRequirements{Requests: res, Limits: res},
		VolumeMounts: []corev1.VolumeMount{
			{Name: "data", MountPath: mountData},
			{Name: "tmp", MountPath: "/tmp"},
			{Name: "reports", MountPath: mountReports},
		},
		SecurityContext: o.restricted(),
	}
	if !engine {
		return c
	}
	c.Args = append(c.Args, o.commonArgs()...)
	c.Env = append([]corev1.EnvVar{
		secretEnv("TENANTCTL_BACKEND", o.secret, o.backendKey),
		{Name: "TENANTCTL_PASSPHRASE_FILE", Value: mountPassphrase + "/passphrase"},
	}, c.Env...)
	c.VolumeMounts = append([]corev1.VolumeMount{
		{Name: "desired-state", MountPath: o.sourceMount(), ReadOnly: true},
		{Name: "kubeconfig", MountPath: mountKubeconfig, ReadOnly: true},
		{Name: "passphrase", MountPath: mountPassphrase, ReadOnly: true},
	}, c.VolumeMounts...)
	if o.postgresSecret != "" {
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "postgres", MountPath: mountPostgres, ReadOnly: true})
	}
	return c
}

func (o *deployOptions) sourceMount() string {
	if o.source == sourceGit {
		return mountGit
	}
	return mountDesiredState
}

// waitContainer runs `tenantctl deploy wait` before the step's own container: Jobs have no
// ordering of their own, so a step polls the Job it runs after through the API.
func (o *deployOptions) waitContainer(name string, args []string) corev1.Container {
	res := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("64Mi")}
	return corev1.Container{
		Name:    name,
		Image:   o.image,
		Command: []string{"tenantctl"},
		Args: append([]string{"deploy", "wait", "--namespace", o.namespace, "--kubeconfig", mountKubeconfig + "/config",
			"--timeout", o.waitTimeout.String()}, args...),
		Resources: corev1.ResourceRequirements{Requests: res, Limits: res},
		VolumeMounts: []corev1.VolumeMount{
			{Name: "kubeconfig", MountPath: mountKubeconfig, ReadOnly: true},
			{Name: "reports", MountPath: mountReports},
		},
		SecurityContext: o.restricted(),
	}
}

// gitSyncContainer checks the repository out once, before tenantctl starts. It is an init
// container, not a long-running sidecar: a sidecar that never exits would keep a Job's pod
// running forever, and every run must see one fixed commit.
func (o *deployOptions) gitSyncContainer() corev1.Container {
	res := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("256Mi")}
	c := corev1.Container{
		Name:  containerGitSync,
		Image: o.gitSyncImage,
		Args: []string{"--repo=" + o.repo, "--ref=" + o.ref, "--root=" + mountGit, "--link=desired-state",
			"--one-time", "--depth=1"},
		Env:       []corev1.EnvVar{{Name: "HOME", Value: "/tmp"}},
		Resources: corev1.ResourceRequirements{Requests: res, Limits: res},
		VolumeMounts: []corev1.VolumeMount{
			{Name: "desired-state", MountPath: mountGit},
			{Name: "git-tmp", MountPath: "/tmp"},
		},
		SecurityContext: o.restricted(),
	}
	// git-sync's image runs as 65533; set it so runAsNonRoot can be verified whatever the image says
	c.SecurityContext.RunAsUser = ptr(int64(65533))
	if o.gitAuthSecret != "" {
		c.Env = append(c.Env, secretEnv("GITSYNC_USERNAME", o.gitAuthSecret, "username"), secretEnv("GITSYNC_PASSWORD", o.gitAuthSecret, "password"))
	}
	return c
}

// podSpec is the pod every step runs: init containers (git-sync, a wait), then main.
func (o *deployOptions) podSpec(sa string, inits []corev1.Container, main corev1.Container) corev1.PodSpec {
	if o.source == sourceGit {
		inits = append([]corev1.Container{o.gitSyncContainer()}, inits...)
	}
	uid := o.runAsUser
	return corev1.PodSpec{
		ServiceAccountName:           sa,
		AutomountServiceAccountToken: ptr(true),
		RestartPolicy:                corev1.RestartPolicyNever,
		SecurityContext:              &corev1.PodSecurityContext{RunAsUser: &uid, RunAsGroup: &uid, FSGroup: &uid},
		InitContainers:               inits,
		Containers:                   []corev1.Container{main},
		Volumes:                      o.volumes(),
	}
}

func (o *deployOptions) volumes() []corev1.Volume {
	empty := corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
	vs := []corev1.Volume{o.sourceVolume(),
		{Name: "kubeconfig", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: o.name + "-kubeconfig"}}}},
		{Name: "passphrase", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: o.secret,
			Items: []corev1.KeyToPath{{Key: o.passphraseKey, Path: "passphrase"}}, DefaultMode: ptr(int32(0o440))}}},
		{Name: "data", VolumeSource: empty},
		{Name: "tmp", VolumeSource: empty},
		{Name: "reports", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: o.reportsClaim}}},
	}
	if o.source == sourceGit {
		vs = append(vs, corev1.Volume{Name: "git-tmp", VolumeSource: empty})
	}
	if o.postgresSecret != "" {
		vs = append(vs, corev1.Volume{Name: "postgres", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: o.postgresSecret}}})
	}
	return vs
}

func (o *deployOptions) sourceVolume() corev1.Volume {
	if o.source == sourceGit {
		return corev1.Volume{Name: "desired-state", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
	}
	return corev1.Volume{Name: "desired-state", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: o.name + "-desired-state"}, Items: o.desiredItems}}}
}

// labels mark every object of one deployment, so `kubectl delete -l` removes one run's Jobs.
func (o *deployOptions) labels(component string) map[string]string {
	return map[string]string{"app.kubernetes.io/name": "tenantctl", "app.kubernetes.io/instance": o.name, "app.kubernetes.io/component": component}
}

func (o *deployOptions) meta(name, component string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: o.namespace, Labels: o.labels(component)}
}

// shardArg is the --shard value of completion index $(JOB_COMPLETION_INDEX): the index is 0-based,
// shards are 1-based, and Kubernetes substitutes variables but cannot add, so the parser takes
// "K+1/N" (tenantplan.ParseShard).
func (o *deployOptions) shardArg() string {
	return fmt.Sprintf("$(JOB_COMPLETION_INDEX)+1/%d", o.shards)
}

// shardReports are the report files of the N shards, in index order.
func shardReports(prefix string, n int) []string {
	out := make([]string, n)
	for i := range n {
		out[i] = fmt.Sprintf("%s/%s-%d.json", mountReports, prefix, i)
	}
	return out
}

func labelsOnly(labels map[string]string) metav1.ObjectMeta { return metav1.ObjectMeta{Labels: labels} }
