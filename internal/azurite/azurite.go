// Package azurite runs Azurite, the Azure Storage emulator, on loopback so that the azblob:// state
// backend is tested against a real Blob service API. `hack/build-tool.sh azurite` installs the
// pinned version from the npm registry into the tool cache; nothing is installed at run time.
package azurite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"time"

	"github.com/connectsoft/tenantctl/internal/toolchain"
)

// Version is the Azurite release hack/build-tool.sh installs (AZURITE_VERSION there).
const Version = "3.37.0"

// The emulator's well-known development account. Azurite documents this key publicly; it protects
// nothing and is only ever accepted by an emulator.
const (
	Account = "devstoreaccount1"
	Key     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// ErrMissing means Azurite is not installed in the tool cache.
var ErrMissing = errors.New("azurite missing")

// Dir is where hack/build-tool.sh installs Azurite.
func Dir() string { return filepath.Join(toolchain.CacheDir(), "azurite-"+Version) }

// Bin is the azurite-blob launcher.
func Bin() string { return filepath.Join(Dir(), "node_modules", ".bin", "azurite-blob") }

// Check reports ErrMissing when Azurite or node is not available.
func Check() error {
	if st, err := os.Stat(Bin()); err != nil || st.IsDir() {
		return fmt.Errorf("%w: %s (install the npm package azurite@%s with its prefix at %s, or set TENANTCTL_TOOLS_DIR to a tool cache that holds it)", ErrMissing, Bin(), Version, Dir())
	}
	if _, err := exec.LookPath("node"); err != nil {
		return fmt.Errorf("%w: node not on PATH (Azurite is a Node.js program)", ErrMissing)
	}
	return nil
}

// Options configure a server.
type Options struct {
	// Location holds the emulator's data (blob metadata and extents).
	Location string
	// StartTimeout bounds the wait until the port answers (default 90s: node starts slowly on a
	// busy 2-core machine).
	StartTimeout time.Duration
}

// Server is a running blob emulator.
type Server struct {
	// Addr is host:port of the blob endpoint.
	Addr string
	// Location is the emulator's data folder.
	Location string
	cmd      *exec.Cmd
	done     chan struct{}
	log      *syncBuffer
	stopOnce sync.Once
}

// listening is the line azurite-blob prints once it accepts connections; port 0 makes it pick a
// free port, which avoids a race between choosing a port and binding it.
var listening = regexp.MustCompile(`successfully listens on https?://([0-9.]+:[0-9]+)`)

// Start launches azurite-blob on 127.0.0.1 with a port of its choosing and waits until the port
// answers. The caller stops it with Stop.
func Start(ctx context.Context, o Options) (*Server, error) {
	if err := Check(); err != nil {
		return nil, err
	}
	if o.Location == "" {
		return nil, errors.New("azurite: Options.Location is required")
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 90 * time.Second
	}
	if err := os.MkdirAll(o.Location, 0o700); err != nil {
		return nil, fmt.Errorf("azurite location: %w", err)
	}
	// Not CommandContext: the server outlives the start context and is stopped by Stop.
	cmd := exec.Command(Bin(), "--blobHost", "127.0.0.1", "--blobPort", "0", "--location", o.Location,
		"--skipApiVersionCheck", "--loose", "--disableTelemetry", "--silent")
	// Own process group, so Stop reaches node and anything it forks; Pdeathsig so a killed test
	// does not leave the emulator behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	addr := make(chan string, 1)
	s := &Server{Location: o.Location, cmd: cmd, done: make(chan struct{}), log: &syncBuffer{}}
	s.log.onLine = func(line string) {
		if m := listening.FindStringSubmatch(line); m != nil {
			select {
			case addr <- m[1]:
			default:
			}
		}
	}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", Bin(), err)
	}
	go func() {
		cmd.Wait()
		close(s.done)
	}()
	wait, cancel := context.WithTimeout(ctx, o.StartTimeout)
	defer cancel()
	select {
	case s.Addr = <-addr:
	case <-s.done:
		return nil, fmt.Errorf("azurite exited before listening: %s", s.Log())
	case <-wait.Done():
		s.Stop()
		return nil, fmt.Errorf("azurite did not listen within %s: %w; log: %s", o.StartTimeout, wait.Err(), s.Log())
	}
	if err := waitPort(wait, s.Addr); err != nil {
		s.Stop()
		return nil, fmt.Errorf("azurite at %s: %w; log: %s", s.Addr, err, s.Log())
	}
	return s, nil
}

func waitPort(ctx context.Context, addr string) error {
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return c.Close()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("port does not answer: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop terminates the emulator (SIGTERM, then SIGKILL after five seconds) and waits for it.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		pgid := s.cmd.Process.Pid
		syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-pgid, syscall.SIGKILL)
			<-s.done
		}
	})
}

// Log is what the emulator printed so far.
func (s *Server) Log() string { return s.log.String() }

// Endpoint is the blob service URL of the development account (path-style, as emulators use).
func (s *Server) Endpoint() string { return "http://" + s.Addr + "/" + Account + "/" }

// Env is the environment the Pulumi CLI needs to reach the emulator's account.
func (s *Server) Env() map[string]string {
	return map[string]string{"AZURE_STORAGE_ACCOUNT": Account, "AZURE_STORAGE_KEY": Key}
}

// BackendURL is the Pulumi azblob:// state backend URL of a container in the emulator: gocloud's
// azureblob opener builds http://<domain>/<account> from localemu, protocol and domain.
func (s *Server) BackendURL(container string) string {
	return "azblob://" + container + "?localemu=true&protocol=http&domain=" + s.Addr
}

// syncBuffer keeps the emulator's output and hands each complete line to onLine.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	partial []byte
	onLine  func(string)
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// Keep the log bounded: only its head (the start-up) and errors matter.
	if b.b.Len() < 64<<10 {
		b.b.Write(p)
	}
	b.partial = append(b.partial, p...)
	for {
		i := bytes.IndexByte(b.partial, '\n')
		if i < 0 {
			break
		}
		if b.onLine != nil {
			b.onLine(string(b.partial[:i]))
		}
		b.partial = b.partial[i+1:]
	}
	if len(b.partial) > 4<<10 { // a line that long is not the one we wait for
		b.partial = nil
	}
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
