package tenantpg

import (
	"context"
	"reflect"
	"strings"
	"sync"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
)

// One process of this provider may serve one engine after another: tenantctl keeps plugin
// processes running between the operations of a fleet (automation/providerpool), and the CLI
// attaches to them. pulumi-go-provider's infer (v1.5.0) assumes one engine per process in two
// places, and each makes a reused process answer differently from a fresh one:
//
//   - The configuration is decoded into one receiver for the life of the process, by CheckConfig
//     as well as Configure, and decoding leaves fields the inputs do not name as
//     they were: a key the next engine's config leaves out would keep the earlier engine's value,
//     in what CheckConfig returns (and so in the state) and in the connection settings.
//   - DiffConfig compares the new inputs, stripped of "version" and the "__"-keys infer itself
//     adds in CheckConfig, with the engine's old inputs once a Configure said the engine sends
//     them (a process that was configured before), and with old inputs rebuilt from the state's
//     config fields otherwise (a fresh process: DiffConfig comes before Configure). The engine's
//     old inputs still hold those keys, so a reused process saw them "deleted" and replaced the
//     provider, and with it every role and database of the stack.
//
// reusable makes every config call start from what a fresh process has: CheckConfig runs on a
// zero receiver and leaves the configured one as it was (the engine checks a provider's config
// on an instance it has just loaded, never on one serving resources), Configure starts from
// zero, and DiffConfig always gets the old inputs a fresh process rebuilds.
func reusable(prov p.Provider, cfg *Config) p.Provider {
	var mu sync.Mutex // the config calls of one engine come one at a time; this keeps it so
	scratch := func() func() {
		mu.Lock()
		configured := *cfg
		*cfg = Config{}
		return func() {
			*cfg = configured
			mu.Unlock()
		}
	}
	if check := prov.CheckConfig; check != nil {
		prov.CheckConfig = func(ctx context.Context, req p.CheckRequest) (p.CheckResponse, error) {
			defer scratch()()
			return check(ctx, req)
		}
	}
	if diff := prov.DiffConfig; diff != nil {
		// infer's DiffConfig decodes into the receiver only for a config with a custom Diff
		// (Config has none), so it runs on the configured one: the engine may diff on a provider
		// instance that is serving resource operations (a delete-before-replace fan-out).
		prov.DiffConfig = func(ctx context.Context, req p.DiffRequest) (p.DiffResponse, error) {
			req.OldInputs = configInputs(req.State)
			return diff(ctx, req)
		}
	}
	if configure := prov.Configure; configure != nil {
		prov.Configure = func(ctx context.Context, req p.ConfigureRequest) error {
			mu.Lock()
			defer mu.Unlock()
			*cfg = Config{}
			return configure(ctx, req)
		}
	}
	return prov
}

// configFields are the input names of Config (its pulumi tags).
var configFields = func() []string {
	t := reflect.TypeFor[Config]()
	names := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("pulumi"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}()

// configInputs are a provider state's config inputs as infer rebuilds them when the engine has
// not (yet) said it sends old inputs: every config field, taken from the state (a provider's
// state is its checked inputs), the keys infer and the engine add left out.
func configInputs(state property.Map) property.Map {
	m := make(map[string]property.Value, len(configFields))
	for _, k := range configFields {
		m[k] = state.Get(k)
	}
	return property.NewMap(m)
}
