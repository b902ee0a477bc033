package kube

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

// silentServer accepts requests and never answers them.
func silentServer(t *testing.T) *httptest.Server {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first: Close waits for handlers
	return srv
}

func clientsFor(t *testing.T, host string) *Clients {
	c, err := FromConfig(&rest.Config{Host: host})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPing(t *testing.T) {
	silent := silentServer(t)
	answering := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/version" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"major":"1","minor":"35","gitVersion":"v1.35.0"}`))
	}))
	t.Cleanup(answering.Close)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()

	const timeout = 300 * time.Millisecond
	tests := []struct {
		name    string
		host    string
		ctx     context.Context
		want    string // version, or what the error says
		wantErr error
	}{
		{name: "answers", host: answering.URL, ctx: context.Background(), want: "v1.35.0"},
		{name: "never answers", host: silent.URL, ctx: context.Background(),
			want: "the API server at " + silent.URL + " did not answer within 300ms"},
		{name: "interrupted", host: silent.URL, ctx: cancelled, want: silent.URL, wantErr: context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			v, err := clientsFor(t, tc.host).Ping(tc.ctx, timeout)
			// Some slack for a busy machine, far below a hang.
			if el := time.Since(start); el > timeout+2*time.Second {
				t.Errorf("Ping returned after %s, timeout %s", el, timeout)
			}
			switch {
			case err == nil && v.GitVersion != tc.want:
				t.Errorf("version %q, want %q", v.GitVersion, tc.want)
			case err != nil && !strings.Contains(err.Error(), tc.want):
				t.Errorf("error %q does not say %q", err, tc.want)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Errorf("error %v, want %v", err, tc.wantErr)
			}
		})
	}
}
