package providerpool

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
)

// EnvVar is the variable that makes the pulumi CLI attach to a running provider instead of
// starting one (pkg/resource/plugin.GetProviderAttachPort).
const EnvVar = "PULUMI_DEBUG_PROVIDERS"

// cancelMethod is the RPC the CLI sends every provider when it lets go of it (pkg/host
// ReleaseContext and Close, "graceful shutdown"), not only when an operation is cancelled. A
// provider takes it as the end of its life: the Kubernetes provider cancels the context its
// clients and informers run under, for good.
const cancelMethod = "/pulumirpc.ResourceProvider/Cancel"

// maxMessage is the largest gRPC message either side may send: Pulumi's own limit
// (sdk/go/common/util/rpcutil, 400 MiB), which schemas and large states need.
const maxMessage = 400 << 20

// Lease is one operation's access to the pool: a loopback gRPC endpoint per plugin. Each
// connection the CLI opens to it is served by a process of the lease's scope that serves nothing
// else meanwhile; calls are relayed as they are, except the CLI's parting Cancel while the
// operation still runs.
type Lease struct {
	pool    *Pool
	scope   string
	op      context.Context // the operation's: once done, a Cancel is a real one
	ctx     context.Context // cancelled by Release: stops starts still running
	cancel  context.CancelFunc
	names   []string
	servers map[string]*grpc.Server
	ports   map[string]int
	wg      sync.WaitGroup

	mu       sync.Mutex
	released bool
	held     []*process            // every process this lease took
	free     map[string][]*process // held processes whose connection ended
	conns    map[connID]*connState
}

// connID names a CLI connection: the plugin's endpoint and the CLI side's address. The address
// alone is not enough: Linux gives connections to different ports the same local port.
type connID struct{ plugin, remote string }

// connState is one CLI connection and the process serving it, assigned on its first call.
type connState struct {
	mu    sync.Mutex
	proc  *process
	ended bool
}

// Env is what the CLI of the lease's operation needs in its environment:
// PULUMI_DEBUG_PROVIDERS naming each plugin's endpoint.
func (l *Lease) Env() map[string]string {
	parts := make([]string, 0, len(l.names))
	for _, name := range l.names {
		parts = append(parts, name+":"+strconv.Itoa(l.ports[name]))
	}
	return map[string]string{EnvVar: strings.Join(parts, ",")}
}

// Release ends the lease: its endpoints and connections close, and the processes it held go
// back to the pool when healthy (the operation succeeded) or are stopped.
func (l *Lease) Release(healthy bool) {
	l.mu.Lock()
	if l.released {
		l.mu.Unlock()
		return
	}
	l.released = true
	l.cancel()
	l.mu.Unlock()
	for _, s := range l.servers {
		s.Stop() // closes the listener and every connection, and waits for the handlers
	}
	l.wg.Wait()
	// nothing serves any more: held is final
	for _, pr := range l.held {
		if healthy && !pr.cancelled() {
			l.pool.put(l.scope, pr)
		} else {
			l.pool.stop(pr)
		}
	}
}

// serveEndpoint starts the gRPC endpoint of one plugin.
func (l *Lease) serveEndpoint(name string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := grpc.NewServer(
		grpc.ForceServerCodec(rawCodec{}),
		grpc.UnknownServiceHandler(func(_ any, ss grpc.ServerStream) error { return l.relay(name, ss) }),
		grpc.StatsHandler(connEnds{l, name}),
		grpc.MaxRecvMsgSize(maxMessage), grpc.MaxSendMsgSize(maxMessage),
	)
	l.servers[name] = srv
	l.ports[name] = ln.Addr().(*net.TCPAddr).Port
	l.names = append(l.names, name)
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		_ = srv.Serve(ln)
	}()
	return nil
}

// relay forwards one call of a CLI connection to the connection's process, frames as they are.
func (l *Lease) relay(name string, ss grpc.ServerStream) error {
	method, _ := grpc.MethodFromServerStream(ss)
	ctx := ss.Context()
	pr, err := l.processFor(ctx, name)
	if err != nil {
		return status.Errorf(codes.Unavailable, "provider %s: %v", name, err)
	}
	if method == cancelMethod {
		if l.op.Err() == nil {
			// The CLI's goodbye at the end of an operation: acknowledged here, so the process
			// stays usable. A real cancellation (the operation's context is done) goes on.
			var req frame
			if err := ss.RecvMsg(&req); err != nil {
				return err
			}
			return ss.SendMsg(&frame{})
		}
		pr.markCancelled()
	}
	md, _ := metadata.FromIncomingContext(ctx)
	out, cancel := context.WithCancel(metadata.NewOutgoingContext(ctx, md.Copy()))
	defer cancel()
	cs, err := pr.conn.NewStream(out, &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, method,
		grpc.ForceCodec(rawCodec{}))
	if err != nil {
		return err
	}
	upErr := make(chan error, 1)
	go func() { upErr <- forwardRequests(ss, cs) }()
	downErr := forwardResponses(cs, ss)
	if downErr == io.EOF {
		ss.SetTrailer(cs.Trailer())
		return nil
	}
	if downErr == nil {
		// the CLI side failed while sending; the backend call is cancelled with out
		return <-upErr
	}
	ss.SetTrailer(cs.Trailer())
	return downErr
}

