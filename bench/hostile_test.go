package bench

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/cachebench/cachebench/cluster/gitserver"
	"github.com/cachebench/cachebench/cluster/kube"
	"github.com/cachebench/cachebench/cluster/network"
	"github.com/cachebench/cachebench/cluster/pkgcache"
	"github.com/cachebench/cachebench/cluster/registry"
	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/scenarios"
)

// hostileRound numbers the hostile build's round, apart from the plan's.
const hostileRound = 95

// hostileDockerfile builds on the smoke's base and, in a RUN instruction, makes
// every call a build must not be able to make, each beside a call to the
// same pod that it may make (the control: the pod is there, the probe
// works). The targets come as build arguments.
const hostileDockerfile = `ARG BASE_REGISTRY
FROM ${BASE_REGISTRY}/base/debian:bookworm
ARG TOXIPROXY_API
ARG TOXIPROXY_ROUTE
ARG PACKAGES_ADMIN
ARG PACKAGES_SERVE
ARG UPSTREAM_WRITABLE
ARG UPSTREAM_FRONT
ARG UPSTREAM
COPY probe.sh /probe.sh
RUN bash /probe.sh
`

// hostileProbe prints "PROBE <name> <answer>": an HTTP status line, or
// CONNECTED (a bare connect), or NONE when the connection is refused or
// nothing answers within 5 s. bash's /dev/tcp is all it needs.
const hostileProbe = `#!/bin/bash
probe() {
  local name=$1 host=${2%:*} port=${2##*:} method=$3 path=$4 answer
  answer=$(timeout 5 bash -c '
    exec 3<>"/dev/tcp/$0/$1" || exit 1
    [ "$2" = - ] && { echo CONNECTED; exit 0; }
    printf "%s %s HTTP/1.0\r\nHost: %s\r\nContent-Length: 0\r\n\r\n" "$2" "$3" "$0" >&3
    head -n1 <&3' "$host" "$port" "$method" "$path" 2>/dev/null)
  answer=${answer%$'\r'}
  echo "PROBE $name ${answer:-NONE}"
}
probe toxiproxy-api "$TOXIPROXY_API" GET /proxies
probe toxiproxy-route "$TOXIPROXY_ROUTE" GET /v2/
probe packages-admin "$PACKAGES_ADMIN" - -
probe packages-serve "$PACKAGES_SERVE" - -
probe upstream-writable "$UPSTREAM_WRITABLE" GET /v2/
probe upstream-front "$UPSTREAM_FRONT" GET /v2/
probe upstream-write "$UPSTREAM" POST /v2/hostile/blobs/uploads/
probe upstream-read "$UPSTREAM" GET /v2/
`

// hostileWant is what each probe must get from inside a build: the
// controls of the harness nothing (refused), their pods' other ports an
// answer, and the upstream registry reads but no upload.
var hostileWant = map[string]*regexp.Regexp{
	"toxiproxy-api":     regexp.MustCompile(`^NONE$`),
	"toxiproxy-route":   regexp.MustCompile(`^HTTP/1\.[01] 200 `),
	"packages-admin":    regexp.MustCompile(`^NONE$`),
	"packages-serve":    regexp.MustCompile(`^CONNECTED$`),
	"upstream-writable": regexp.MustCompile(`^NONE$`),
	"upstream-front":    regexp.MustCompile(`^HTTP/1\.[01] 200 `),
	"upstream-write":    regexp.MustCompile(`^HTTP/1\.[01] (405|503) `),
	"upstream-read":     regexp.MustCompile(`^HTTP/1\.[01] 200 `),
}

