// Package pkgcache deploys the package cache that build steps download
// apt packages, Go modules and npm packages through when a benchmark
// proxies packages, switches it between filling and frozen, and counts
// each run's package traffic from its log. The cache itself is
// pkgcache/server.
package pkgcache

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/cachebench/cachebench/cluster/kube"
	"github.com/cachebench/cachebench/internal/pkgcache/server"
	"github.com/cachebench/cachebench/log"
	"github.com/cachebench/cachebench/measure"
	"github.com/cachebench/cachebench/results"
)

const (
	// Name is the Service build steps reach the cache by: the network
	// proxy's route, under the upstream registry's profile, since the
	// packages stand for what is downloaded from afar.
	Name = "packages"
	// Port is the Service's port, plain http's, so that URLs need none.
	Port = 80

	// ListenPort is the server's port in its pod, behind the Service's.
	ListenPort = 8080
	// AdminPort takes the freeze and thaw requests, on the pod's loopback only.
	AdminPort = 8081

	origin   = Name + "-origin"
	cacheDir = "/var/cache/packages"
)

// Host is the name build steps reach the cache by, on port 80.
func Host(ns string) string { return fmt.Sprintf("%s.%s.svc.cluster.local", Name, ns) }

// OriginHost is the cache's own Service, which the network proxy
// forwards to.
func OriginHost(ns string) string {
	return fmt.Sprintf("%s.%s.svc.cluster.local:%d", origin, ns, Port)
}

// Env is what a base image's configuration carries in proxied mode, so
// that every RUN instruction's package managers use the cache, whatever the
// builder and without a change to the Dockerfile: apt through http_proxy
// (the bases' apt sources are plain http), Go through GOPROXY (with no
// "direct", so a miss fails instead of reaching a VCS host), npm through
// its registry setting. no_proxy keeps Go and npm from sending their
// requests to the cache's proxy endpoint instead of its own. A tag, when
// given, is sent with every request (see server.TagPrefix), so that the
// requests of the builds whose bases carry it can be told from others'.
func Env(ns, tag string) []string {
	h := Host(ns)
	proxy, prefix := h, ""
	if tag != "" {
		proxy, prefix = tag+"@"+h, strings.TrimSuffix(server.TagPrefix, "/")+"/"+tag
	}
	return []string{
		"http_proxy=http://" + proxy,
		"no_proxy=" + h,
		"GOPROXY=http://" + h + prefix + strings.TrimSuffix(server.GoPrefix, "/"),
		"npm_config_registry=http://" + h + prefix + "/",
	}
}

// Cache is the deployed package cache.
type Cache struct {
	clients  *kube.Clients
	ns       string
	selector string // of the cache's pod
	Host     string
}

// Deploy deploys the package cache in ns with image and waits for it.
// caConfigMap, when set, names a ConfigMap whose key caKey is the CA
// bundle the cache trusts on its way to the upstreams (a host behind a
// TLS-inspecting egress). Its storage outlives a restart of the container,
// not of the pod; a benchmark fills it again (Fill) anyway.
func Deploy(ctx context.Context, c *kube.Clients, ns, image, caConfigMap, caKey string, l log.Logger) (*Cache, error) {
	start := time.Now()
	mounts := []corev1.VolumeMount{{Name: "cache", MountPath: cacheDir}}
	volumes := []corev1.Volume{{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	if caConfigMap != "" {
		mounts = append(mounts, corev1.VolumeMount{Name: "ca", MountPath: "/etc/ssl/certs/ca-certificates.crt", SubPath: caKey, ReadOnly: true})
		volumes = append(volumes, corev1.Volume{Name: "ca", VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: caConfigMap}},
		}})
	}
	cache := kube.Server{
		Name: Name, Namespace: ns, Selector: kube.Labels(Name),
		Container: corev1.Container{
			Name:  Name,
			Image: image,
			// The admin endpoints (freeze, thaw) listen on the pod's loopback
			// only: the harness reaches them through a port forward, which
			// connects there; no build can unfreeze the cache.
			Args:           []string{fmt.Sprintf("-listen=:%d", ListenPort), fmt.Sprintf("-admin=127.0.0.1:%d", AdminPort), "-cache-dir=" + cacheDir},
			Ports:          []corev1.ContainerPort{{Name: "packages", ContainerPort: ListenPort}},
			ReadinessProbe: kube.TCPReady(ListenPort),
			VolumeMounts:   mounts,
		},
		Volumes: volumes,
	}
	if err := c.Deploy(ctx, cache, cache.Service(origin, "http", Port, ListenPort)); err != nil {
		return nil, fmt.Errorf("deploy package cache: %w", err)
	}
	l.Infof("package cache ready in %s", time.Since(start).Round(100*time.Millisecond))
	return &Cache{clients: c, ns: ns, selector: cache.PodSelector(), Host: Host(ns)}, nil
}

