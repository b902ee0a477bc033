package builders

import "github.com/cachebench/cachebench/images"

// Definition is a builder as cachebench registers it (builders/all): its
// name, the images its pods run, and how a Builder is made once those
// images have references.
type Definition struct {
	Name   string
	Images []images.BuilderImage
	New    func(Settings) Builder
}

// Settings are what a Builder is made with.
type Settings struct {
	// Images maps the role of each of its images to the reference runs
	// use: the official image by digest online, the one built here
	// offline. A role left out renders an empty image (in tests).
	Images map[string]string
	// AuthSecret is a kubernetes.io/dockerconfigjson Secret with push and
	// pull rights on the registries.
	AuthSecret string
	// CABundle names the ConfigMap holding the build CA bundle ("" for
	// none), mounted over the build's system bundle.
	CABundle string
}
