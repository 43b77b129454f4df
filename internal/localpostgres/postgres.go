// Package localpostgres runs a local PostgreSQL server from the machine's installed binaries
// (/usr/lib/postgresql/<version>/bin) for the demo and the integration tests, next to the local
// Kubernetes control plane. Unlike the machine's own trust-auth server, it accepts nothing but
// scram-sha-256 logins, so password handling is tested for real.
//
// initdb and postgres refuse to run as root; when the caller is root (sessions, CI) they run as the
// `postgres` OS user, and the data folder is owned by that user.
package localpostgres

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Options configure an instance. Zero values get defaults.
type Options struct {
	// StateDir holds data/ (the cluster), the admin password file, the log and the connection info.
	StateDir string
	// BinDir holds initdb and postgres; empty picks the highest version under /usr/lib/postgresql.
	BinDir string
	// Port on 127.0.0.1; zero reuses the port of the previous start when free, else picks a free one.
	Port int
	// AdminRole is the superuser initdb creates (default tenantctl_admin).
	AdminRole string
	// OSUser runs the server when the caller is root (default postgres).
	OSUser string
	// Detach starts the server in its own session so it outlives the caller (make cluster-up).
	// Otherwise it dies with the caller (tests).
	Detach bool
	// ReadyTimeout bounds the wait for the first successful login (default 60s).
	ReadyTimeout time.Duration
}

// Info is how clients reach the instance. It is written to StateDir/connection.json; the
// password itself only ever lives in PasswordFile.
type Info struct {
	Host         string `json:"host"`
	Port         int    `json:"port"`
	Database     string `json:"database"`
	AdminRole    string `json:"adminRole"`
	PasswordFile string `json:"passwordFile"`
	// SSLMode is "disable": the instance listens on loopback and a unix socket only, without TLS.
	SSLMode string `json:"sslmode"`
	// SocketDir holds the unix socket (the data folder).
	SocketDir string `json:"socketDir"`
	PID       int    `json:"pid,omitempty"`
}

// Instance is a running (or described) local server.
type Instance struct {
	Info
	opts    Options
	cmd     *exec.Cmd
	exited  chan struct{}
	exitErr error
}

const (
	dataDirName  = "data"
	passwordName = "admin.password"
	infoName     = "connection.json"
	logName      = "postgres.log"
	// DefaultAdminRole is the superuser of the local instance.
	DefaultAdminRole = "tenantctl_admin"
	// InfoFile is the connection info's file name in the state folder.
	InfoFile = infoName
)

// pgRoot is where Debian's postgresql-NN packages install their binaries.
var pgRoot = "/usr/lib/postgresql"

// FindBinDir returns the bin folder of the highest installed PostgreSQL major version.
func FindBinDir() (string, error) {
	entries, err := os.ReadDir(pgRoot)
	if err != nil {
		return "", fmt.Errorf("find PostgreSQL: %w (install postgresql)", err)
	}
	var versions []int
	for _, e := range entries {
		v, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(pgRoot, e.Name(), "bin", "initdb")); err == nil {
			versions = append(versions, v)
		}
	}
	if len(versions) == 0 {
		return "", fmt.Errorf("find PostgreSQL: no %s/<version>/bin/initdb (install postgresql)", pgRoot)
	}
	sort.Ints(versions)
	return filepath.Join(pgRoot, strconv.Itoa(versions[len(versions)-1]), "bin"), nil
}

// Start initialises the cluster in StateDir when it has none, or reuses the existing one, starts
// the server and waits until the admin role can log in with its password.
func Start(ctx context.Context, o Options) (_ *Instance, err error) {
	if o.StateDir == "" {
		return nil, errors.New("local postgres: StateDir is required")
	}
	if o.AdminRole == "" {
		o.AdminRole = DefaultAdminRole
	}
	if o.OSUser == "" {
		o.OSUser = "postgres"
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 60 * time.Second
	}
	if o.BinDir == "" {
		if o.BinDir, err = FindBinDir(); err != nil {
			return nil, fmt.Errorf("local postgres: %w", err)
		}
	}
	stateDir, err := filepath.Abs(o.StateDir)
	if err != nil {
		return nil, fmt.Errorf("local postgres: %w", err)
	}
	o.StateDir = stateDir
	cred, err := runAs(o.OSUser)
	if err != nil {
		return nil, err
	}
	in := &Instance{opts: o, Info: Info{
		Host: "127.0.0.1", Database: "postgres", AdminRole: o.AdminRole,
		PasswordFile: filepath.Join(stateDir, passwordName), SSLMode: "disable", SocketDir: filepath.Join(stateDir, dataDirName),
	}}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("local postgres: %w", err)
	}
	if cred != nil {
		if err := makeTraversable(stateDir, cred); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(filepath.Join(in.SocketDir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := in.initdb(ctx, cred); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("local postgres: %w", err)
	} else if prev, err := readInfo(stateDir); err == nil && o.Port == 0 && portFree(prev.Port) {
		o.Port = prev.Port
	}
	if o.Port == 0 {
		if o.Port, err = freePort(); err != nil {
			return nil, fmt.Errorf("local postgres: pick port: %w", err)
		}
	}
	in.Port = o.Port
	if err := in.writeConfig(); err != nil {
		return nil, err
	}
	if err := in.launch(cred); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = in.Stop()
		}
	}()
	if err := in.waitReady(ctx); err != nil {
		return nil, err
	}
	in.PID = in.cmd.Process.Pid
	if err := in.writeInfo(); err != nil {
		return nil, err
	}
	return in, nil
}

