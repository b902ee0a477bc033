package builders

import (
	"fmt"
	"slices"
	"strings"
)

// Strategy is one way of caching builds. It is a small value: what the
// build mounts and where its layer cache lives; the builder turns it into
// flags, and the runner resets it at the start of every round.
type Strategy struct {
	Name    string
	Summary string
	// CacheVolume: the build mounts a PersistentVolume, emptied and warmed
	// with the workload's base images at the start of each round.
	CacheVolume bool
	// LayerRepo is the registry repository prefix of the layer cache
	// ("" for none). Each round uses a fresh repository under it, so that
	// every round starts from an empty cache.
	LayerRepo string
	// VolumeLayers: the cache volume keeps the layers the builds make, not
	// only base images (BuildKit's state directory, Buildah's containers
	// storage), so warm runs take layers from it.
	VolumeLayers bool
	// Mirror: base images come through the pull-through mirror near the
	// cluster, each round's bases new to it; no layer cache.
	Mirror bool
	// Daemon: builds talk to a long-lived daemon that the round starts
	// with an empty state; what it keeps (base images, layers) is the
	// cache. Only builders that are a Daemon have it.
	Daemon bool
	// OptIn: measured only when named (--strategies), not by default.
	OptIn bool
}

// MirrorName is the name of every builder's mirror strategy.
const MirrorName = "mirror"

// DaemonName is the name of the daemon strategy of every builder that
// has one.
const DaemonName = "daemon"

// mirrorStrategy is a builder's mirror strategy, with its summary.
func MirrorStrategy(summary string) Strategy {
	return Strategy{Name: MirrorName, Summary: summary, Mirror: true, OptIn: true}
}

// UsesCache reports whether the builder keeps anything between runs (a
// mirror is the registry's doing: the builder sees no cache).
func (s Strategy) UsesCache() bool { return s.CacheVolume || s.LayerRepo != "" || s.Daemon }

// LayerCache reports whether warm runs should find layers in a cache.
func (s Strategy) LayerCache() bool { return s.LayerRepo != "" || s.VolumeLayers || s.Daemon }

// SelectStrategies returns the named strategies of a builder, in the order
// given; no names means the default ones (all but the opt-in ones).
func SelectStrategies(b Builder, names []string) ([]Strategy, error) {
	all := b.Strategies()
	if len(names) == 0 {
		names = DefaultStrategyNames(b)
	}
	var out []Strategy
	for _, n := range names {
		i := slices.IndexFunc(all, func(s Strategy) bool { return s.Name == n })
		if i < 0 {
			return nil, fmt.Errorf("builder %s has no strategy %q: choose from %s", b.Name(), n, strings.Join(StrategyNames(b), ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
}

// StrategyNames lists a builder's strategy names.
func StrategyNames(b Builder) []string {
	var n []string
	for _, s := range b.Strategies() {
		n = append(n, s.Name)
	}
	return n
}

// DefaultStrategyNames lists the strategies measured when none are named:
// all but the opt-in ones.
func DefaultStrategyNames(b Builder) []string {
	var n []string
	for _, s := range b.Strategies() {
		if !s.OptIn {
			n = append(n, s.Name)
		}
	}
	return n
}

// RegistryMapArg is the shell that takes a first argument
// --registry-map=<registry>=<mirror> off the script's arguments into
// $mirror_from and $mirror_to (both empty without one).
const RegistryMapArg = `mirror_from=""
mirror_to=""
case "${1:-}" in
--registry-map=*)
  m="${1#--registry-map=}"
  mirror_from="${m%%=*}"
  mirror_to="${m#*=}"
  shift
  ;;
esac
`
