// Package all registers every builder cachebench knows: adding a builder
// is a folder under builders/ and a line here.
package all

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cachebench/cachebench/builders"
	"github.com/cachebench/cachebench/builders/buildah"
	"github.com/cachebench/cachebench/builders/buildkit"
	"github.com/cachebench/cachebench/builders/docker"
	"github.com/cachebench/cachebench/builders/kaniko"
	"github.com/cachebench/cachebench/images"
)

// Builders lists every builder, the reference builder (upstream kaniko)
// first.
var Builders = []builders.Definition{kaniko.Upstream, kaniko.Chainguard, buildkit.Definition, buildah.Definition, docker.Definition}

// Names lists the builders' names, in Builders' order.
func Names() []string {
	var n []string
	for _, d := range Builders {
		n = append(n, d.Name)
	}
	return n
}

// Named returns the builder of that name.
func Named(name string) (builders.Definition, bool) {
	i := slices.IndexFunc(Builders, func(d builders.Definition) bool { return d.Name == name })
	if i < 0 {
		return builders.Definition{}, false
	}
	return Builders[i], true
}

// Select returns the named builders, in the order given; no names means
// all. An unknown name or one given twice is an error that names the
// choices.
func Select(names []string) ([]builders.Definition, error) {
	if len(names) == 0 {
		return slices.Clone(Builders), nil
	}
	var out []builders.Definition
	for i, n := range names {
		if slices.Contains(names[:i], n) {
			return nil, fmt.Errorf("builder %q named twice", n)
		}
		d, ok := Named(n)
		if !ok {
			return nil, fmt.Errorf("unknown builder %q: choose from %s", n, strings.Join(Names(), ", "))
		}
		out = append(out, d)
	}
	return out, nil
}

// Images lists the images of the builders given.
func Images(defs []builders.Definition) []images.BuilderImage {
	var out []images.BuilderImage
	for _, d := range defs {
		out = append(out, d.Images...)
	}
	return out
}
