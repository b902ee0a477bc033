package images

import (
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/cachebench/cachebench/versions"
)

// standsFor lists, per base image built offline, the public images it
// stands for: the same Debian release, and for golang the same Go. A FROM
// line of a user's Dockerfile that names one of them builds offline too.
var standsFor = map[string][]string{
	"debian": {"debian:" + versions.Debian, "debian:" + versions.Debian + "-slim", "debian:12", "debian:12-slim"},
	"golang": {"golang:" + versions.Go + "-" + versions.Debian, "golang:" + goMinor(versions.Go) + "-" + versions.Debian},
	"node":   {"node:18-" + versions.Debian, "node:18-" + versions.Debian + "-slim"},
}

func goMinor(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1]
}

// normalize gives a FROM reference its full name (index.docker.io/library/
// debian:bookworm for debian:bookworm), so that spellings compare equal.
func normalize(image string) (string, error) {
	ref, err := name.ParseReference(image)
	if err != nil {
		return "", fmt.Errorf("image reference %q: %w", image, err)
	}
	return ref.Name(), nil
}

// OfflineBase returns the logical name ("debian", "golang") of the base
// image built offline that serves image, a FROM reference.
func OfflineBase(image string) (string, bool) {
	want, err := normalize(image)
	if err != nil {
		return "", false
	}
	for logical, refs := range standsFor {
		for _, r := range refs {
			if n, _ := normalize(r); n == want {
				return logical, true
			}
		}
	}
	return "", false
}

// RequireOfflineBase is OfflineBase for a FROM reference that must build
// offline: an image no offline base stands for is an UnavailableBaseError.
func RequireOfflineBase(image string) (string, error) {
	logical, ok := OfflineBase(image)
	if !ok {
		return "", UnavailableBaseError(image)
	}
	return logical, nil
}

// OfflineBaseImages lists the FROM references that build offline.
func OfflineBaseImages() []string {
	var out []string
	for _, refs := range standsFor {
		out = append(out, refs...)
	}
	slices.Sort(out)
	return out
}

// RemoteBase is a user's base image online: copied from its registry into
// the upstream registry (under base/, keeping its registry and path in the
// name) like the built-in workloads' bases. The logical name is the image's
// full name.
func RemoteBase(image string) (string, Base, error) {
	ref, err := name.ParseReference(image)
	if err != nil {
		return "", Base{}, fmt.Errorf("image reference %q: %w", image, err)
	}
	repo := ref.Context().RegistryStr() + "/" + ref.Context().RepositoryStr()
	repo = strings.TrimPrefix(repo, name.DefaultRegistry+"/")
	sep := ":"
	if _, isDigest := ref.(name.Digest); isDigest {
		sep = "@"
	}
	return ref.Name(), Base{Repo: "base/" + repo + sep + ref.Identifier(), Remote: ref.Name()}, nil
}

// AddBase makes image (a FROM reference) one of the set's base images and
// says where it is: offline, the locally built base that stands for it;
// online, the image itself, copied at setup.
func (s *Set) AddBase(image string) (logical string, b Base, err error) {
	if s.Mode != Online {
		logical, err := RequireOfflineBase(image)
		if err != nil {
			return "", Base{}, err
		}
		return logical, s.Bases[logical], nil
	}
	logical, b, err = RemoteBase(image)
	if err != nil {
		return "", Base{}, err
	}
	if s.Bases == nil {
		s.Bases = map[string]Base{}
	}
	if _, ok := s.Bases[logical]; !ok {
		s.Bases[logical] = b
	}
	return logical, s.Bases[logical], nil
}

// UnavailableBaseError is the refusal of a base image that offline runs
// cannot have, naming those they can and how to get others.
func UnavailableBaseError(image string) error {
	return fmt.Errorf("base image %s is not available offline (no container registry can be reached from here); the offline bases are %s: build FROM one of them, or run where a registry answers (--images online) and cachebench copies your bases into the cluster's upstream registry",
		image, strings.Join(OfflineBaseImages(), ", "))
}
