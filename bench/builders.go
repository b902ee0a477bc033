package bench

import (
	"fmt"

	"github.com/cachebench/cachebench/cluster/registry"
	"github.com/cachebench/cachebench/scenarios"
)

// BuilderImages are the images a builder runs.
type BuilderImages struct {
	KanikoExecutor string
	KanikoWarmer   string
	// CABundle names the ConfigMap holding the build CA bundle ("" for none).
	CABundle string
}

// Builders lists the builders cachebench knows.
var Builders = []string{"kaniko"}

// NewBuilder returns a builder by name. BuildKit and Buildah come here.
func NewBuilder(name string, img BuilderImages) (scenarios.Builder, error) {
	switch name {
	case "kaniko":
		return scenarios.Kaniko{Executor: img.KanikoExecutor, Warmer: img.KanikoWarmer, AuthSecret: registry.AuthSecret, CABundle: img.CABundle}, nil
	}
	return nil, fmt.Errorf("unknown builder %q: choose from %v", name, Builders)
}
