// Command standin serves a local stand-in of the internet that cachebench's
// online path expects (internal/standin), for make e2e-online: it builds
// its images offline (as root, like cachebench images build), serves them
// under their official names, and writes the settings a harness run needs
// to reach it into <dir>/env, a file a shell can source. It runs until
// interrupted.
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/cachebench/cachebench/builders/all"
	"github.com/cachebench/cachebench/images"
	"github.com/cachebench/cachebench/internal/standin"
	"github.com/cachebench/cachebench/log"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "standin:", err)
		os.Exit(1)
	}
}

func run() error {
	dir := flag.String("dir", filepath.Join(os.TempDir(), "cachebench-standin"), "where its blobs, CA and env file go")
	base := flag.Int("base", 5100, "first port: the HTTPS proxy; the registries' mirrors on the ten after it")
	address := flag.String("address", "", "the address kind's nodes reach this host at (default: Docker's bridge gateway)")
	cacheDir := flag.String("cache-dir", images.DefaultCacheDir(), "the image factory's cache")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	l := log.New(os.Stderr, false)
	if *address == "" {
		var err error
		if *address, err = bridgeAddress(ctx); err != nil {
			return fmt.Errorf("find the address of Docker's bridge (give --address): %w", err)
		}
	}
	f, err := images.NewFactory(images.WithCacheDir(*cacheDir), images.WithLogger(l), images.WithTriggers(true))
	if err != nil {
		return err
	}
	set, err := f.Resolve(ctx, images.Offline, all.Images(all.Builders))
	if err != nil {
		return err
	}
	if err := os.RemoveAll(*dir); err != nil {
		return err
	}
	s, err := standin.New(*dir, *base, os.Stderr)
	if err != nil {
		return err
	}
	if err := s.Serve(""); err != nil {
		return err
	}
	defer s.Close()
	if err := s.Ready(ctx); err != nil {
		return err
	}
	pub, err := s.Populate(ctx, f, images.NewCatalog("", all.Images(all.Builders)...), set.NodeImage)
	if err != nil {
		return err
	}
	var mirrors []string
	for _, r := range standin.Registries {
		mirrors = append(mirrors, fmt.Sprintf("%s=http://%s:%d", r.Host, *address, s.Port(r.Host)))
	}
	sort.Strings(mirrors)
	env := []string{
		fmt.Sprintf("HTTPS_PROXY=http://127.0.0.1:%d", *base),
		"NO_PROXY=" + *address,
		"SSL_CERT_FILE=" + s.BundleFile(),
		"CACHEBENCH_REGISTRY_MIRROR=" + strings.Join(mirrors, ","),
		"STANDIN_NODE_IMAGE=" + pub.NodeImage,
		fmt.Sprintf("STANDIN_DOCKER_MIRROR=http://127.0.0.1:%d", s.Port("docker.io")),
		fmt.Sprintf("STANDIN_USER_REGISTRY=%s:%d", *address, s.Port(standin.UserRegistry)),
		"STANDIN_ADDRESS=" + *address,
	}
	if err := os.WriteFile(filepath.Join(*dir, "env"), []byte(strings.Join(env, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	l.Infof("stand-in ready: %s", filepath.Join(*dir, "env"))
	<-ctx.Done()
	return nil
}

// bridgeAddress is where containers on Docker's default bridge reach this
// host: the gateway of the bridge network or, when Docker reports none
// (seen on a machine whose dockerd had just started for the first time),
// the bridge interface's own IPv4 address.
func bridgeAddress(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "docker", "network", "inspect", "bridge", "--format",
		`{{range .IPAM.Config}}{{.Gateway}} {{end}}|{{index .Options "com.docker.network.bridge.name"}}`).Output()
	if err != nil {
		return "", err
	}
	gateway, iface := parseBridge(string(out))
	if gateway != "" {
		return gateway, nil
	}
	ifc, err := net.InterfaceByName(iface)
	if err != nil {
		return "", fmt.Errorf("no gateway of Docker's bridge network, and its interface: %w", err)
	}
	addrs, err := ifc.Addrs()
	if err != nil {
		return "", err
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
			return n.IP.String(), nil
		}
	}
	return "", fmt.Errorf("no gateway of Docker's bridge network, and interface %s has no IPv4 address", iface)
}

// parseBridge reads "GATEWAY... |INTERFACE" (bridgeAddress's format): the
// first IPv4 gateway ("" for none) and the bridge's interface (docker0
// when Docker names none).
func parseBridge(out string) (gateway, iface string) {
	gateways, iface, _ := strings.Cut(strings.TrimSpace(out), "|")
	for _, g := range strings.Fields(gateways) {
		if ip := net.ParseIP(g); ip != nil && ip.To4() != nil {
			return g, ""
		}
	}
	return "", cmp.Or(strings.TrimSpace(iface), "docker0")
}
