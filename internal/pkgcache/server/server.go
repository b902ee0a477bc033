// Package server is the package cache that build steps' package managers
// download through when a benchmark runs with proxied packages: apt as an
// HTTP proxy (http_proxy), Go modules as a module proxy (GOPROXY under
// GoPrefix) and npm as a registry (npm_config_registry). It fills itself
// from the real upstreams until it is frozen; from then on it answers only
// from what it holds, so that every measured run downloads the same bytes
// and a miss fails at once instead of reaching the internet.
//
// It uses the standard library only: cachebench compiles this file, from
// its own copy (Source), into the package cache's image, online and
// offline alike.
package server

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// GoPrefix is the path under which Go's module proxy protocol is served
// (GOPROXY=http://<host>/_go); every other origin-form path is npm's. npm
// package names cannot start with "_", so the two never meet.
const GoPrefix = "/_go/"

// TagPrefix begins the path of a request that says who asks:
// /_t/<tag>/ before the Go or npm path (GOPROXY, npm's registry). apt,
// which reaches the cache as its proxy, says it as the proxy's user name
// (http_proxy=http://<tag>@host). The tag is logged with the request, so
// that runs side by side can each count their own; it is no part of what
// is fetched or kept.
const TagPrefix = "/_t/"

// Results of a request, as logged.
const (
	Hit     = "hit"     // served from the cache
	Fill    = "fill"    // fetched from upstream and kept
	Pass    = "pass"    // fetched from upstream, not kept (not a 200 GET)
	Refused = "refused" // frozen and not in the cache, or a method not served
	Failed  = "failed"  // upstream could not be reached
)

// Kinds of request, as logged.
const (
	KindHTTP = "http" // forward proxy: apt and anything else over plain http
	KindGo   = "go"
	KindNPM  = "npm"
)

// DefaultMaxBytes bounds, unless told otherwise, what the cache keeps on
// its node's disk (an emptyDir): 10 GiB.
const DefaultMaxBytes = 10 << 30

// Config is how a Server runs.
type Config struct {
	CacheDir string
	// GoUpstream and NPMUpstream are the real module proxy and registry.
	GoUpstream  string
	NPMUpstream string
	// MaxBytes limits what the cache keeps (0: no limit): an answer that
	// would take it past the limit is refused with 507, saying so, rather
	// than filling the node's disk.
	MaxBytes int64
}

// Server is the package cache.
type Server struct {
	cfg    Config
	client *http.Client
	frozen atomic.Bool
	log    io.Writer

	// filling holds, per key being fetched from upstream, a channel closed
	// when that fetch ends: a second request for the same answer waits for
	// it instead of fetching it again.
	mu      sync.Mutex
	filling map[string]chan struct{}
	waiters atomic.Int32
	// stored is the bytes of the answers kept.
	stored atomic.Int64
}

// LogLine is what the server prints for every request, one JSON object a
// line, for the harness to count each run's package traffic.
type LogLine struct {
	Kind   string `json:"kind"`
	Result string `json:"result"`
	Status int    `json:"status"`
	Bytes  int64  `json:"bytes"`
	URL    string `json:"url"`
	Tag    string `json:"tag,omitempty"`
}

// frozenMarker in the cache directory keeps the frozen state across a
// restart of the container.
const frozenMarker = "FROZEN"

