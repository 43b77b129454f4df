// Package providerpool keeps Pulumi resource provider plugins running between operations, so a
// fleet run starts each plugin a few times instead of once per stack.
//
// The pulumi CLI starts every provider plugin anew for each operation: a process start, the
// plugin's own schema decoding and, for the Kubernetes provider, a fetch and parse of the
// cluster's OpenAPI document in Configure. The CLI can instead attach to a provider that already
// runs (PULUMI_DEBUG_PROVIDERS=name:port; pkg/resource/plugin.NewProvider then calls Handshake
// and Attach with its own engine address). A provider process is stateful, though: Configure
// overwrites its settings but the Kubernetes provider keeps the cluster's schema, its informers
// and some flags for the process's lifetime, and a cancelled operation cancels the process for
// good. So the pool hands processes out under these rules:
//
//   - every operation takes a Lease: its own loopback gRPC endpoint per plugin. Each connection
//     the CLI opens to it is served by one process that serves no other connection meanwhile (a
//     stack with two provider instances of one package gets two processes), and its calls are
//     relayed frame by frame, undecoded;
//   - the CLI sends every provider Cancel when it lets go of it at the end of an operation; the
//     endpoint acknowledges that one itself while the operation's context is live, and relays
//     it (and retires the process) once the operation is really cancelled;
//   - a process serves operations of one scope only: the caller's promise that providers of
//     operations in a scope are configured alike (one environment's tenant stacks);
//   - a process goes back to the pool only when its operation succeeded, and is stopped after
//     MaxUses operations or IdleTimeout unused.
package providerpool

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Plugin is a provider plugin the pool may run.
type Plugin struct {
	// Name is the package name, as PULUMI_DEBUG_PROVIDERS names it ("kubernetes").
	Name string
	// Path is the plugin executable.
	Path string
}

// Defaults of the pool's limits.
const (
	DefaultMaxUses      = 50
	DefaultIdleTimeout  = 30 * time.Second
	DefaultStartTimeout = time.Minute
)

// Option configures a Pool.
type Option func(*Pool)

// WithEnv sets the plugins' environment (default: none).
func WithEnv(env []string) Option { return func(p *Pool) { p.env = append([]string(nil), env...) } }

// WithMaxUses stops a process after it served n operations; it bounds what a provider
// accumulates over its lifetime (the Kubernetes provider's informers, one set per namespace).
func WithMaxUses(n int) Option { return func(p *Pool) { p.maxUses = n } }

// WithIdleTimeout stops a process left unused for d.
func WithIdleTimeout(d time.Duration) Option { return func(p *Pool) { p.idleTimeout = d } }

// WithStartTimeout bounds how long a plugin may take to print its port.
func WithStartTimeout(d time.Duration) Option { return func(p *Pool) { p.startTimeout = d } }

// Stats count the pool's processes.
type Stats struct {
	// Started processes, and connections served by a process started for an earlier operation.
	Started, Reused int
	// Stopped processes: worn out, idle too long, left by a failed operation, or at Close.
	Stopped int
	// Running processes now (idle or leased).
	Running int
}

// Pool runs provider plugins for leases.
type Pool struct {
	plugins      map[string]string // name -> path
	env          []string
	maxUses      int
	idleTimeout  time.Duration
	startTimeout time.Duration

	mu     sync.Mutex
	idle   map[poolKey][]*process
	live   map[*process]struct{}
	closed bool
	stats  Stats
}

type poolKey struct{ scope, plugin string }

// ErrClosed is returned by Lease after Close.
var ErrClosed = errors.New("provider pool is closed")

// New returns a pool of the given plugins; it starts nothing until a lease's connection asks.
func New(plugins []Plugin, opts ...Option) (*Pool, error) {
	p := &Pool{
		plugins:      map[string]string{},
		maxUses:      DefaultMaxUses,
		idleTimeout:  DefaultIdleTimeout,
		startTimeout: DefaultStartTimeout,
		idle:         map[poolKey][]*process{},
		live:         map[*process]struct{}{},
	}
	for _, pl := range plugins {
		if pl.Name == "" || strings.ContainsAny(pl.Name, ",:") {
			return nil, fmt.Errorf("provider pool: plugin name %q", pl.Name)
		}
		if _, dup := p.plugins[pl.Name]; dup {
			return nil, fmt.Errorf("provider pool: plugin %s listed twice", pl.Name)
		}
		p.plugins[pl.Name] = pl.Path
	}
	for _, o := range opts {
		o(p)
	}
	if p.maxUses < 1 {
		p.maxUses = 1
	}
	return p, nil
}