// Freeze switches the cache to answering only from what it holds (on),
// or to filling itself from the upstreams again (off).
func (c *Cache) Freeze(ctx context.Context, on bool) error {
	what := map[bool]string{true: "freeze", false: "thaw"}[on]
	if _, err := c.admin(ctx, http.MethodPost, "/"+what); err != nil {
		return fmt.Errorf("%s the package cache: %w", what, err)
	}
	return nil
}

// Frozen reports whether the cache answers only from what it holds: a
// cache frozen once and found thawed has lost its store (its pod replaced,
// which starts empty and filling).
func (c *Cache) Frozen(ctx context.Context) (bool, error) {
	body, err := c.admin(ctx, http.MethodGet, "/healthz")
	switch {
	case err != nil:
		return false, fmt.Errorf("ask the package cache whether it is frozen: %w", err)
	case bytes.Contains(body, []byte("frozen=true")):
		return true, nil
	case bytes.Contains(body, []byte("frozen=false")):
		return false, nil
	}
	return false, fmt.Errorf("ask the package cache whether it is frozen: it answered %q", body)
}

// admin sends a request to the cache's admin endpoint, through a port
// forward to its pod, and returns the answer's body, trimmed; an answer
// other than 200 is an error.
func (c *Cache) admin(ctx context.Context, method, path string) ([]byte, error) {
	local, stop, err := c.clients.PortForward(ctx, c.ns, c.selector, AdminPort)
	if err != nil {
		return nil, err
	}
	defer stop()
	req, err := http.NewRequestWithContext(ctx, method, fmt.Sprintf("http://127.0.0.1:%d%s", local, path), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	body = bytes.TrimSpace(body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", resp.Status, body)
	}
	return body, nil
}

// Traffic counts what build steps asked of the cache between from and to,
// from its log (one line a request, with the kubelet's timestamps): those
// with tag only, when one is given.
func (c *Cache) Traffic(ctx context.Context, from, to time.Time, tag string) (results.PackageTraffic, error) {
	log, err := c.clients.LogsSince(ctx, c.ns, c.selector, Name, from.Add(-time.Second))
	if err != nil {
		return results.PackageTraffic{}, fmt.Errorf("package cache: %w", err)
	}
	return Tally(measure.ParseTimestamped(log), from, to, tag), nil
}

// Tally counts the requests logged between from and to, those with tag
// only when one is given.
func Tally(lines []measure.LogLine, from, to time.Time, tag string) results.PackageTraffic {
	var t results.PackageTraffic
	for _, l := range lines {
		if l.Time.Before(from) || l.Time.After(to) {
			continue
		}
		var ll server.LogLine
		if json.Unmarshal([]byte(l.Text), &ll) != nil || ll.Kind == "" || (tag != "" && ll.Tag != tag) {
			continue
		}
		t.Requests++
		switch ll.Result {
		case server.Hit:
			t.Hits++
		case server.Fill, server.Pass:
			t.Upstream++
		case server.Refused, server.Failed:
			t.Refused++
			if len(t.RefusedURLs) < 5 {
				t.RefusedURLs = append(t.RefusedURLs, ll.URL)
			}
		}
		t.Bytes += ll.Bytes
	}
	return t
}
