package images

import (
	"fmt"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/cachebench/cachebench/versions"
)

// CgroupV2 reports whether this host runs cgroup v2 (the unified hierarchy).
func CgroupV2() bool {
	_, err := os.Stat("/sys/fs/cgroup/cgroup.controllers")
	return err == nil
}

// OnlineNodeImage picks the kind node image of an online run from those
// kind v0.33.0 published (versions.KindNodeImages), by digest: the one of
// Kubernetes version k8s when it is given, else kind's default on a cgroup
// v2 host and the newest 1.34 on a cgroup v1 host, where 1.35 and later do
// not boot. A version kind did not publish is refused, with those it did.
func OnlineNodeImage(k8s string, cgroupV2 bool) (string, error) {
	tags := map[string]string{}
	var published []string
	for _, img := range versions.KindNodeImages {
		if _, err := name.NewDigest(img); err != nil {
			return "", fmt.Errorf("node image %s: %w", img, err)
		}
		ref, _, _ := strings.Cut(img, "@")
		tag := ref[strings.LastIndex(ref, ":")+1:]
		tags[tag] = img
		published = append(published, tag)
	}
	switch {
	case k8s == "" && cgroupV2:
		return versions.KindNodeImages[0], nil
	case k8s == "":
		for _, img := range versions.KindNodeImages {
			if strings.Contains(img, ":v1.34.") {
				return img, nil
			}
		}
		return "", fmt.Errorf("kind %s publishes no Kubernetes 1.34 node image, the newest a cgroup v1 host runs: give --node-image (kind build node-image --type release v1.34.x makes one)", versions.Kind)
	}
	if img, ok := tags[k8s]; ok {
		return img, nil
	}
	return "", fmt.Errorf("--kubernetes-version %s: kind %s publishes node images for %s only (kind promises no other to work with it); pick one of them, or build one (kind build node-image --type release %s) and give it as --node-image",
		k8s, versions.Kind, strings.Join(published, ", "), k8s)
}
