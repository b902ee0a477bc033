package network

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/cachebench/cachebench/cluster/kube"
	"github.com/cachebench/cachebench/log"
)

// Route is one way through the proxy: pods reach Origin by the Service
// Name on Port, and the profile set for Name applies on the way.
type Route struct {
	Name   string // the Service pods use, e.g. "upstream"
	Port   int32  // its port
	Origin string // host:port of what it stands in front of
}

const name_ = "toxiproxy"

const (
	// APIPort is Toxiproxy's API, on the pod's loopback only.
	APIPort = 8474
	// FirstRoutePort is the listen port of the first route; the next ones follow.
	FirstRoutePort = 15000
)

// Proxy is Toxiproxy deployed in the cluster, with one proxy per route.
type Proxy struct {
	routes   []Route
	clients  *kube.Clients
	ns       string
	selector string // of the proxy's pod
}

// Deploy deploys Toxiproxy in ns with image, the routes' proxies from a
// config file (so that a restarted pod has them again) and a Service per
// route, and waits for it. Every route starts with no toxics: the local
// profile.
func Deploy(ctx context.Context, c *kube.Clients, ns, image string, routes []Route, l log.Logger) (*Proxy, error) {
	start := time.Now()
	type proxyConfig struct {
		Name     string `json:"name"`
		Listen   string `json:"listen"`
		Upstream string `json:"upstream"`
		Enabled  bool   `json:"enabled"`
	}
	var cfg []proxyConfig
	var ports []corev1.ContainerPort
	for i, r := range routes {
		listen := int32(FirstRoutePort + i)
		cfg = append(cfg, proxyConfig{Name: r.Name, Listen: fmt.Sprintf("0.0.0.0:%d", listen), Upstream: r.Origin, Enabled: true})
		ports = append(ports, corev1.ContainerPort{Name: fmt.Sprintf("route-%d", i), ContainerPort: listen})
	}
	config, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, err
	}
	proxy := kube.Server{
		Name: name_, Namespace: ns, Selector: kube.Labels(name_),
		// A cluster reused with other routes restarts the proxy, which
		// reads them only when it starts.
		Annotations: map[string]string{"cachebench/routes": fmt.Sprintf("%x", sha256.Sum256(config))},
		Container: corev1.Container{
			Name:  name_,
			Image: image,
			// The API listens on the pod's loopback only: the harness reaches
			// it through a port forward, which connects there, and no build
			// can change its own network profile.
			Command:        []string{"/toxiproxy", "-host=127.0.0.1", fmt.Sprintf("-port=%d", APIPort), "-config=/etc/toxiproxy/proxies.json"},
			Ports:          ports,
			ReadinessProbe: kube.TCPReady(FirstRoutePort),
			VolumeMounts:   []corev1.VolumeMount{{Name: "config", MountPath: "/etc/toxiproxy"}},
		},
		Volumes: []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: name_ + "-config"}},
		}}},
	}
	objs := []runtime.Object{&corev1.ConfigMap{ObjectMeta: kube.Meta(name_+"-config", ns), Data: map[string]string{"proxies.json": string(config)}}}
	for i, r := range routes {
		objs = append(objs, proxy.Service(r.Name, "tcp", r.Port, int32(FirstRoutePort+i)))
	}
	if err := c.Deploy(ctx, proxy, objs...); err != nil {
		return nil, fmt.Errorf("deploy toxiproxy: %w", err)
	}
	p := &Proxy{routes: routes, clients: c, ns: ns, selector: proxy.PodSelector()}
	// A reused cluster's proxy may still hold an earlier benchmark's toxics.
	set := map[string]Profile{}
	for _, r := range routes {
		set[r.Name] = Profile{Name: Local}
	}
	if err := p.Set(ctx, set); err != nil {
		return nil, err
	}
	l.Infof("network proxy ready in %s (%d routes, no toxics yet)", time.Since(start).Round(100*time.Millisecond), len(routes))
	return p, nil
}

// Set gives each route its profile, unless it has it already: the toxics
// a route holds are compared with the profile's, so that a restarted
// proxy, which has lost them, gets them again. It talks to Toxiproxy's API
// through a port forward of its own, so that nothing stays open between
// runs.
func (p *Proxy) Set(ctx context.Context, profiles map[string]Profile) error {
	local, stop, err := p.clients.PortForward(ctx, p.ns, p.selector, APIPort)
	if err != nil {
		return fmt.Errorf("connect to toxiproxy: %w", err)
	}
	defer stop()
	for name := range profiles {
		if !slices.Contains(p.Routes(), name) {
			return fmt.Errorf("network profile for %q: no such route (%s)", name, strings.Join(p.Routes(), ", "))
		}
	}
	client := toxiproxy.NewClient(fmt.Sprintf("127.0.0.1:%d", local))
	for _, r := range p.routes {
		prof, ok := profiles[r.Name]
		if !ok {
			continue
		}
		if err := set(client, r.Name, prof); err != nil {
			return err
		}
	}
	return nil
}

// Forward opens a port on this host that goes through route, with its
// profile, as the builders' connections do: for checking what a profile
// does. It returns the local port and a stop function.
func (p *Proxy) Forward(ctx context.Context, route string) (int, func(), error) {
	i := slices.Index(p.Routes(), route)
	if i < 0 {
		return 0, nil, fmt.Errorf("forward %q: no such route (%s)", route, strings.Join(p.Routes(), ", "))
	}
	return p.clients.PortForward(ctx, p.ns, p.selector, FirstRoutePort+i)
}

// Routes names the routes, in the order given to Deploy.
func (p *Proxy) Routes() []string {
	var names []string
	for _, r := range p.routes {
		names = append(names, r.Name)
	}
	return names
}

func set(client *toxiproxy.Client, route string, prof Profile) error {
	px, err := client.Proxy(route)
	if err != nil {
		return fmt.Errorf("network profile %s for %s: %w", prof, route, err)
	}
	want := prof.Toxics()
	if sameToxics(px.ActiveToxics, want) {
		return nil
	}
	for _, t := range px.ActiveToxics {
		if err := px.RemoveToxic(t.Name); err != nil {
			return fmt.Errorf("network profile %s for %s: remove toxic %s: %w", prof, route, t.Name, err)
		}
	}
	for _, t := range want {
		if _, err := px.AddToxic(t.Name, t.Type, t.Stream, t.Toxicity, t.Attributes); err != nil {
			return fmt.Errorf("network profile %s for %s: add toxic %s: %w", prof, route, t.Name, err)
		}
	}
	return nil
}

// sameToxics compares toxics as Toxiproxy returns them (attributes decoded
// from JSON) with the wanted ones.
func sameToxics(have, want []toxiproxy.Toxic) bool {
	norm := func(ts []toxiproxy.Toxic) []string {
		var out []string
		for _, t := range ts {
			attrs := map[string]float64{}
			for k, v := range t.Attributes {
				switch n := v.(type) {
				case float64:
					attrs[k] = n
				case int64:
					attrs[k] = float64(n)
				case int:
					attrs[k] = float64(n)
				}
			}
			b, _ := json.Marshal(attrs)
			out = append(out, fmt.Sprintf("%s/%s/%s/%g/%s", t.Name, t.Type, t.Stream, t.Toxicity, b))
		}
		sort.Strings(out)
		return out
	}
	return reflect.DeepEqual(norm(have), norm(want))
}
