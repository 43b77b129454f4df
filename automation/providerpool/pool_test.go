package providerpool

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// The test binary doubles as a provider plugin: with FAKE_PLUGIN=serve it serves the
// ResourceProvider gRPC service on a loopback port and prints the port as a provider does.
// GetPluginInfo answers the process id as its version; Configure fails when asked to (a
// provider's error, with its code); after a Cancel every call fails, as a real provider's
// would. FAKE_PLUGIN=badport prints garbage instead of a port, =exit exits at once.
func TestMain(m *testing.M) {
	switch os.Getenv("FAKE_PLUGIN") {
	case "":
		os.Exit(m.Run())
	case "badport":
		fmt.Println("listening on port eight")
		time.Sleep(time.Minute)
		return
	case "exit":
		fmt.Fprintln(os.Stderr, "fatal: no kubeconfig")
		os.Exit(3)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.Exit(1)
	}
	srv := grpc.NewServer()
	pulumirpc.RegisterResourceProviderServer(srv, &fakeProvider{})
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	_ = srv.Serve(ln)
}

type fakeProvider struct {
	pulumirpc.UnimplementedResourceProviderServer
	cancelled atomic.Bool
}

func (f *fakeProvider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	if f.cancelled.Load() {
		return nil, status.Error(codes.Canceled, "provider was cancelled")
	}
	return &pulumirpc.PluginInfo{Version: strconv.Itoa(os.Getpid())}, nil
}

func (f *fakeProvider) Configure(_ context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	if why := req.GetVariables()["fail"]; why != "" {
		return nil, status.Error(codes.InvalidArgument, why)
	}
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true}, nil
}

func (f *fakeProvider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	f.cancelled.Store(true)
	return &emptypb.Empty{}, nil
}

