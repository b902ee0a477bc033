package kube

import "testing"

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
