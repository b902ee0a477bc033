package kube

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// LogsSince returns what container logged since the given time in every
// pod of ns matching selector, each line with the kubelet's timestamp
// (a restarted pod's log follows the older one's).
func (c *Clients) LogsSince(ctx context.Context, ns, selector, container string, since time.Time) (string, error) {
	pods, err := c.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return "", err
	}
	t := metav1.NewTime(since)
	var sb strings.Builder
	for _, p := range pods.Items {
		rc, err := c.Kube.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{Container: container, Timestamps: true, SinceTime: &t}).Stream(ctx)
		if err != nil {
			return "", fmt.Errorf("log of %s: %w", p.Name, err)
		}
		_, err = io.Copy(&sb, rc)
		rc.Close()
		if err != nil {
			return "", fmt.Errorf("log of %s: %w", p.Name, err)
		}
		if sb.Len() > 0 && !strings.HasSuffix(sb.String(), "\n") {
			sb.WriteString("\n")
		}
	}
	return sb.String(), nil
}
