package standin

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// freeBase finds a first port with the ten after it free.
func freeBase(t *testing.T) int {
	t.Helper()
	for base := 20000 + os.Getpid()%2000*11; base < 65000; base += 11 {
		free := true
		for p := base; p <= base+10; p++ {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				free = false
				break
			}
			ln.Close()
		}
		if free {
			return base
		}
	}
	t.Fatal("no free ports")
	return 0
}

// TestStandIn: an image pushed to a registry's mirror port is pulled under
// its official name through the HTTPS proxy, trusting only the stand-in's
// CA; a release manifest is served at its bucket path; a host not stood
// in for is refused.
func TestStandIn(t *testing.T) {
	s, err := New(t.TempDir(), freeBase(t), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Serve("127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	img, _ := random.Image(2048, 2)
	mirror, err := name.ParseReference(fmt.Sprintf("127.0.0.1:%d/library/debian:bookworm-slim", s.Port("docker.io")), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(mirror, img); err != nil {
		t.Fatal(err)
	}
	s.Publish(ReleasePath("https://infra.tekton.dev/tekton-releases/pipeline/previous/v1.15.0/release.yaml"), []byte("kind: Namespace\n"))

	pem, err := os.ReadFile(s.CAFile())
	if err != nil || !strings.HasPrefix(string(pem), CAMarker+"\n") {
		t.Fatalf("CA file: %v\n%s", err, pem)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	proxy, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", s.Base))
	tr := &http.Transport{Proxy: http.ProxyURL(proxy), TLSClientConfig: &tls.Config{RootCAs: roots}}

	official, _ := name.ParseReference("docker.io/library/debian:bookworm-slim")
	got, err := remote.Image(official, remote.WithTransport(tr))
	if err != nil {
		t.Fatalf("pull %s through the proxy: %v", official, err)
	}
	if gd, _ := got.Digest(); true {
		if wd, _ := img.Digest(); gd != wd {
			t.Errorf("pulled %s, pushed %s", gd, wd)
		}
	}
	c := &http.Client{Transport: tr}
	resp, err := c.Get("https://infra.tekton.dev/tekton-releases/pipeline/previous/v1.15.0/release.yaml")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "kind: Namespace\n" {
		t.Errorf("release manifest: %d %q", resp.StatusCode, body)
	}
	// Any other host is tunneled to, as it is: here nothing listens.
	bad, _ := url.Parse(fmt.Sprintf("https://127.0.0.1:%d/", s.Port(UserRegistry)+1))
	if _, err := c.Get(bad.String()); err == nil {
		t.Error("a tunnel to a closed port answered")
	}
}
