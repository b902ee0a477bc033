package builders

import (
	"regexp"

	"github.com/cachebench/cachebench/images"
)

// Definition is a builder as cachebench registers it (builders/all): its
// name, the images its pods run, and how a Builder is made once those
// images have references.
type Definition struct {
	Name   string
	Images []images.BuilderImage
	New    func(Settings) Builder
	// KnownFindings are findings of this builder that are understood and
	// written up: its behaviour, not the harness's fault.
	KnownFindings []KnownFinding
}

// KnownFinding is a finding (a cache lookup or image other than the
// change pattern predicts) that the harness has met, understood and
// documented. CI's smoke fails on any other, as it does on a
// contradiction, so that a new one is read before it is believed.
type KnownFinding struct {
	// Change is the change pattern under which it happens.
	Change string
	Text   *regexp.Regexp
	// Why says what the builder does, and where it is written up.
	Why string
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