// forwardRequests copies the CLI's messages to the process, then half-closes.
func forwardRequests(ss grpc.ServerStream, cs grpc.ClientStream) error {
	for {
		var f frame
		if err := ss.RecvMsg(&f); err != nil {
			if err == io.EOF {
				return cs.CloseSend()
			}
			return err
		}
		if err := cs.SendMsg(&f); err != nil {
			return err
		}
	}
}

// forwardResponses copies the process's header and messages to the CLI; io.EOF is a call that
// ended well, any other error is the process's status (returned to the CLI as it is).
func forwardResponses(cs grpc.ClientStream, ss grpc.ServerStream) error {
	h, err := cs.Header()
	if err != nil {
		return err
	}
	if err := ss.SendHeader(h); err != nil {
		return nil
	}
	for {
		var f frame
		if err := cs.RecvMsg(&f); err != nil {
			return err
		}
		if err := ss.SendMsg(&f); err != nil {
			return nil
		}
	}
}

// processFor is the process serving the call's connection, assigned on its first call.
func (l *Lease) processFor(ctx context.Context, name string) (*process, error) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil, errors.New("call without a peer")
	}
	key := connID{name, p.Addr.String()}
	l.mu.Lock()
	if l.released {
		l.mu.Unlock()
		return nil, errors.New("lease released")
	}
	cs := l.conns[key]
	if cs == nil {
		cs = &connState{}
		l.conns[key] = cs
	}
	l.mu.Unlock()
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.proc != nil {
		return cs.proc, nil
	}
	if cs.ended {
		return nil, errors.New("connection ended")
	}
	pr, err := l.process(name)
	if err != nil {
		return nil, err
	}
	cs.proc = pr
	return pr, nil
}

// connEnded gives a connection's process back to the lease: a reconnect of the same provider
// instance gets it again.
func (l *Lease) connEnded(key connID) {
	l.mu.Lock()
	cs := l.conns[key]
	delete(l.conns, key)
	l.mu.Unlock()
	if cs == nil {
		return
	}
	cs.mu.Lock()
	cs.ended = true
	pr := cs.proc
	cs.mu.Unlock()
	if pr != nil {
		l.mu.Lock()
		l.free[pr.plugin] = append(l.free[pr.plugin], pr)
		l.mu.Unlock()
	}
}

// process takes one of the lease's free processes of the plugin, else one from the pool.
func (l *Lease) process(name string) (*process, error) {
	l.mu.Lock()
	if list := l.free[name]; len(list) > 0 {
		pr := list[len(list)-1]
		l.free[name] = list[:len(list)-1]
		l.mu.Unlock()
		return pr, nil
	}
	l.mu.Unlock()
	pr, err := l.pool.take(l.ctx, l.scope, name)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.held = append(l.held, pr)
	l.mu.Unlock()
	return pr, nil
}

// connEnds tells the lease when a CLI connection closes.
type connEnds struct {
	l      *Lease
	plugin string
}

type connKey struct{}

func (c connEnds) TagConn(ctx context.Context, info *stats.ConnTagInfo) context.Context {
	return context.WithValue(ctx, connKey{}, info.RemoteAddr.String())
}

func (c connEnds) HandleConn(ctx context.Context, s stats.ConnStats) {
	if _, ok := s.(*stats.ConnEnd); ok {
		if remote, ok := ctx.Value(connKey{}).(string); ok {
			c.l.connEnded(connID{c.plugin, remote})
		}
	}
}

func (connEnds) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (connEnds) HandleRPC(context.Context, stats.RPCStats)                       {}

// frame is one gRPC message, relayed without decoding.
type frame struct{ payload []byte }

// rawCodec passes frames through; named "proto" so both sides see the content type they sent.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	f, ok := v.(*frame)
	if !ok {
		return nil, errors.New("providerpool: not a frame")
	}
	return f.payload, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	f, ok := v.(*frame)
	if !ok {
		return errors.New("providerpool: not a frame")
	}
	f.payload = append(f.payload[:0], data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }
