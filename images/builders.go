package images

import (
	"fmt"
	"strings"

	"github.com/cachebench/cachebench/versions"
)

// Builders a benchmark can select (the names Resolve takes).
const (
	BuilderKaniko           = "kaniko"
	BuilderKanikoChainguard = "kaniko-chainguard"
	BuilderBuildKit         = "buildkit"
	BuilderBuildah          = "buildah"
)

// Roles: the keys of Set.Builders and Catalog.Builders, one per image a
// builder's steps run.
const (
	RoleKanikoExecutor           = "kaniko-executor"
	RoleKanikoWarmer             = "kaniko-warmer"
	RoleKanikoChainguardExecutor = "kaniko-chainguard-executor"
	RoleKanikoChainguardWarmer   = "kaniko-chainguard-warmer"
	RoleBuildKit                 = "buildkit" // buildkitd and buildctl, runc on PATH
	RoleBuildah                  = "buildah"  // buildah, runc, fuse-overlayfs
)

// AllBuilders lists every builder, in a fixed order.
var AllBuilders = []string{BuilderKaniko, BuilderKanikoChainguard, BuilderBuildKit, BuilderBuildah}

// builderRoles are the images each builder needs.
var builderRoles = map[string][]string{
	BuilderKaniko:           {RoleKanikoExecutor, RoleKanikoWarmer},
	BuilderKanikoChainguard: {RoleKanikoChainguardExecutor, RoleKanikoChainguardWarmer},
	BuilderBuildKit:         {RoleBuildKit},
	BuilderBuildah:          {RoleBuildah},
}

// BuilderRoles returns the roles of a builder's images.
func BuilderRoles(builder string) []string {
	return append([]string(nil), builderRoles[builder]...)
}

// onlineBuilders are the official images of the builders that publish
// them; the others are built locally in online mode too.
var onlineBuilders = map[string]string{
	RoleKanikoExecutor: versions.KanikoExecutor,
	RoleKanikoWarmer:   versions.KanikoWarmer,
	RoleBuildKit:       versions.BuildKitImage,
	RoleBuildah:        versions.BuildahImage,
}

// SelectBuilders checks builder names and returns them without
// duplicates, in AllBuilders' order; none means all.
func SelectBuilders(names []string) ([]string, error) {
	if len(names) == 0 {
		return append([]string(nil), AllBuilders...), nil
	}
	want := map[string]bool{}
	for _, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		if _, ok := builderRoles[n]; !ok {
			return nil, fmt.Errorf("builder %q: want one of %s", n, strings.Join(AllBuilders, ", "))
		}
		want[n] = true
	}
	var out []string
	for _, b := range AllBuilders {
		if want[b] {
			out = append(out, b)
		}
	}
	return out, nil
}

// builderImages returns the specs and the role references of the selected
// builders (names already checked).
func (c *Catalog) builderImages(builders []string) ([]Spec, map[string]string) {
	var specs []Spec
	refs := map[string]string{}
	for _, b := range builders {
		specs = append(specs, c.BuilderSpecs[b]...)
		for _, r := range builderRoles[b] {
			refs[r] = c.Builders[r]
		}
	}
	return specs, refs
}
