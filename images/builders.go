package images

import (
	"fmt"
	"slices"
)

// BuilderImage is one image a builder's pods run. Builders describe their
// own (builders/<name>); the factory builds or pins what it is given.
type BuilderImage struct {
	// Role is the image's key in Set.Builders ("kaniko-executor",
	// "buildkit"), unique across builders.
	Role string
	// Official is the publisher's image, run online; "" when it publishes
	// none, and then the image is built here online too.
	Official string
	// Spec builds it offline; its first reference is the one runs use.
	Spec Spec
}

// Ref is the image's local reference, the one offline runs use.
func (b BuilderImage) Ref() string { return b.Spec.Refs[0] }

// checkBuilderImages refuses images that would shadow one another.
func checkBuilderImages(imgs []BuilderImage) error {
	var roles []string
	for _, b := range imgs {
		if slices.Contains(roles, b.Role) {
			return fmt.Errorf("two builder images have the role %q", b.Role)
		}
		if len(b.Spec.Refs) == 0 {
			return fmt.Errorf("builder image %q has no reference", b.Role)
		}
		roles = append(roles, b.Role)
	}
	return nil
}

// offlineBuilders returns the specs of the builders' images and their
// references by role.
func offlineBuilders(imgs []BuilderImage) ([]Spec, map[string]string) {
	var specs []Spec
	refs := map[string]string{}
	for _, b := range imgs {
		specs = append(specs, b.Spec)
		refs[b.Role] = b.Ref()
	}
	return specs, refs
}
