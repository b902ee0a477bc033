package kube

import (
	"context"
	"errors"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
)

func TestDecode(t *testing.T) {
	objs, err := Decode([]byte(`---
# a comment-only document
---
apiVersion: v1
kind: Namespace
metadata:
  name: a
---

---
apiVersion: v1
kind: ConfigMap
metadata: {name: b, namespace: a}
data: {k: v}
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || objs[0].GetKind() != "Namespace" || objs[1].GetNamespace() != "a" {
		t.Fatalf("decoded %d objects: %v", len(objs), objs)
	}
	if _, err := Decode([]byte("kind: [")); err == nil {
		t.Error("want an error for broken YAML")
	}
}

func TestPastWebhookGaps(t *testing.T) {
	refused := apierrors.NewInternalError(errors.New(`failed calling webhook "webhook.triggers.tekton.dev": failed to call webhook: Post "https://tekton-triggers-webhook.tekton-pipelines.svc:443/defaulting?timeout=10s": dial tcp 10.96.67.46:443: connect: connection refused`))
	invalid := apierrors.NewBadRequest("spec.x: Invalid value")
	quick := wait.Backoff{Duration: time.Millisecond, Steps: 4}
	for _, c := range []struct {
		name     string
		errs     []error // the answers of successive attempts; nil after them
		attempts int
		fails    bool
	}{
		{"applies at once", nil, 1, false},
		{"waits out a webhook gap", []error{refused, refused}, 3, false},
		{"gives up when the webhook stays away", []error{refused, refused, refused, refused, refused}, 4, true},
		{"does not retry a refusal", []error{invalid}, 1, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			attempts := 0
			err := pastWebhookGaps(context.Background(), quick, func(context.Context) error {
				attempts++
				if attempts <= len(c.errs) {
					return c.errs[attempts-1]
				}
				return nil
			})
			if attempts != c.attempts || (err != nil) != c.fails {
				t.Errorf("%d attempts, error %v; want %d attempts, failing %v", attempts, err, c.attempts, c.fails)
			}
		})
	}
}
