package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// syncBuffer collects the server's log lines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines(t *testing.T) []LogLine {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []LogLine
	sc := bufio.NewScanner(bytes.NewReader(s.b.Bytes()))
	for sc.Scan() {
		var l LogLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	s.b.Reset()
	return out
}

func TestServer(t *testing.T) {
	var upstreamHits sync.Map
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.URL.RequestURI() + " " + r.Header.Get("Accept")
		n, _ := upstreamHits.LoadOrStore(key, new(int))
		*n.(*int)++
		switch {
		case strings.HasSuffix(r.URL.Path, "/missing"):
			http.NotFound(w, r)
		case strings.Contains(r.Header.Get("Accept"), "install-v1"):
			w.Header().Set("Content-Type", "application/vnd.npm.install-v1+json")
			io.WriteString(w, `{"abbreviated":true}`)
		default:
			w.Header().Set("Content-Type", "application/octet-stream")
			io.WriteString(w, "body of "+r.URL.Path)
		}
	}))
	defer upstream.Close()
	logs := &syncBuffer{}
	s, err := New(Config{CacheDir: t.TempDir(), GoUpstream: upstream.URL + "/goproxy", NPMUpstream: upstream.URL + "/npm"}, logs)
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(s)
	defer front.Close()
	proxyURL, _ := url.Parse(front.URL)
	viaProxy := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)}}
	tagged, _ := url.Parse(front.URL)
	tagged.User = url.User("round-7")
	viaTaggedProxy := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(tagged)}}

	get := func(c *http.Client, u, accept string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	const corgi = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"
	tests := []struct {
		name     string
		client   *http.Client
		url      string
		accept   string
		freeze   bool
		status   int
		body     string
		kind     string
		result   string
		upstream string // the URL upstream saw
		tag      string // the tag logged
	}{
		{name: "go module fills", url: front.URL + "/_go/example.com/m/@v/v1.0.0.zip", status: 200, body: "body of /goproxy/example.com/m/@v/v1.0.0.zip", kind: KindGo, result: Fill, upstream: upstream.URL + "/goproxy/example.com/m/@v/v1.0.0.zip"},
		{name: "go module hits", url: front.URL + "/_go/example.com/m/@v/v1.0.0.zip", status: 200, body: "body of /goproxy/example.com/m/@v/v1.0.0.zip", kind: KindGo, result: Hit, upstream: upstream.URL + "/goproxy/example.com/m/@v/v1.0.0.zip"},
		{name: "checksum database goes to the module proxy", url: front.URL + "/_go/sumdb/sum.golang.org/supported", status: 200, body: "body of /goproxy/sumdb/sum.golang.org/supported", kind: KindGo, result: Fill, upstream: upstream.URL + "/goproxy/sumdb/sum.golang.org/supported"},
		{name: "npm tarball", url: front.URL + "/left-pad/-/left-pad-1.3.0.tgz", status: 200, body: "body of /npm/left-pad/-/left-pad-1.3.0.tgz", kind: KindNPM, result: Fill, upstream: upstream.URL + "/npm/left-pad/-/left-pad-1.3.0.tgz"},
		{name: "npm abbreviated metadata is its own entry", url: front.URL + "/left-pad", accept: corgi, status: 200, body: `{"abbreviated":true}`, kind: KindNPM, result: Fill, upstream: upstream.URL + "/npm/left-pad"},
		{name: "npm full metadata", url: front.URL + "/left-pad", status: 200, body: "body of /npm/left-pad", kind: KindNPM, result: Fill, upstream: upstream.URL + "/npm/left-pad"},
		{name: "apt through the forward proxy", client: viaProxy, url: upstream.URL + "/debian/dists/bookworm/InRelease", status: 200, body: "body of /debian/dists/bookworm/InRelease", kind: KindHTTP, result: Fill, upstream: upstream.URL + "/debian/dists/bookworm/InRelease"},
		{name: "a 404 passes and is not kept", url: front.URL + "/_go/example.com/m/@v/missing", status: 404, kind: KindGo, result: Pass, upstream: upstream.URL + "/goproxy/example.com/m/@v/missing"},
		{name: "frozen serves what it holds", freeze: true, client: viaProxy, url: upstream.URL + "/debian/dists/bookworm/InRelease", status: 200, body: "body of /debian/dists/bookworm/InRelease", kind: KindHTTP, result: Hit, upstream: upstream.URL + "/debian/dists/bookworm/InRelease"},
		{name: "a tagged go request hits what an untagged one kept", url: front.URL + "/_t/round-7/_go/example.com/m/@v/v1.0.0.zip", status: 200, body: "body of /goproxy/example.com/m/@v/v1.0.0.zip", kind: KindGo, result: Hit, upstream: upstream.URL + "/goproxy/example.com/m/@v/v1.0.0.zip", tag: "round-7"},
		{name: "a tagged npm scoped name keeps its escape", url: front.URL + "/_t/round-7/@types%2fnode", status: 200, body: "body of /npm/@types/node", kind: KindNPM, result: Fill, upstream: upstream.URL + "/npm/@types%2fnode", tag: "round-7"},
		{name: "apt names its tag as the proxy's user", client: viaTaggedProxy, url: upstream.URL + "/debian/dists/bookworm/InRelease", status: 200, body: "body of /debian/dists/bookworm/InRelease", kind: KindHTTP, result: Hit, upstream: upstream.URL + "/debian/dists/bookworm/InRelease", tag: "round-7"},
		{name: "a tag that is no word is not one", url: front.URL + "/_t/Round%207/left-pad", status: 200, body: "body of /npm/_t/Round 7/left-pad", kind: KindNPM, result: Fill, upstream: upstream.URL + "/npm/_t/Round%207/left-pad"},
		{name: "frozen refuses a miss", freeze: true, url: front.URL + "/_go/example.com/m/@v/v2.0.0.zip", status: 404, kind: KindGo, result: Refused, upstream: upstream.URL + "/goproxy/example.com/m/@v/v2.0.0.zip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Freeze(tt.freeze); err != nil {
				t.Fatal(err)
			}
			c := tt.client
			if c == nil {
				c = http.DefaultClient
			}
			status, body := get(c, tt.url, tt.accept)
			if status != tt.status {
				t.Errorf("status %d, want %d (%s)", status, tt.status, body)
			}
			if tt.body != "" && body != tt.body {
				t.Errorf("body %q, want %q", body, tt.body)
			}
			lines := logs.lines(t)
			if len(lines) != 1 {
				t.Fatalf("log lines %+v, want one", lines)
			}
			l := lines[0]
			if l.Kind != tt.kind || l.Result != tt.result || l.Status != tt.status || l.URL != tt.upstream || l.Tag != tt.tag {
				t.Errorf("logged %+v, want kind %s result %s status %d url %s tag %q", l, tt.kind, tt.result, tt.status, tt.upstream, tt.tag)
			}
			if tt.status == 200 && l.Bytes != int64(len(body)) {
				t.Errorf("logged %d bytes, served %d", l.Bytes, len(body))
			}
		})
	}
	// Every kept answer was fetched once only.
	upstreamHits.Range(func(k, v any) bool {
		if n := *v.(*int); n > 1 && !strings.HasSuffix(k.(string), "missing ") {
			t.Errorf("upstream asked %d times for %s", n, k)
		}
		return true
	})
}

func TestFrozenSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s, err := New(Config{CacheDir: dir}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Freeze(true); err != nil {
		t.Fatal(err)
	}
	again, err := New(Config{CacheDir: dir}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Frozen() {
		t.Error("a restarted cache forgot it was frozen")
	}
	if err := again.Freeze(false); err != nil {
		t.Fatal(err)
	}
	if third, _ := New(Config{CacheDir: dir}, io.Discard); third.Frozen() {
		t.Error("a thawed cache came back frozen")
	}
}

func TestConnectRefused(t *testing.T) {
	logs := &syncBuffer{}
	s, err := New(Config{CacheDir: t.TempDir()}, logs)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodConnect, "registry.npmjs.org:443", nil))
	if rec.Code != http.StatusMethodNotAllowed || !strings.Contains(rec.Body.String(), "http://") {
		t.Errorf("CONNECT: %d %q", rec.Code, rec.Body.String())
	}
	if l := logs.lines(t); len(l) != 1 || l[0].Result != Refused {
		t.Errorf("logged %+v", l)
	}
}

// TestConcurrentRequestsFetchOnce: requests for one answer that arrive
// while it is being fetched wait for that fetch, and are served its bytes,
// rather than each asking upstream (apt in several root filesystems at once
// asks for the same packages).
func TestConcurrentRequestsFetchOnce(t *testing.T) {
	var asked atomic.Int32
	release := make(chan struct{})
	body := strings.Repeat("deb ", 1<<16)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		<-release // every request is in before the first answer comes
		io.WriteString(w, body)
	}))
	defer upstream.Close()
	logs := &syncBuffer{}
	s, err := New(Config{CacheDir: t.TempDir()}, logs)
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(s)
	defer front.Close()
	proxyURL, _ := url.Parse(front.URL)
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)}}
	const n = 8
	var wg sync.WaitGroup
	got := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Get(upstream.URL + "/debian/pool/main/h/hello/hello_2.10-3_amd64.deb")
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			got[i] = string(b)
		}()
	}
	// Wait until every request has reached the cache, then let upstream answer.
	deadline := time.Now().Add(5 * time.Second)
	for s.waiting() < n-1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	wg.Wait()
	if a := asked.Load(); a != 1 {
		t.Errorf("upstream asked %d times for one package, want once", a)
	}
	for i, b := range got {
		if b != body {
			t.Errorf("request %d got %d bytes, want %d", i, len(b), len(body))
		}
	}
	var fills, hits int
	for _, l := range logs.lines(t) {
		switch l.Result {
		case Fill:
			fills++
		case Hit:
			hits++
		}
	}
	if fills != 1 || hits != n-1 {
		t.Errorf("logged %d fills and %d hits, want 1 and %d", fills, hits, n-1)
	}
}