// runAs returns the credential to run the server with: nil when the caller is not root.
func runAs(osUser string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(osUser)
	if err != nil {
		return nil, fmt.Errorf("local postgres: running as root, and initdb refuses root: OS user %q: %w", osUser, err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	// No supplementary groups: the server gets the OS user's uid and gid, nothing of root's.
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// makeTraversable lets the server's OS user reach the state folder: the folder itself is handed
// to it, and every ancestor it cannot search gets the search bit (o+x, never read) only.
func makeTraversable(dir string, cred *syscall.Credential) error {
	if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
		return fmt.Errorf("local postgres: chown %s: %w", dir, err)
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("local postgres: %w", err)
		}
		sys := st.Sys().(*syscall.Stat_t)
		mode := st.Mode().Perm()
		canSearch := mode&0o001 != 0 || (sys.Uid == cred.Uid && mode&0o100 != 0) || (sys.Gid == cred.Gid && mode&0o010 != 0)
		if !canSearch {
			if err := os.Chmod(p, st.Mode()|0o001); err != nil {
				return fmt.Errorf("local postgres: %s must be searchable by the server's OS user: %w", p, err)
			}
		}
		if p == "/" || p == filepath.Dir(p) {
			return nil
		}
	}
}

// initdb creates the cluster with scram-sha-256 as the only authentication method. The generated
// password reaches initdb through a 0600 file, never argv.
func (in *Instance) initdb(ctx context.Context, cred *syscall.Credential) error {
	pw, err := generatePassword()
	if err != nil {
		return err
	}
	if err := os.WriteFile(in.PasswordFile, []byte(pw+"\n"), 0o600); err != nil {
		return fmt.Errorf("local postgres: password file: %w", err)
	}
	if cred != nil {
		if err := os.Chown(in.PasswordFile, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("local postgres: %w", err)
		}
	}
	logf, err := os.OpenFile(in.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("local postgres: %w", err)
	}
	defer logf.Close()
	cmd := exec.CommandContext(ctx, filepath.Join(in.opts.BinDir, "initdb"),
		"--pgdata", in.SocketDir, "--username", in.AdminRole, "--pwfile", in.PasswordFile,
		"--auth", "scram-sha-256", "--encoding", "UTF8", "--locale", "C", "--no-sync")
	cmd.Dir = in.opts.StateDir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = serverEnv()
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("local postgres: initdb in %s failed (see %s): %w", in.SocketDir, in.logPath(), err)
	}
	// Only scram-sha-256, over the socket and loopback; no trust, no peer, no replication.
	hba := "# written by tenantctl: scram-sha-256 only\n" +
		"local all all scram-sha-256\n" +
		"host  all all 127.0.0.1/32 scram-sha-256\n" +
		"host  all all ::1/128 scram-sha-256\n"
	return in.writeServerFile("pg_hba.conf", hba, cred)
}

// writeConfig (re)writes the settings tenantctl owns; postgresql.conf includes them.
func (in *Instance) writeConfig() error {
	cred, err := runAs(in.opts.OSUser)
	if err != nil {
		return err
	}
	conf := fmt.Sprintf(`# written by tenantctl at every start
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = '%s'
password_encryption = 'scram-sha-256'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 32MB
# Never echo a failing statement to the log: it could carry a role's password verifier.
log_min_error_statement = panic
log_connections = off
`, in.Port, in.SocketDir)
	if err := in.writeServerFile("tenantctl.conf", conf, cred); err != nil {
		return err
	}
	main := filepath.Join(in.SocketDir, "postgresql.conf")
	b, err := os.ReadFile(main)
	if err != nil {
		return fmt.Errorf("local postgres: %w", err)
	}
	if !strings.Contains(string(b), "include_if_exists = 'tenantctl.conf'") {
		b = append(b, "\ninclude_if_exists = 'tenantctl.conf'\n"...)
		if err := os.WriteFile(main, b, 0o600); err != nil {
			return fmt.Errorf("local postgres: %w", err)
		}
	}
	return nil
}

func (in *Instance) writeServerFile(name, content string, cred *syscall.Credential) error {
	p := filepath.Join(in.SocketDir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		return fmt.Errorf("local postgres: %w", err)
	}
	if cred != nil {
		if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("local postgres: %w", err)
		}
	}
	return nil
}