// TestCacheHostile builds a workload whose RUN instruction calls the harness's
// controls from inside the build: Toxiproxy's API (which would change its
// own network profile), the package cache's admin port (which would thaw
// it), the upstream registry's writable port and an upload through its
// front (which would change the bases later runs pull). Each must fail,
// while the same pods' ports builds use answer. The control: the same
// calls from the harness, through its port forwards, succeed: the
// controls are there, only not for builds. (TestCacheHostile, in
// cache_test.go, runs it before TestCacheLeavesNothing.)
func testHostile(t *testing.T) {
	e := session.Runner.env
	builder := session.Builders[0]
	for _, b := range session.Builders {
		if b.Name() == "kaniko" {
			builder = b // RUN instructions in the build pod's own network namespace
		}
	}
	strategy, ok := strategyNamed(builder, "none")
	if !ok {
		t.Fatalf("builder %s has no strategy none", builder.Name())
	}
	ip := func(name string) string {
		t.Helper()
		pods, err := e.Clients.Kube.CoreV1().Pods(e.Namespace).List(suiteCtx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(kube.Labels(name)).String()})
		if err != nil || len(pods.Items) == 0 || pods.Items[0].Status.PodIP == "" {
			t.Fatalf("the %s pod's address: %v (%d pods)", name, err, len(pods.Items))
		}
		return pods.Items[0].Status.PodIP
	}
	upstream := registry.Upstream.Name()
	args := []string{
		fmt.Sprintf("TOXIPROXY_API=%s:%d", ip("toxiproxy"), network.APIPort),
		fmt.Sprintf("TOXIPROXY_ROUTE=%s:%d", ip("toxiproxy"), network.FirstRoutePort), // upstream's
		fmt.Sprintf("UPSTREAM_WRITABLE=%s:%d", ip(upstream), registry.Port),
		fmt.Sprintf("UPSTREAM_FRONT=%s:%d", ip(upstream), registry.ReadOnlyPort),
		"UPSTREAM=" + e.Upstream.Host,
	}
	want := maps.Clone(hostileWant)
	if e.Packages != nil {
		args = append(args, fmt.Sprintf("PACKAGES_ADMIN=%s:%d", ip("packages"), pkgcache.AdminPort), fmt.Sprintf("PACKAGES_SERVE=%s:%d", ip("packages"), pkgcache.ListenPort))
	} else {
		delete(want, "packages-admin")
		delete(want, "packages-serve")
	}
	w := scenarios.Workload{
		Name: "hostile", Description: "RUN instructions that call the harness's controls",
		Files:      fstest.MapFS{"Dockerfile": {Data: []byte(hostileDockerfile)}, "probe.sh": {Data: []byte(hostileProbe)}},
		Dockerfile: "Dockerfile", Context: ".", Bases: []string{"debian"}, BuildArgs: args,
	}
	if _, err := e.Git.Add(suiteCtx, gitserver.Repo{Name: w.Name, Files: w.Files}); err != nil {
		t.Fatal(err)
	}
	plannedRun := PlannedRun{Workload: w, Change: scenarios.ChangeNone, Network: session.Networks[0], Builder: builder, Strategy: strategy, Round: hostileRound, Cache: results.Cold}
	runs, err := session.Runner.Do(suiteCtx, plannedRun)
	if err != nil {
		t.Fatal(err)
	}
	run := runs[len(runs)-1]
	if !run.Success || run.BuildLogFile == "" {
		t.Fatalf("the hostile build failed: %s %s", run.Reason, run.LogTail)
	}
	log, err := os.ReadFile(filepath.Join(session.ResultsDir(), run.BuildLogFile))
	if err != nil {
		t.Fatal(err)
	}
	got := probeAnswers(string(log))
	for name, re := range want {
		answer, ok := got[name]
		switch {
		case !ok:
			t.Errorf("probe %s: not in the build's log", name)
		case !re.MatchString(answer):
			t.Errorf("probe %s from inside a build: %q, want %s", name, answer, re)
		default:
			t.Logf("probe %s from inside a build: %s", name, answer)
		}
	}

	// The control: from the harness, each of those calls succeeds.
	calls := []struct {
		name, selector string
		port           int
		method, path   string
		status         int
	}{
		{"Toxiproxy's API", labels.SelectorFromSet(kube.Labels("toxiproxy")).String(), network.APIPort, http.MethodGet, "/proxies", http.StatusOK},
		{"the upstream registry's writable port (an upload)", e.Upstream.PodSelector(), registry.Port, http.MethodPost, "/v2/hostile/blobs/uploads/", http.StatusAccepted},
	}
	if e.Packages != nil {
		calls = append(calls, struct {
			name, selector string
			port           int
			method, path   string
			status         int
		}{"the package cache's admin port", labels.SelectorFromSet(kube.Labels("packages")).String(), pkgcache.AdminPort, http.MethodGet, "/healthz", http.StatusOK})
	}
	for _, c := range calls {
		local, stop, err := e.Clients.PortForward(suiteCtx, e.Namespace, c.selector, c.port)
		if err != nil {
			t.Errorf("the harness's port forward to %s: %v", c.name, err)
			continue
		}
		req, _ := http.NewRequestWithContext(suiteCtx, c.method, fmt.Sprintf("http://localhost:%d%s", local, c.path), nil)
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Errorf("the harness's %s %s on %s: %v", c.method, c.path, c.name, err)
		} else {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Errorf("the harness's %s %s on %s: %s, want %d", c.method, c.path, c.name, resp.Status, c.status)
			} else {
				t.Logf("from the harness, %s %s on %s: %s", c.method, c.path, c.name, resp.Status)
			}
		}
		stop()
	}
}

// probeAnswers reads the "PROBE <name> <answer>" lines of a build's log.
func probeAnswers(log string) map[string]string {
	got := map[string]string{}
	for _, line := range strings.Split(log, "\n") {
		i := strings.Index(line, "PROBE ")
		if i < 0 {
			continue
		}
		name, answer, _ := strings.Cut(strings.TrimSpace(line[i+len("PROBE "):]), " ")
		got[name] = answer
	}
	return got
}
