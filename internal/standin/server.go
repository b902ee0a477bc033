// Package standin is a local stand-in of the internet the online path
// expects, for machines that reach no container registry (ours, CI): the
// registries the official images come from (Docker Hub, quay.io, gcr.io,
// ghcr.io, cgr.dev) and Tekton's release bucket, serving images made
// offline that reproduce each official image's layout, under the official
// names. The harness reaches it as it would reach the internet through a
// TLS-inspecting egress proxy (HTTPS_PROXY, and the stand-in's CA as
// SSL_CERT_FILE); Docker and the kind nodes' containerd through their
// registry mirror settings, in plain HTTP.
package standin

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

// Registries are the registry hosts stood in for, each served in plain
// HTTP on its own port (Base+1, Base+2, ...) for mirrors, and behind the
// HTTPS proxy under its own name and its aliases.
var Registries = []struct {
	Host    string
	Aliases []string
}{
	{"docker.io", []string{"index.docker.io", "registry-1.docker.io"}},
	{"quay.io", nil},
	{"gcr.io", nil},
	{"ghcr.io", nil},
	{"cgr.dev", nil},
}

// UserRegistry stands for a registry of the user's own (--image-registry),
// on port Base+10, with no name of the internet.
const UserRegistry = "user"

// ReleaseHost serves Tekton's release manifests at the paths of its bucket.
const ReleaseHost = "infra.tekton.dev"

// systemBundle is the host's CA bundle (Debian's).
const systemBundle = "/etc/ssl/certs/ca-certificates.crt"

// CAMarker is the first line of the CA file: a build that sees the file
// can tell it is this one.
const CAMarker = "# cachebench stand-in CA"

// Server is a running stand-in.
type Server struct {
	// Base is the first port: the HTTPS proxy; registries follow.
	Base int
	Dir  string

	registries map[string]http.Handler // by host, aliases included
	files      *files
	ca         *x509.Certificate
	caKey      *ecdsa.PrivateKey
	caPEM      []byte

	mu    sync.Mutex
	certs map[string]*tls.Certificate
	srvs  []*http.Server
	log   *log.Logger
}

// New makes a stand-in keeping its blobs and its CA under dir.
func New(dir string, base int, logTo io.Writer) (*Server, error) {
	s := &Server{Base: base, Dir: dir, registries: map[string]http.Handler{}, files: &files{m: map[string][]byte{}}, certs: map[string]*tls.Certificate{}, log: log.New(logTo, "stand-in: ", 0)}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	for _, r := range Registries {
		h := s.newRegistry(r.Host)
		s.registries[r.Host] = h
		for _, a := range r.Aliases {
			s.registries[a] = h
		}
	}
	s.registries[UserRegistry] = s.newRegistry(UserRegistry)
	if err := s.makeCA(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) newRegistry(host string) http.Handler {
	blobs := filepath.Join(s.Dir, "blobs", host)
	os.MkdirAll(blobs, 0o755)
	return registry.New(registry.WithBlobHandler(registry.NewDiskBlobHandler(blobs)), registry.Logger(log.New(io.Discard, "", 0)))
}

// Port is where a registry host (or UserRegistry) is served in plain HTTP.
func (s *Server) Port(host string) int {
	if host == UserRegistry {
		return s.Base + 10
	}
	for i, r := range Registries {
		if r.Host == host {
			return s.Base + 1 + i
		}
	}
	return 0
}

// CAFile is the stand-in's CA (PEM); its first line is CAMarker.
func (s *Server) CAFile() string { return filepath.Join(s.Dir, "ca.pem") }

// BundleFile is the host's CA bundle with the stand-in's CA first: what a
// machine behind a TLS-inspecting proxy trusts (SSL_CERT_FILE, and a
// build's --build-ca).
func (s *Server) BundleFile() string { return filepath.Join(s.Dir, "ca-bundle.pem") }

// Serve starts listening on every port, on addr ("" for all addresses).
func (s *Server) Serve(addr string) error {
	listen := func(port int, h http.Handler) error {
		ln, err := net.Listen("tcp", net.JoinHostPort(addr, fmt.Sprint(port)))
		if err != nil {
			return fmt.Errorf("stand-in: %w", err)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: time.Minute}
		s.mu.Lock()
		s.srvs = append(s.srvs, srv)
		s.mu.Unlock()
		go srv.Serve(ln)
		return nil
	}
	if err := listen(s.Base, http.HandlerFunc(s.proxy)); err != nil {
		return err
	}
	for _, r := range Registries {
		if err := listen(s.Port(r.Host), s.logged(r.Host, s.registries[r.Host])); err != nil {
			return err
		}
	}
	return listen(s.Port(UserRegistry), s.logged(UserRegistry, s.registries[UserRegistry]))
}

// Close stops every listener.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, srv := range s.srvs {
		errs = append(errs, srv.Close())
	}
	return errors.Join(errs...)
}

// logged logs every request that is not a blob or manifest answered 200.
func (s *Server) logged(host string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &status{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(rec, r)
		if rec.code >= 400 {
			s.log.Printf("%s %s %s%s: %d", r.RemoteAddr, r.Method, host, r.URL.Path, rec.code)
		}
	})
}

type status struct {
	http.ResponseWriter
	code int
}

func (s *status) WriteHeader(code int) { s.code = code; s.ResponseWriter.WriteHeader(code) }

// proxy answers CONNECT host:443 as a TLS-inspecting egress proxy does:
// for a host stood in for, it ends TLS with a certificate for the host
// signed by its CA, and serves the host's stand-in; any other host (the Go
// module proxy, the Debian mirror) it tunnels to, untouched.
func (s *Server) proxy(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "the stand-in proxies https (CONNECT) only", http.StatusMethodNotAllowed)
		return
	}
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	h := s.handler(host)
	var upstream net.Conn
	if h == nil {
		if upstream, err = net.DialTimeout("tcp", r.Host, 30*time.Second); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "cannot hijack", http.StatusInternalServerError)
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n")
	if upstream != nil {
		go func() { io.Copy(upstream, conn); upstream.Close() }()
		io.Copy(conn, upstream)
		conn.Close()
		return
	}
	tc := tls.Server(conn, &tls.Config{GetCertificate: s.certificate})
	srv := &http.Server{Handler: s.logged(host, h), ReadHeaderTimeout: time.Minute}
	srv.Serve(&oneConn{conn: tc})
}

// handler is what serves a host, nil when it is not stood in for.
func (s *Server) handler(host string) http.Handler {
	if host == ReleaseHost {
		return s.files
	}
	if h, ok := s.registries[host]; ok {
		return h
	}
	return nil
}

// oneConn is a listener of one connection.
type oneConn struct {
	conn net.Conn
	once sync.Once
	done chan struct{}
}

func (l *oneConn) Accept() (net.Conn, error) {
	var c net.Conn
	l.once.Do(func() {
		l.done = make(chan struct{})
		c = &closeNotify{Conn: l.conn, done: l.done}
	})
	if c != nil {
		return c, nil
	}
	<-l.done
	return nil, net.ErrClosed
}

func (l *oneConn) Close() error   { return nil }
func (l *oneConn) Addr() net.Addr { return l.conn.LocalAddr() }

// closeNotify ends the one-connection listener when its connection closes.
type closeNotify struct {
	net.Conn
	done chan struct{}
	once sync.Once
}

func (c *closeNotify) Close() error {
	c.once.Do(func() { close(c.done) })
	return c.Conn.Close()
}

// makeCA makes the stand-in's CA and writes it to CAFile.
func (s *Server) makeCA() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "cachebench stand-in CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(7 * 24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	if s.ca, err = x509.ParseCertificate(der); err != nil {
		return err
	}
	s.caKey = key
	s.caPEM = append([]byte(CAMarker+"\n"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	if err := os.WriteFile(s.CAFile(), s.caPEM, 0o644); err != nil {
		return err
	}
	system, err := os.ReadFile(systemBundle)
	if err != nil {
		return fmt.Errorf("the host's CA bundle: %w", err)
	}
	return os.WriteFile(s.BundleFile(), append(append(s.caPEM, '\n'), system...), 0o644)
}

// certificate signs, once per host, a certificate for the host asked for.
func (s *Server) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	host := hello.ServerName
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.certs[host]; ok {
		return c, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.ca, &key.PublicKey, s.caKey)
	if err != nil {
		return nil, err
	}
	c := &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	s.certs[host] = c
	return c, nil
}

// files serves release manifests by path.
type files struct {
	mu sync.RWMutex
	m  map[string][]byte
}

func (f *files) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.RLock()
	data, ok := f.m[r.URL.Path]
	f.mu.RUnlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/x-yaml")
	w.Write(data)
}

// Publish serves data at the release host's path (e.g.
// /tekton-releases/pipeline/previous/v1.15.0/release.yaml).
func (s *Server) Publish(path string, data []byte) {
	s.files.mu.Lock()
	defer s.files.mu.Unlock()
	s.files.m[path] = data
}

// ReleasePath is the path of a release manifest's URL on ReleaseHost.
func ReleasePath(url string) string {
	return strings.TrimPrefix(url, "https://"+ReleaseHost)
}

// Ready waits until every port answers.
func (s *Server) Ready(ctx context.Context) error {
	for _, port := range append([]int{s.Base, s.Port(UserRegistry)}, s.registryPorts()...) {
		for {
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

func (s *Server) registryPorts() []int {
	var ports []int
	for _, r := range Registries {
		ports = append(ports, s.Port(r.Host))
	}
	return ports
}
