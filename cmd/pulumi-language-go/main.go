// Command pulumi-language-go is a minimal Pulumi language host for Go programs that are built
// ahead of time: it runs the binary named by Pulumi.yaml's runtime option `binary`, exactly as
// Pulumi's own Go host does with that option, and nothing else (no `go build`, no code generation).
//
// tenantctl's engine runs its programs inline and needs no language host. Plain-Pulumi users of
// this repository's Pulumi.yaml (`main: ./cmd/tenantctl-program`) normally have Pulumi's host; it
// is not served by the Go module proxy this project builds its tools from, so this one lets the
// same path be exercised here: the baseline of the fleet benchmark (a shell loop of `pulumi
// preview`) and the integration test of cmd/tenantctl-program run through it. Pulumi finds it on
// PATH, next to the pulumi binary, or through Pulumi.yaml `plugins.languages`.
//
//	runtime:
//	  name: go
//	  options:
//	    binary: bin/tenantctl-program
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/constant"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/connectsoft/tenantctl/internal/toolchain"
)

// version is reported to the engine: the SDK the programs are built with.
var version = strings.TrimPrefix(toolchain.PulumiVersion, "v")

func main() {
	// The engine passes flags it knows older hosts accept, then the engine address last.
	var engineAddr string
	for _, a := range os.Args[1:] {
		if !strings.HasPrefix(a, "-") {
			engineAddr = a
		}
	}
	h := &host{engineAddr: engineAddr}
	cancel := make(chan bool)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-go: %v\n", err)
		os.Exit(1)
	}
	// The engine reads the port from the first line of stdout.
	fmt.Println(handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-go: %v\n", err)
		os.Exit(1)
	}
}

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engineAddr string
}

// Handshake is how current engines pass the engine address (older ones pass it as an argument).
func (h *host) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		h.engineAddr = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

// GetRequiredPackages reports none: the programs' providers come from the project's plugin
// paths (Pulumi.yaml plugins.providers) or are resolved when the program registers resources.
func (h *host) GetRequiredPackages(context.Context, *pulumirpc.GetRequiredPackagesRequest) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

func (h *host) GetRequiredPlugins(context.Context, *pulumirpc.GetRequiredPluginsRequest) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

// InstallDependencies has nothing to install: the program is already built.
func (h *host) InstallDependencies(*pulumirpc.InstallDependenciesRequest, pulumirpc.LanguageRuntime_InstallDependenciesServer) error {
	return nil
}

// Run executes the prebuilt program with the environment the Go SDK's pulumi.Run reads.
func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	bin, err := programBinary(req)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	env, err := programEnv(req, h.engineAddr)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	cmd := exec.CommandContext(ctx, bin, req.GetArgs()...)
	cmd.Dir = req.GetPwd()
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exit) && exit.ExitCode() == constant.ExitStatusLoggedError:
		// The program reported its error through the engine already.
		return &pulumirpc.RunResponse{Bail: true}, nil
	case errors.As(err, &exit):
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("program %s exited with code %d", bin, exit.ExitCode())}, nil
	}
	return &pulumirpc.RunResponse{Error: fmt.Sprintf("run program %s: %v", bin, err)}, nil
}

// programBinary is runtime.options.binary, relative to the project root.
func programBinary(req *pulumirpc.RunRequest) (string, error) {
	info := req.GetInfo()
	var bin string
	if opts := info.GetOptions(); opts != nil {
		if v, ok := opts.AsMap()["binary"].(string); ok {
			bin = v
		}
	}
	if bin == "" {
		return "", errors.New("this Go language host runs prebuilt programs only: set runtime.options.binary in Pulumi.yaml to the program's binary (go build -o bin/tenantctl-program ./cmd/tenantctl-program)")
	}
	if !filepath.IsAbs(bin) {
		root := info.GetRootDirectory()
		if root == "" {
			root = req.GetPwd()
		}
		bin = filepath.Join(root, bin)
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("runtime.options.binary: %w", err)
	}
	return bin, nil
}

// programEnv is what pulumi.Run reads (sdk/go/pulumi/run.go getEnvInfo).
func programEnv(req *pulumirpc.RunRequest, engineAddr string) ([]string, error) {
	config, err := json.Marshal(req.GetConfig())
	if err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	keys, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, fmt.Errorf("encode secret keys: %w", err)
	}
	if len(req.GetArgs()) > 0 && engineAddr == "" {
		engineAddr = req.GetArgs()[0]
	}
	return []string{
		"PULUMI_MONITOR=" + req.GetMonitorAddress(),
		"PULUMI_ENGINE=" + engineAddr,
		"PULUMI_PROJECT=" + req.GetProject(),
		"PULUMI_STACK=" + req.GetStack(),
		"PULUMI_ORGANIZATION=" + req.GetOrganization(),
		"PULUMI_ROOT_DIRECTORY=" + req.GetInfo().GetRootDirectory(),
		"PULUMI_CONFIG=" + string(config),
		"PULUMI_CONFIG_SECRET_KEYS=" + string(keys),
		"PULUMI_DRY_RUN=" + strconv.FormatBool(req.GetDryRun()),
		"PULUMI_PARALLEL=" + strconv.Itoa(int(req.GetParallel())),
	}, nil
}
