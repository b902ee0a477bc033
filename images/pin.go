package images

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/errgroup"
)

// pinTimeout bounds the look-up of one image, so that an unreachable
// registry is said within seconds.
const pinTimeout = 20 * time.Second

// Pin resolves an official image given by tag to its digest (tag@digest),
// and checks that one given by digest exists in its registry: every image
// of an online run is then used, and recorded, by digest.
func Pin(ctx context.Context, ref string) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("image %s: %w", ref, err)
	}
	ctx, cancel := context.WithTimeout(ctx, pinTimeout)
	defer cancel()
	desc, err := remote.Head(r, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil {
		return "", lookupError(ref, r, err)
	}
	if _, byDigest := r.(name.Digest); byDigest {
		if !strings.HasSuffix(ref, desc.Digest.String()) {
			return "", fmt.Errorf("image %s: its registry answers with digest %s: the image is not the one pinned", ref, desc.Digest)
		}
		return ref, nil
	}
	return ref + "@" + desc.Digest.String(), nil
}

// lookupError says why an image could not be looked up: its registry did
// not answer (and offline is the way out), or has no such image (or no
// image of that digest).
func lookupError(ref string, r name.Reference, err error) error {
	var te *transport.Error
	if errors.As(err, &te) {
		switch te.StatusCode {
		case http.StatusNotFound:
			if _, byDigest := r.(name.Digest); byDigest {
				return fmt.Errorf("image %s: its registry has no image of that digest (the digest pinned does not match what it serves): %w", ref, err)
			}
			return fmt.Errorf("image %s: its registry has no such image: %w", ref, err)
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("image %s: its registry refuses access (docker login to %s?): %w", ref, r.Context().RegistryStr(), err)
		}
	}
	return fmt.Errorf("--images online: the registry %s does not answer for %s (%v): check the network (or HTTPS_PROXY), or run with --images offline, which builds every image here", r.Context().RegistryStr(), ref, err)
}

// pinAll pins the references refs point at, side by side.
func pinAll(ctx context.Context, refs ...*string) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, ref := range refs {
		if *ref == "" {
			continue
		}
		g.Go(func() error {
			pinned, err := Pin(gctx, *ref)
			if err != nil {
				return err
			}
			*ref = pinned
			return nil
		})
	}
	return g.Wait()
}
