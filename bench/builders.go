package bench

import (
	"slices"

	"github.com/cachebench/cachebench/builders"
	"github.com/cachebench/cachebench/builders/all"
	"github.com/cachebench/cachebench/decision"
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

// DefinedNeeds are what each builder under each strategy needs as this
// cachebench defines them, for reports of benchmarks recorded before
// needs were kept.
func DefinedNeeds() map[decision.Row][]string {
	m := map[decision.Row][]string{}
	for _, b := range newBuilders(all.Builders, builders.Settings{}) {
		info := builders.Info(b)
		for _, s := range info.Strategies {
			m[decision.Row{Builder: info.Name, Strategy: s.Name}] = append(slices.Clone(info.Needs), s.Needs...)
		}
	}
	return m
}