// New returns a Server over cfg.CacheDir, frozen if it was when it stopped.
func New(cfg Config, logTo io.Writer) (*Server, error) {
	if err := os.MkdirAll(filepath.Join(cfg.CacheDir, "objects"), 0o755); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, client: &http.Client{Timeout: 10 * time.Minute}, log: logTo, filling: map[string]chan struct{}{}}
	if _, err := os.Stat(filepath.Join(cfg.CacheDir, frozenMarker)); err == nil {
		s.frozen.Store(true)
	}
	// What a restarted container finds kept counts against the limit.
	err := filepath.WalkDir(filepath.Join(cfg.CacheDir, "objects"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		if e, ok := readEntry(p); ok {
			s.stored.Add(e.Size)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Freeze switches the cache to serving only what it holds (on) or to
// filling itself again (off).
func (s *Server) Freeze(on bool) error {
	marker := filepath.Join(s.cfg.CacheDir, frozenMarker)
	if on {
		if err := os.WriteFile(marker, nil, 0o644); err != nil {
			return err
		}
	} else if err := os.Remove(marker); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	s.frozen.Store(on)
	return nil
}

// Frozen says whether the cache serves only what it holds.
func (s *Server) Frozen() bool { return s.frozen.Load() }

// untag takes the tag a request carries (see TagPrefix) off it and
// returns it: from an origin-form path, its prefix, removed; from a proxy
// request, the proxy credentials' user name.
func untag(r *http.Request) string {
	if r.URL.IsAbs() {
		user, _, ok := parseProxyAuth(r.Header.Get("Proxy-Authorization"))
		if !ok || !validTag(user) {
			return ""
		}
		return user
	}
	rest, ok := strings.CutPrefix(r.URL.Path, TagPrefix)
	if !ok {
		return ""
	}
	tag, path, ok := strings.Cut(rest, "/")
	if !ok || !validTag(tag) {
		return ""
	}
	r.URL.Path = "/" + path
	if r.URL.RawPath != "" {
		// An escaped path (npm's scoped names: @scope%2fname) keeps its
		// escapes; the tag's characters need none.
		r.URL.RawPath = strings.TrimPrefix(r.URL.RawPath, TagPrefix+tag)
	}
	return tag
}

// validTag: lower-case letters, digits and '-', as the harness makes them,
// so that a tag is a plain word in a URL, a user name and the log.
func validTag(t string) bool {
	return t != "" && len(t) <= 63 && strings.Trim(t, "abcdefghijklmnopqrstuvwxyz0123456789-") == ""
}

// parseProxyAuth reads Basic credentials, as http.Request.BasicAuth does
// for the Authorization header.
func parseProxyAuth(h string) (user, password string, ok bool) {
	r := http.Request{Header: http.Header{"Authorization": {h}}}
	return r.BasicAuth()
}

// target is where a request goes upstream, and under which key its answer
// is kept.
func (s *Server) target(r *http.Request) (kind, url, key string) {
	switch {
	case r.URL.IsAbs():
		kind, url = KindHTTP, r.URL.String()
	case strings.HasPrefix(r.URL.Path, GoPrefix):
		kind, url = KindGo, strings.TrimSuffix(s.cfg.GoUpstream, "/")+"/"+strings.TrimPrefix(r.URL.RequestURI(), GoPrefix)
	default:
		kind, url = KindNPM, strings.TrimSuffix(s.cfg.NPMUpstream, "/")+r.URL.RequestURI()
	}
	key = kind + " " + url
	// npm answers a package's metadata in two forms, by Accept.
	if kind == KindNPM && strings.Contains(r.Header.Get("Accept"), "application/vnd.npm.install-v1+json") {
		key += " abbreviated"
	}
	return kind, url, key
}

// entry is what is kept beside a cached body.
type entry struct {
	URL         string `json:"url"`
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
}

func (s *Server) paths(key string) (body, meta string) {
	sum := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(sum[:])
	dir := filepath.Join(s.cfg.CacheDir, "objects", h[:2])
	return filepath.Join(dir, h), filepath.Join(dir, h+".json")
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tag := untag(r)
	kind, url, key := s.target(r)
	line := LogLine{Kind: kind, URL: redact(url), Tag: tag}
	defer func() {
		b, _ := json.Marshal(line)
		fmt.Fprintf(s.log, "%s\n", b)
	}()
	if r.Method == http.MethodConnect {
		line.Result, line.Status = Refused, http.StatusMethodNotAllowed
		line.URL = "https://" + r.Host
		http.Error(w, "the package cache does not tunnel https: use http:// package sources (apt), or its Go and npm endpoints", line.Status)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		line.Result, line.Status = Refused, http.StatusMethodNotAllowed
		http.Error(w, "the package cache serves GET and HEAD only", line.Status)
		return
	}
	bodyPath, metaPath := s.paths(key)
	for {
		if e, ok := readEntry(metaPath); ok {
			line.Result, line.Status = Hit, http.StatusOK
			line.Bytes = serveFile(w, r, bodyPath, e)
			return
		}
		if s.Frozen() {
			line.Result, line.Status = Refused, http.StatusNotFound
			http.Error(w, "not in the package cache, which is frozen (filled before the benchmark's runs): "+redact(url), line.Status)
			return
		}
		done, first := s.startFill(key)
		if first {
			line.Result, line.Status, line.Bytes = s.fetch(w, r, url, bodyPath, metaPath)
			s.endFill(key, done)
			return
		}
		// Another request fetches this answer: take it from the cache once
		// kept, or fetch it here if that request kept nothing.
		s.waiters.Add(1)
		select {
		case <-done:
			s.waiters.Add(-1)
		case <-r.Context().Done():
			s.waiters.Add(-1)
			line.Result, line.Status = Failed, http.StatusServiceUnavailable
			return
		}
	}
}

// startFill says whether this request is the first to fetch key, and
// returns the channel closed when the fetch under way ends.
func (s *Server) startFill(key string) (done chan struct{}, first bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch, ok := s.filling[key]; ok {
		return ch, false
	}
	ch := make(chan struct{})
	s.filling[key] = ch
	return ch, true
}

// waiting counts the requests waiting for another's fetch (for tests).
func (s *Server) waiting() int {
	return int(s.waiters.Load())
}

func (s *Server) endFill(key string, done chan struct{}) {
	s.mu.Lock()
	delete(s.filling, key)
	s.mu.Unlock()
	close(done)
}

// redact hides a password in a URL, so that credentials never reach the log.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}

func readEntry(metaPath string) (entry, bool) {
	b, err := os.ReadFile(metaPath)
	if err != nil {
		return entry{}, false
	}
	var e entry
	if json.Unmarshal(b, &e) != nil {
		return entry{}, false
	}
	return e, true
}

func serveFile(w http.ResponseWriter, r *http.Request, path string, e entry) int64 {
	f, err := os.Open(path)
	if err != nil {
		http.Error(w, "package cache: "+err.Error(), http.StatusInternalServerError)
		return 0
	}
	defer f.Close()
	if e.ContentType != "" {
		w.Header().Set("Content-Type", e.ContentType)
	}
	w.Header().Set("Content-Length", fmt.Sprint(e.Size))
	w.Header().Set("X-Package-Cache", Hit)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return 0
	}
	n, _ := io.Copy(w, f)
	return n
}

// fetch answers from upstream, keeping a complete 200 answer to a GET.
func (s *Server) fetch(w http.ResponseWriter, r *http.Request, url, bodyPath, metaPath string) (string, int, int64) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, url, nil)
	if err != nil {
		http.Error(w, "package cache: "+err.Error(), http.StatusBadRequest)
		return Failed, http.StatusBadRequest, 0
	}
	if a := r.Header.Get("Accept"); a != "" {
		req.Header.Set("Accept", a)
	}
	req.Header.Set("User-Agent", "cachebench-package-cache")
	resp, err := s.client.Do(req)
	if err != nil {
		http.Error(w, "package cache: upstream: "+err.Error(), http.StatusBadGateway)
		return Failed, http.StatusBadGateway, 0
	}
	defer resp.Body.Close()
	for _, h := range []string{"Content-Type", "Content-Length", "Last-Modified"} {
		if v := resp.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	if resp.StatusCode != http.StatusOK || r.Method != http.MethodGet {
		w.WriteHeader(resp.StatusCode)
		n, _ := io.Copy(w, resp.Body)
		return Pass, resp.StatusCode, n
	}
	if max := s.cfg.MaxBytes; max > 0 && resp.ContentLength >= 0 && s.stored.Load()+resp.ContentLength > max {
		msg := fmt.Sprintf("the package cache is full: keeping %s (%d bytes) would take it past its limit of %d bytes, %d of them kept (its -max-bytes)", redact(url), resp.ContentLength, max, s.stored.Load())
		http.Error(w, msg, http.StatusInsufficientStorage)
		return Failed, http.StatusInsufficientStorage, 0
	}
	w.Header().Set("X-Package-Cache", Fill)
	w.WriteHeader(http.StatusOK)
	if err := os.MkdirAll(filepath.Dir(bodyPath), 0o755); err != nil {
		n, _ := io.Copy(w, resp.Body)
		return Pass, resp.StatusCode, n
	}
	tmp, err := os.CreateTemp(filepath.Dir(bodyPath), ".fill-*")
	if err != nil {
		n, _ := io.Copy(w, resp.Body)
		return Pass, resp.StatusCode, n
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	n, err := io.Copy(io.MultiWriter(w, tmp), resp.Body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	// Only a whole body is kept: a client that went away, or an upstream
	// that stopped early, leaves nothing behind.
	if err != nil || (resp.ContentLength >= 0 && n != resp.ContentLength) {
		return Pass, resp.StatusCode, n
	}
	meta, _ := json.Marshal(entry{URL: redact(url), ContentType: resp.Header.Get("Content-Type"), Size: n})
	// The metadata says the body is whole: it is written last, and renamed
	// into place, so that a kill at any point leaves no torn entry.
	if max := s.cfg.MaxBytes; max > 0 && s.stored.Load()+n > max {
		// An answer of unknown length that turned out too big: served,
		// not kept.
		return Pass, resp.StatusCode, n
	}
	if os.Rename(tmp.Name(), bodyPath) != nil || writeAtomic(metaPath, meta) != nil {
		return Pass, resp.StatusCode, n
	}
	s.stored.Add(n)
	return Fill, resp.StatusCode, n
}

// writeAtomic writes data to a temporary file beside path, then renames it
// over path.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".meta-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Admin is the harness's side: GET /healthz, POST /freeze and /thaw.
func (s *Server) Admin() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "ok frozen=%v\n", s.Frozen())
	})
	for path, on := range map[string]bool{"/freeze": true, "/thaw": false} {
		mux.HandleFunc("POST "+path, func(w http.ResponseWriter, _ *http.Request) {
			if err := s.Freeze(on); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			fmt.Fprintf(w, "frozen=%v\n", on)
		})
	}
	return mux
}

// Main runs the package cache with the command line args.
func Main(args []string) error {
	fs := flag.NewFlagSet("package-cache", flag.ContinueOnError)
	listen := fs.String("listen", ":8080", "address of the package endpoints")
	admin := fs.String("admin", ":8081", "address of the harness's endpoints (/healthz, /freeze, /thaw)")
	cfg := Config{}
	fs.StringVar(&cfg.CacheDir, "cache-dir", "/var/cache/packages", "where answers are kept")
	fs.StringVar(&cfg.GoUpstream, "go-upstream", "https://proxy.golang.org", "Go module proxy filled from")
	fs.StringVar(&cfg.NPMUpstream, "npm-upstream", "https://registry.npmjs.org", "npm registry filled from")
	fs.Int64Var(&cfg.MaxBytes, "max-bytes", DefaultMaxBytes, "most bytes of answers kept (0: no limit); past it, an answer is refused with 507")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := New(cfg, os.Stdout)
	if err != nil {
		return err
	}
	errc := make(chan error, 2)
	go func() { errc <- http.ListenAndServe(*admin, s.Admin()) }()
	go func() { errc <- http.ListenAndServe(*listen, s) }()
	return <-errc
}