// Stats reports the pool's counters.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Running = len(p.live)
	return s
}

// Close stops every process, idle or leased; leases released afterwards stop theirs too.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	procs := make([]*process, 0, len(p.live))
	for pr := range p.live {
		procs = append(procs, pr)
	}
	p.idle = map[poolKey][]*process{}
	p.mu.Unlock()
	for _, pr := range procs {
		p.stop(pr)
	}
	return nil
}

// StopIdle stops every process no lease holds, and waits for them: the pool stays usable. A
// benchmark calls it before reading the CPU time of the processes it waited for.
func (p *Pool) StopIdle() {
	p.mu.Lock()
	var procs []*process
	for key, list := range p.idle {
		for _, pr := range list {
			pr.idleTimer.Stop()
			procs = append(procs, pr)
		}
		delete(p.idle, key)
	}
	p.mu.Unlock()
	for _, pr := range procs {
		p.stop(pr)
	}
}

// Lease opens one endpoint per plugin for an operation in scope; op is the operation's context
// (once it is done, the CLI's Cancel is a real cancellation and reaches the providers). Scope
// must not be empty: an operation whose providers may be configured unlike others' should not
// use the pool.
func (p *Pool) Lease(op context.Context, scope string) (*Lease, error) {
	if scope == "" {
		return nil, errors.New("provider pool: lease without a scope")
	}
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Lease{pool: p, scope: scope, op: op, ctx: ctx, cancel: cancel, servers: map[string]*grpc.Server{},
		ports: map[string]int{}, free: map[string][]*process{}, conns: map[connID]*connState{}}
	names := make([]string, 0, len(p.plugins))
	for name := range p.plugins {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := l.serveEndpoint(name); err != nil {
			l.Release(false)
			return nil, fmt.Errorf("provider pool: listen for %s: %w", name, err)
		}
	}
	return l, nil
}

// take hands out an idle process of scope, or starts one.
func (p *Pool) take(ctx context.Context, scope, plugin string) (*process, error) {
	key := poolKey{scope, plugin}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	for list := p.idle[key]; len(list) > 0; list = p.idle[key] {
		pr := list[len(list)-1]
		p.idle[key] = list[:len(list)-1]
		pr.idleTimer.Stop()
		if pr.alive() {
			p.stats.Reused++
			p.mu.Unlock()
			return pr, nil
		}
		p.forget(pr)
	}
	p.mu.Unlock()
	pr, err := startProcess(ctx, plugin, p.plugins[plugin], p.env, p.startTimeout)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		go p.stop(pr)
		return nil, ErrClosed
	}
	p.live[pr] = struct{}{}
	p.stats.Started++
	return pr, nil
}

// put returns a process after a successful operation, or stops it when it is worn out.
func (p *Pool) put(scope string, pr *process) {
	pr.uses++
	p.mu.Lock()
	if p.closed || pr.uses >= p.maxUses || !pr.alive() {
		p.mu.Unlock()
		p.stop(pr)
		return
	}
	key := poolKey{scope, pr.plugin}
	p.idle[key] = append(p.idle[key], pr)
	pr.idleTimer = time.AfterFunc(p.idleTimeout, func() { p.evict(key, pr) })
	p.mu.Unlock()
}

// evict stops a process that stayed idle for the idle timeout (unless it was taken meanwhile).
func (p *Pool) evict(key poolKey, pr *process) {
	p.mu.Lock()
	list := p.idle[key]
	found := false
	for i, q := range list {
		if q == pr {
			p.idle[key] = append(list[:i:i], list[i+1:]...)
			found = true
			break
		}
	}
	p.mu.Unlock()
	if found {
		p.stop(pr)
	}
}

// stop kills a process and waits for it (so its CPU time is accounted to this process's
// children, as a plugin the CLI started is to the CLI's).
func (p *Pool) stop(pr *process) {
	pr.kill()
	p.mu.Lock()
	if _, ok := p.live[pr]; ok {
		p.forget(pr)
	}
	p.mu.Unlock()
}