func TestLogHidesCredentials(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer upstream.Close()
	logs := &syncBuffer{}
	dir := t.TempDir()
	s, err := New(Config{CacheDir: dir}, logs)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(upstream.URL)
	u.User = url.UserPassword("builder", "s3cret")
	u.Path = "/debian/dists/bookworm/InRelease"
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, u.String(), nil))
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
	}
	l := logs.lines(t)
	if len(l) != 1 || strings.Contains(l[0].URL, "s3cret") || !strings.Contains(l[0].URL, "builder") {
		t.Errorf("logged %+v: the password must not be in it", l)
	}
	metas, _ := filepath.Glob(filepath.Join(dir, "objects", "*", "*.json"))
	for _, m := range metas {
		if b, _ := os.ReadFile(m); strings.Contains(string(b), "s3cret") {
			t.Errorf("%s holds the password: %s", m, b)
		}
	}
}

// TestSizeLimit: an answer that would take the cache past its limit is
// refused with 507, saying so and naming the limit, and nothing of it is
// kept; what a restarted cache finds kept counts against the limit.
func TestSizeLimit(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", 60))
	}))
	defer upstream.Close()
	dir := t.TempDir()
	logs := &syncBuffer{}
	s, err := New(Config{CacheDir: dir, MaxBytes: 100}, logs)
	if err != nil {
		t.Fatal(err)
	}
	get := func(s *Server, path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, upstream.URL+path, nil))
		return rec
	}
	if rec := get(s, "/pool/a.deb"); rec.Code != http.StatusOK {
		t.Fatalf("the first answer, within the limit: %d %q", rec.Code, rec.Body.String())
	}
	rec := get(s, "/pool/b.deb")
	if rec.Code != http.StatusInsufficientStorage || !strings.Contains(rec.Body.String(), "limit of 100 bytes") || !strings.Contains(rec.Body.String(), "-max-bytes") {
		t.Errorf("past the limit: %d %q", rec.Code, rec.Body.String())
	}
	if l := logs.lines(t); len(l) != 2 || l[0].Result != Fill || l[1].Result != Failed || l[1].Status != http.StatusInsufficientStorage {
		t.Errorf("logged %+v", l)
	}
	if rec := get(s, "/pool/a.deb"); rec.Code != http.StatusOK || rec.Header().Get("X-Package-Cache") != Hit {
		t.Errorf("what was kept is served: %d %q", rec.Code, rec.Header().Get("X-Package-Cache"))
	}
	again, err := New(Config{CacheDir: dir, MaxBytes: 100}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if rec := get(again, "/pool/b.deb"); rec.Code != http.StatusInsufficientStorage {
		t.Errorf("a restarted cache forgot what it keeps: %d", rec.Code)
	}
}
