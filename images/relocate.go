package images

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/cachebench/cachebench/log"
)

// Relocate pushes the images the set would load into a kind cluster to
// registry (a host with an optional path, e.g. ghcr.io/you/cachebench),
// and makes the set reference them there, by digest, so that the nodes of
// a cluster cachebench did not create (--kubeconfig) pull them: nothing is
// left to load. Credentials come from the docker login (the default
// keychain); a registry that does not speak HTTPS is spoken to in plain
// HTTP.
func (s *Set) Relocate(ctx context.Context, registry string, l log.Logger) error {
	moved := map[string]string{}
	for _, a := range s.Load {
		for _, ref := range a.Refs {
			tag, err := name.NewTag(ref)
			if err != nil {
				return fmt.Errorf("image %s: %w", ref, err)
			}
			img, err := tarball.ImageFromPath(a.Path, &tag)
			if err != nil {
				return fmt.Errorf("image %s: %w", ref, err)
			}
			dst, err := name.NewTag(relocated(registry, tag), name.Insecure)
			if err != nil {
				return fmt.Errorf("--image-registry %s: %w", registry, err)
			}
			if err := remote.Write(dst, img, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
				return fmt.Errorf("push %s to --image-registry %s: %w", ref, registry, err)
			}
			d, err := img.Digest()
			if err != nil {
				return err
			}
			moved[ref] = dst.Name() + "@" + d.String()
			l.Infof("pushed %s as %s", ref, moved[ref])
		}
	}
	s.mapRefs(func(ref string) string { return cmp.Or(moved[ref], ref) })
	s.Load = nil
	return nil
}

// relocated is the reference under registry of an image made here:
// cachebench.local/git:v5 becomes <registry>/git:v5.
func relocated(registry string, tag name.Tag) string {
	return strings.TrimSuffix(registry, "/") + "/" + strings.TrimPrefix(tag.Context().RepositoryStr(), "/") + ":" + tag.TagStr()
}