// forget drops a process from the live set; p.mu is held.
func (p *Pool) forget(pr *process) {
	delete(p.live, pr)
	p.stats.Stopped++
}

// process is one running plugin.
type process struct {
	plugin    string
	cmd       *exec.Cmd
	addr      string
	conn      *grpc.ClientConn // to the plugin, shared by the calls of every lease it serves
	cancelMu  sync.Mutex
	wasCancel bool // a real Cancel reached it: it is spent
	uses      int  // operations served; only the lease holding it touches this
	exited    chan struct{}
	stderr    *tail
	idleTimer *time.Timer
	killOnce  sync.Once
}

func (pr *process) alive() bool {
	select {
	case <-pr.exited:
		return false
	default:
		return true
	}
}

func (pr *process) kill() {
	pr.killOnce.Do(func() {
		if pr.conn != nil {
			_ = pr.conn.Close()
		}
		if pr.alive() {
			_ = pr.cmd.Process.Kill()
		}
		<-pr.exited
	})
}

func (pr *process) markCancelled() {
	pr.cancelMu.Lock()
	pr.wasCancel = true
	pr.cancelMu.Unlock()
}

func (pr *process) cancelled() bool {
	pr.cancelMu.Lock()
	defer pr.cancelMu.Unlock()
	return pr.wasCancel
}

// startProcess runs a plugin with no engine address (the CLI sends it with Attach) and waits for
// the port it prints on its first line of stdout, as the CLI does when it starts one itself.
func startProcess(ctx context.Context, name, path string, env []string, timeout time.Duration) (*process, error) {
	cmd := exec.Command(path)
	cmd.Dir = filepath.Dir(path)
	cmd.Env = env
	port := &portWriter{line: make(chan string, 1)}
	errTail := &tail{max: 8 << 10}
	port.rest = errTail
	cmd.Stdout = port
	cmd.Stderr = errTail
	setParentDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start provider %s (%s): %w", name, path, err)
	}
	pr := &process{plugin: name, cmd: cmd, exited: make(chan struct{}), stderr: errTail}
	go func() {
		_ = cmd.Wait()
		close(pr.exited)
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	fail := func(why string) (*process, error) {
		pr.kill()
		msg := fmt.Sprintf("provider %s (%s) %s", name, path, why)
		if t := strings.TrimSpace(errTail.String()); t != "" {
			msg += ": " + lastLine(t)
		}
		return nil, errors.New(msg)
	}
	select {
	case line := <-port.line:
		n, err := strconv.Atoi(strings.TrimSpace(line))
		if err != nil || n <= 0 || n > 65535 {
			return fail(fmt.Sprintf("wrote %q where its port belongs", line))
		}
		pr.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(n))
		conn, err := grpc.NewClient(pr.addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage), grpc.MaxCallSendMsgSize(maxMessage)))
		if err != nil {
			return fail(fmt.Sprintf("cannot be dialled: %v", err))
		}
		pr.conn = conn
		return pr, nil
	case <-pr.exited:
		return fail(fmt.Sprintf("exited before it printed its port (%v)", cmd.ProcessState))
	case <-timer.C:
		return fail(fmt.Sprintf("printed no port within %s", timeout))
	case <-ctx.Done():
		return fail("start cancelled")
	}
}

// lastLine keeps an error message to one line of a plugin's output.
func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// portWriter takes a plugin's stdout: the first line is its port, the rest goes to rest.
type portWriter struct {
	mu   sync.Mutex
	buf  []byte
	sent bool
	line chan string
	rest *tail
}

func (w *portWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sent {
		return w.rest.Write(b)
	}
	if i := strings.IndexByte(string(b), '\n'); i >= 0 {
		w.buf = append(w.buf, b[:i]...)
		w.sent = true
		w.line <- string(w.buf)
		w.buf = nil
		_, _ = w.rest.Write(b[i+1:])
		return len(b), nil
	}
	if len(w.buf) < 4<<10 {
		w.buf = append(w.buf, b...)
	}
	return len(b), nil
}

// tail keeps the last max bytes written to it: a plugin's output is only read when it fails to
// start, and must not grow without bound while it runs for minutes.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
