package fleet

import "slices"

// Environments are the environments the selection is restricted to, Env first, each once; none
// means every environment.
func (s Selection) Environments() []string {
	var out []string
	for _, e := range append([]string{s.Env}, s.Envs...) {
		if e != "" && !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}

// InEnv reports whether the selection covers environment env.
func (s Selection) InEnv(env string) bool {
	names := s.Environments()
	return len(names) == 0 || slices.Contains(names, env)
}