func fakePool(t *testing.T, mode string, opts ...Option) *Pool {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]Option{WithEnv([]string{"FAKE_PLUGIN=" + mode})}, opts...)
	p, err := New([]Plugin{{Name: "kubernetes", Path: exe}, {Name: "tenantpg", Path: exe}}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// port is the endpoint a lease's env names for plugin.
func port(t *testing.T, l *Lease, plugin string) string {
	t.Helper()
	for _, part := range strings.Split(l.Env()[EnvVar], ",") {
		name, port, _ := strings.Cut(part, ":")
		if name == plugin {
			return port
		}
	}
	t.Fatalf("%s not in %q", plugin, l.Env()[EnvVar])
	return ""
}

// client is one connection through a lease, as the CLI holds one per provider instance.
type client struct {
	pulumirpc.ResourceProviderClient
	conn *grpc.ClientConn
}

func dial(t *testing.T, l *Lease, plugin string) *client {
	t.Helper()
	conn, err := grpc.NewClient("127.0.0.1:"+port(t, l, plugin), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &client{ResourceProviderClient: pulumirpc.NewResourceProviderClient(conn), conn: conn}
}

func (c *client) pid(t *testing.T) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	info, err := c.GetPluginInfo(ctx, &emptypb.Empty{})
	if err != nil {
		t.Fatalf("GetPluginInfo: %v", err)
	}
	n, err := strconv.Atoi(info.GetVersion())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (c *client) close(t *testing.T, l *Lease) {
	t.Helper()
	l.mu.Lock()
	before := len(l.conns)
	l.mu.Unlock()
	c.conn.Close()
	// the lease hears of the end of the connection from the server side: wait for it
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		n := len(l.conns)
		l.mu.Unlock()
		if n < before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the lease did not see the connection end")
}

// connPID opens one connection, asks the process id and closes.
func connPID(t *testing.T, l *Lease, plugin string) int {
	c := dial(t, l, plugin)
	defer c.close(t, l)
	return c.pid(t)
}

func lease(t *testing.T, p *Pool, scope string) *Lease {
	t.Helper()
	l, err := p.Lease(context.Background(), scope)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLeaseReuse(t *testing.T) {
	tests := []struct {
		name      string
		healthy   bool
		nextScope string
		maxUses   int
		wantSame  bool
	}{
		{"healthy, same scope: the next operation gets the process", true, "env-a", 0, true},
		{"another scope never gets it", true, "env-b", 0, false},
		{"a failed operation's process is stopped", false, "env-a", 0, false},
		{"a worn-out process is stopped", true, "env-a", 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []Option
			if tt.maxUses > 0 {
				opts = append(opts, WithMaxUses(tt.maxUses))
			}
			p := fakePool(t, "serve", opts...)
			l1 := lease(t, p, "env-a")
			first := connPID(t, l1, "kubernetes")
			l1.Release(tt.healthy)
			l2 := lease(t, p, tt.nextScope)
			second := connPID(t, l2, "kubernetes")
			l2.Release(true)
			if (first == second) != tt.wantSame {
				t.Fatalf("first process %d, second %d: want same=%v", first, second, tt.wantSame)
			}
			s := p.Stats()
			wantStarted := 2
			if tt.wantSame {
				wantStarted = 1
			}
			if s.Started != wantStarted || s.Reused != 2-wantStarted {
				t.Fatalf("stats %+v, want %d started", s, wantStarted)
			}
			if !tt.healthy || tt.maxUses == 1 {
				if processAlive(first) {
					t.Fatalf("process %d still runs", first)
				}
			}
		})
	}
}

// Two connections of one operation that are open at once (two provider instances of a package)
// never share a process; a connection after one closed gets the same process back.
func TestLeaseExclusive(t *testing.T) {
	p := fakePool(t, "serve")
	l := lease(t, p, "env-a")
	a, b := dial(t, l, "kubernetes"), dial(t, l, "kubernetes")
	pa, pb := a.pid(t), b.pid(t)
	if pa == pb {
		t.Fatalf("two open connections share process %d", pa)
	}
	if again := a.pid(t); again != pa {
		t.Fatalf("a second call of one connection went to process %d, not %d", again, pa)
	}
	a.close(t, l)
	if again := connPID(t, l, "kubernetes"); again != pa {
		t.Fatalf("reconnect got process %d, want %d (the free one)", again, pa)
	}
	// concurrent operations of one scope: each gets its own processes
	l2 := lease(t, p, "env-a")
	if other := connPID(t, l2, "kubernetes"); other == pa || other == pb {
		t.Fatalf("a concurrent lease got process %d, held by another lease", other)
	}
	if got := connPID(t, l, "tenantpg"); got == pa || got == pb {
		t.Fatalf("plugin tenantpg served by a kubernetes process %d", got)
	}
	l.Release(true)
	l2.Release(true)
	if s := p.Stats(); s.Started != 4 || s.Running != 4 {
		t.Fatalf("stats %+v, want 4 started and running", s)
	}
}

// A provider's error reaches the CLI with its code and message.
func TestRelayErrors(t *testing.T) {
	p := fakePool(t, "serve")
	l := lease(t, p, "env-a")
	defer l.Release(true)
	c := dial(t, l, "kubernetes")
	_, err := c.Configure(t.Context(), &pulumirpc.ConfigureRequest{Variables: map[string]string{"fail": "kubeconfig is not a file"}})
	if st, _ := status.FromError(err); st.Code() != codes.InvalidArgument || st.Message() != "kubeconfig is not a file" {
		t.Fatalf("Configure error %v, want InvalidArgument with the provider's message", err)
	}
	if _, err := c.Configure(t.Context(), &pulumirpc.ConfigureRequest{}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
}

// The CLI's Cancel at the end of an operation is acknowledged without reaching the provider;
// once the operation's context is done it is relayed, and the process is not kept.
func TestCancel(t *testing.T) {
	p := fakePool(t, "serve")
	l := lease(t, p, "env-a")
	c := dial(t, l, "kubernetes")
	pid := c.pid(t)
	if _, err := c.Cancel(t.Context(), &emptypb.Empty{}); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if got := c.pid(t); got != pid { // the provider never saw it: it still answers
		t.Fatalf("after the parting Cancel process %d answered, want %d", got, pid)
	}
	c.close(t, l)
	l.Release(true)

	op, cancel := context.WithCancel(context.Background())
	l, err := p.Lease(op, "env-a")
	if err != nil {
		t.Fatal(err)
	}
	c = dial(t, l, "kubernetes")
	if got := c.pid(t); got != pid {
		t.Fatalf("the next operation got process %d, want the kept %d", got, pid)
	}
	cancel()
	if _, err := c.Cancel(t.Context(), &emptypb.Empty{}); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if _, err := c.GetPluginInfo(t.Context(), &emptypb.Empty{}); status.Code(err) != codes.Canceled {
		t.Fatalf("after a real Cancel the provider answered %v, want its Canceled", err)
	}
	l.Release(true) // even a release that says healthy does not keep a cancelled provider
	if processAlive(pid) {
		t.Fatalf("cancelled process %d still runs", pid)
	}
}

func TestIdleTimeoutAndClose(t *testing.T) {
	p := fakePool(t, "serve", WithIdleTimeout(200*time.Millisecond))
	l := lease(t, p, "env-a")
	idle := connPID(t, l, "kubernetes")
	l.Release(true)
	deadline := time.Now().Add(10 * time.Second)
	for processAlive(idle) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if processAlive(idle) {
		t.Fatalf("idle process %d outlived the idle timeout", idle)
	}

	l = lease(t, p, "env-a")
	held := connPID(t, l, "kubernetes")
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if processAlive(held) {
		t.Fatalf("process %d survived Close", held)
	}
	l.Release(true)
	if _, err := p.Lease(t.Context(), "env-a"); err != ErrClosed {
		t.Fatalf("lease after close: %v, want ErrClosed", err)
	}
	if s := p.Stats(); s.Running != 0 || s.Stopped != 2 {
		t.Fatalf("stats %+v, want nothing running and 2 stopped", s)
	}
}

// A plugin that does not start makes the connection close (the CLI then reports the plugin did
// not come alive) and leaves nothing running.
func TestStartFailure(t *testing.T) {
	for _, mode := range []string{"badport", "exit"} {
		t.Run(mode, func(t *testing.T) {
			p := fakePool(t, mode, WithStartTimeout(5*time.Second))
			l := lease(t, p, "env-a")
			c := dial(t, l, "kubernetes")
			_, err := c.GetPluginInfo(t.Context(), &emptypb.Empty{})
			if st, _ := status.FromError(err); st.Code() != codes.Unavailable || !strings.Contains(st.Message(), "provider kubernetes") {
				t.Fatalf("call to a plugin that did not start: %v, want Unavailable naming the plugin", err)
			}
			l.Release(false)
			if s := p.Stats(); s.Running != 0 || s.Started != 0 {
				t.Fatalf("stats %+v, want nothing started", s)
			}
		})
	}
	exe, _ := os.Executable()
	_, err := startProcess(t.Context(), "kubernetes", exe, []string{"FAKE_PLUGIN=exit"}, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "exited before it printed its port") || !strings.Contains(err.Error(), "fatal: no kubeconfig") {
		t.Fatalf("error %v: want the exit and the plugin's last stderr line", err)
	}
}

func TestLeaseRelease(t *testing.T) {
	p := fakePool(t, "serve")
	l := lease(t, p, "env-a")
	c := dial(t, l, "kubernetes")
	c.pid(t)
	l.Release(true) // closes the open connection instead of waiting for the CLI
	if _, err := c.GetPluginInfo(t.Context(), &emptypb.Empty{}); err == nil {
		t.Fatal("call through a released lease succeeded")
	}
	if _, err := net.Dial("tcp", "127.0.0.1:"+port(t, l, "kubernetes")); err == nil {
		t.Fatal("endpoint still open after Release")
	}
	l.Release(false) // twice is harmless
	if s := p.Stats(); s.Running != 1 {
		t.Fatalf("stats %+v: the healthy process goes back to the pool", s)
	}
	if _, err := p.Lease(t.Context(), ""); err == nil {
		t.Fatal("lease without a scope accepted")
	}
}

func TestNewRejects(t *testing.T) {
	for _, plugins := range [][]Plugin{
		{{Name: "", Path: "x"}},
		{{Name: "a:b", Path: "x"}},
		{{Name: "k", Path: "x"}, {Name: "k", Path: "y"}},
	} {
		if _, err := New(plugins); err == nil {
			t.Errorf("New(%v) accepted", plugins)
		}
	}
}

func processAlive(pid int) bool {
	// a reaped process has no /proc entry; a zombie would show state Z
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return len(f) > 2 && f[2] != "Z"
}

// StopIdle stops what no lease holds and leaves the pool usable.
func TestStopIdle(t *testing.T) {
	p := fakePool(t, "serve")
	idle, held := lease(t, p, "env-a"), lease(t, p, "env-a")
	idlePID, heldPID := connPID(t, idle, "kubernetes"), connPID(t, held, "kubernetes")
	idle.Release(true)
	p.StopIdle()
	if processAlive(idlePID) {
		t.Fatalf("idle process %d survived StopIdle", idlePID)
	}
	if !processAlive(heldPID) {
		t.Fatalf("leased process %d stopped by StopIdle", heldPID)
	}
	held.Release(true)
	l := lease(t, p, "env-a")
	if got := connPID(t, l, "kubernetes"); got != heldPID {
		t.Fatalf("after StopIdle the pool handed out %d, want the returned %d", got, heldPID)
	}
	l.Release(true)
}

// Linux may give the CLI's connections to two endpoints the same local port: each is still
// served by a process of its own plugin.
func TestSameLocalPortTwoPlugins(t *testing.T) {
	p := fakePool(t, "serve")
	l := lease(t, p, "env-a")
	defer l.Release(true)
	reuse := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1) })
		if err != nil {
			return err
		}
		return serr
	}}
	// a free local port to dial from
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	reuse.LocalAddr = ln.Addr()
	ln.Close()
	pid := map[string]int{}
	for _, plugin := range []string{"kubernetes", "tenantpg"} {
		conn, err := grpc.NewClient("127.0.0.1:"+port(t, l, plugin), grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) { return reuse.DialContext(ctx, "tcp", addr) }))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		c := &client{ResourceProviderClient: pulumirpc.NewResourceProviderClient(conn), conn: conn}
		pid[plugin] = c.pid(t)
	}
	if pid["kubernetes"] == pid["tenantpg"] {
		t.Fatalf("both plugins' connections from one local port were served by process %d", pid["kubernetes"])
	}
}
