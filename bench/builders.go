package bench

import (
	"github.com/cachebench/cachebench/builders"
	"github.com/cachebench/cachebench/builders/all"
	"github.com/cachebench/cachebench/results"
)

// Builders lists the builders cachebench knows, the reference builder
// (upstream kaniko) first.
var Builders = all.Names()

// NewBuilders returns the named builders, in the order given, made with s;
// none for no names.
func NewBuilders(names []string, s builders.Settings) ([]builders.Builder, error) {
	if len(names) == 0 {
		return nil, nil
	}
	defs, err := all.Select(names)
	if err != nil {
		return nil, err
	}
	return newBuilders(defs, s), nil
}

// newBuilders makes the builders of defs, each with settings s.
func newBuilders(defs []builders.Definition, s builders.Settings) []builders.Builder {
	var out []builders.Builder
	for _, d := range defs {
		out = append(out, d.New(s))
	}
	return out
}

// daemonBuilders names the builders whose builds can go to a daemon of
// their own (the daemon strategy).
func daemonBuilders() []string {
	var names []string
	for _, b := range newBuilders(all.Builders, builders.Settings{}) {
		if _, ok := b.(builders.Daemon); ok {
			names = append(names, b.Name())
		}
	}
	return names
}

// DefinedBuilders are every builder this cachebench knows, as a benchmark
// records them: what they need serves reports of benchmarks recorded
// before needs were kept (decision.Inputs.Defined).
func DefinedBuilders() []results.BuilderInfo {
	var infos []results.BuilderInfo
	for _, b := range newBuilders(all.Builders, builders.Settings{}) {
		infos = append(infos, builders.Info(b))
	}
	return infos
}
