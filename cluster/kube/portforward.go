package kube

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

// PortForward forwards a free local port to port of the first ready pod
// matching selector in ns. It returns the local port and a stop function.
func (c *Clients) PortForward(ctx context.Context, ns, selector string, port int) (int, func(), error) {
	pod, err := c.RunningPod(ctx, ns, selector)
	if err != nil {
		return 0, nil, fmt.Errorf("port-forward: %w", err)
	}
	transport, upgrader, err := spdy.RoundTripperFor(c.Config)
	if err != nil {
		return 0, nil, err
	}
	u, err := url.Parse(c.Config.Host)
	if err != nil {
		return 0, nil, err
	}
	u.Path = fmt.Sprintf("%s/api/v1/namespaces/%s/pods/%s/portforward", u.Path, ns, pod)
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, u)
	stop, ready := make(chan struct{}), make(chan struct{})
	fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{fmt.Sprintf("0:%d", port)}, stop, ready, io.Discard, io.Discard)
	if err != nil {
		return 0, nil, err
	}
	errc := make(chan error, 1)
	go func() { errc <- fw.ForwardPorts() }()
	select {
	case <-ready:
	case err := <-errc:
		return 0, nil, fmt.Errorf("port-forward to %s/%s: %w", ns, pod, err)
	case <-ctx.Done():
		close(stop)
		return 0, nil, fmt.Errorf("port-forward to %s/%s: %w", ns, pod, ctx.Err())
	case <-time.After(30 * time.Second):
		close(stop)
		return 0, nil, fmt.Errorf("port-forward to %s/%s: not ready within 30 s", ns, pod)
	}
	ports, err := fw.GetPorts()
	if err != nil || len(ports) == 0 {
		close(stop)
		return 0, nil, fmt.Errorf("port-forward to %s/%s: no local port: %v", ns, pod, err)
	}
	var once sync.Once
	return int(ports[0].Local), func() { once.Do(func() { close(stop) }) }, nil
}