func (in *Instance) launch(cred *syscall.Credential) error {
	logf, err := os.OpenFile(in.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("local postgres: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(in.opts.BinDir, "postgres"), "-D", in.SocketDir)
	cmd.Dir = in.SocketDir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = serverEnv()
	attr := &syscall.SysProcAttr{Credential: cred}
	if in.opts.Detach {
		attr.Setsid = true
	} else {
		// The server dies with the test binary, even when it is killed.
		attr.Setpgid, attr.Pdeathsig = true, syscall.SIGKILL
	}
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("local postgres: start postgres: %w", err)
	}
	in.cmd = cmd
	in.exited = make(chan struct{})
	go func() {
		in.exitErr = cmd.Wait()
		close(in.exited)
	}()
	return nil
}

// serverEnv is a minimal environment: nothing of the caller's (PG* variables above all) leaks in.
func serverEnv() []string {
	return []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "TZ=UTC"}
}

func (in *Instance) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, in.opts.ReadyTimeout)
	defer cancel()
	var last error
	for {
		conn, err := in.Connect(ctx, in.Database)
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		last = err
		select {
		case <-in.exited:
			return fmt.Errorf("local postgres: server exited early (%v); see %s", in.exitErr, in.logPath())
		case <-ctx.Done():
			return fmt.Errorf("local postgres: not ready on %s:%d (log %s): %w", in.Host, in.Port, in.logPath(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Password reads the admin password from its file.
func (in *Instance) Password() (string, error) {
	b, err := os.ReadFile(in.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("local postgres: admin password: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// ConnConfig is the admin's connection to database over TCP loopback (password included, so keep
// it out of logs).
func (in *Instance) ConnConfig(database string) (*pgx.ConnConfig, error) {
	pw, err := in.Password()
	if err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig("sslmode=disable")
	if err != nil {
		return nil, err
	}
	cfg.Host, cfg.Port, cfg.User, cfg.Password, cfg.Database = in.Host, uint16(in.Port), in.AdminRole, pw, database
	cfg.ConnectTimeout = 5 * time.Second
	cfg.RuntimeParams = map[string]string{"application_name": "tenantctl"}
	return cfg, nil
}

// Connect opens an admin connection to database.
func (in *Instance) Connect(ctx context.Context, database string) (*pgx.Conn, error) {
	cfg, err := in.ConnConfig(database)
	if err != nil {
		return nil, err
	}
	return pgx.ConnectConfig(ctx, cfg)
}

// Stop shuts the server down (fast shutdown: sessions are ended, data is flushed) and waits.
func (in *Instance) Stop() error {
	if in.cmd == nil || in.cmd.Process == nil {
		return nil
	}
	defer func() { in.cmd = nil }()
	select {
	case <-in.exited:
		return nil
	default:
	}
	_ = in.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-in.exited:
		return nil
	case <-time.After(30 * time.Second):
		_ = in.cmd.Process.Kill()
		<-in.exited
		return fmt.Errorf("local postgres: server did not stop within 30s; killed")
	}
}

// Running returns the instance described by stateDir when its server answers.
func Running(ctx context.Context, stateDir string) (*Instance, bool) {
	info, err := readInfo(stateDir)
	if err != nil {
		return nil, false
	}
	in := &Instance{Info: info, opts: Options{StateDir: stateDir}}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := in.Connect(ctx, info.Database)
	if err != nil {
		return nil, false
	}
	conn.Close(ctx)
	return in, true
}

// StopDir stops the detached server of stateDir (make cluster-down) by the pid in postmaster.pid.
func StopDir(stateDir string) error {
	pidFile := filepath.Join(stateDir, dataDirName, "postmaster.pid")
	b, err := os.ReadFile(pidFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("local postgres: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		return fmt.Errorf("local postgres: %s: %w", pidFile, err)
	}
	if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err != nil || !strings.HasPrefix(strings.TrimSpace(string(comm)), "postgres") {
		return nil // stale pid file: the server is gone
	}
	_ = syscall.Kill(pid, syscall.SIGINT)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) != nil {
			return nil
		}
		if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); strings.Contains(string(st), ") Z ") {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("local postgres: server %d did not stop within 30s", pid)
}

func (in *Instance) logPath() string { return filepath.Join(in.opts.StateDir, logName) }

// LogFile is the server's log.
func (in *Instance) LogFile() string { return in.logPath() }

// InfoPath is the connection info file.
func (in *Instance) InfoPath() string { return filepath.Join(in.opts.StateDir, infoName) }

func (in *Instance) writeInfo() error {
	b, err := json.MarshalIndent(in.Info, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(in.InfoPath(), append(b, '\n'), 0o600)
}

func readInfo(stateDir string) (Info, error) {
	var info Info
	b, err := os.ReadFile(filepath.Join(stateDir, infoName))
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, fmt.Errorf("%s: %w", filepath.Join(stateDir, infoName), err)
	}
	return info, nil
}

func generatePassword() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("local postgres: generate password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func portFree(port int) bool {
	if port <= 0 {
		return false
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}
