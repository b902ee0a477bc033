package bench

import (
	"fmt"
	"github.com/cachebench/cachebench/builders"
	"github.com/cachebench/cachebench/builders/buildah"
	"github.com/cachebench/cachebench/builders/buildkit"
	"github.com/cachebench/cachebench/builders/kaniko"
	"strings"

	"github.com/cachebench/cachebench/cluster/registry"
	"github.com/cachebench/cachebench/images"
)

// BuilderImages are the images builders run, by role (images.RoleBuildKit,
// ...: the keys of images.Set.Builders).
type BuilderImages struct {
	Images map[string]string
	// CABundle names the ConfigMap holding the build CA bundle ("" for none).
	CABundle string
}

// Builders lists the builders cachebench knows, the reference builder
// (upstream kaniko) first.
var Builders = images.AllBuilders

// NewBuilder returns a builder by name.
func NewBuilder(name string, img BuilderImages) (builders.Builder, error) {
	i := img.Images
	switch name {
	case images.BuilderKaniko:
		return kaniko.Kaniko{Executor: i[images.RoleKanikoExecutor], Warmer: i[images.RoleKanikoWarmer], AuthSecret: registry.AuthSecret, CABundle: img.CABundle}, nil
	case images.BuilderKanikoChainguard:
		return kaniko.Kaniko{Label: name, Executor: i[images.RoleKanikoChainguardExecutor], Warmer: i[images.RoleKanikoChainguardWarmer], AuthSecret: registry.AuthSecret, CABundle: img.CABundle}, nil
	case images.BuilderBuildKit:
		return buildkit.BuildKit{Image: i[images.RoleBuildKit], AuthSecret: registry.AuthSecret, CABundle: img.CABundle}, nil
	case images.BuilderBuildah:
		return buildah.Buildah{Image: i[images.RoleBuildah], AuthSecret: registry.AuthSecret, CABundle: img.CABundle}, nil
	}
	return nil, fmt.Errorf("unknown builder %q: choose from %s", name, strings.Join(Builders, ", "))
}

// NewBuilders returns the named builders, in the order given.
func NewBuilders(names []string, img BuilderImages) ([]builders.Builder, error) {
	var out []builders.Builder
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			return nil, fmt.Errorf("builder %q named twice", n)
		}
		seen[n] = true
		b, err := NewBuilder(n, img)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}
