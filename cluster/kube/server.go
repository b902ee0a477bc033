package kube

import (
	"context"
	"maps"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Server is one of the harness's own servers in the cluster (a registry,
// the git daemon, the network proxy, the package cache): one container
// (and its sidecars) in one pod, replaced rather than rolled, since two
// would not share their storage.
type Server struct {
	Name      string
	Namespace string
	// Selector selects the server's pods. A Deployment's selector cannot
	// change, so it stays what the first version of a server used (a
	// reused cluster may have that one); Labels go on the pods on top.
	Selector map[string]string
	Labels   map[string]string
	// Annotations go on the pod template: changing one restarts the pod.
	Annotations map[string]string
	Container   corev1.Container
	// Sidecars run beside Container in the pod, sharing its volumes.
	Sidecars []corev1.Container
	Volumes  []corev1.Volume
}

// Labels are the labels that select a server named name: its name and
// that it is part of the harness.
func Labels(name string) map[string]string {
	return map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "cachebench"}
}

// Meta is the metadata of one of the harness's objects named name in ns,
// labelled as part of the harness.
func Meta(name, ns string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app.kubernetes.io/part-of": "cachebench"}}
}

// PodSelector selects the server's pods (Selector and Labels) for a list,
// a log or a port-forward.
func (s Server) PodSelector() string {
	all := maps.Clone(s.Selector)
	maps.Copy(all, s.Labels)
	return labels.SelectorFromSet(all).String()
}

// Deployment is the server's Deployment. The container's pull policy is
// IfNotPresent unless it says otherwise: offline images exist only on the node.
func (s Server) Deployment() *appsv1.Deployment {
	one := int32(1)
	labels := maps.Clone(s.Selector)
	maps.Copy(labels, s.Labels)
	ctrs := append([]corev1.Container{s.Container}, s.Sidecars...)
	for i := range ctrs {
		if ctrs[i].ImagePullPolicy == "" {
			ctrs[i].ImagePullPolicy = corev1.PullIfNotPresent
		}
	}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace, Labels: s.Selector},
		Spec: appsv1.DeploymentSpec{
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: s.Selector},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: s.Annotations},
				Spec:       corev1.PodSpec{Containers: ctrs, Volumes: s.Volumes},
			},
		},
	}
}

// ControlPlaneLabel marks a kubeadm cluster's control-plane nodes, and
// is their taint's key.
const ControlPlaneLabel = "node-role.kubernetes.io/control-plane"

// onControlPlane places a pod on a control-plane node, whose taint it
// tolerates.
func onControlPlane(spec *corev1.PodSpec) {
	spec.NodeSelector = map[string]string{ControlPlaneLabel: ""}
	spec.Tolerations = append(spec.Tolerations, corev1.Toleration{Key: ControlPlaneLabel, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule})
}

// Service is a Service named name in the server's namespace that sends
// port to the server's pods' target port.
func (s Server) Service(name, portName string, port, target int32) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.Namespace, Labels: s.Selector},
		Spec: corev1.ServiceSpec{
			Selector: s.Selector,
			Ports:    []corev1.ServicePort{{Name: portName, Port: port, TargetPort: intstr.FromInt32(target)}},
		},
	}
}

// Deploy applies objs (the server's Services, ConfigMaps, ...) and the
// server's Deployment, then waits until the server is ready.
func (c *Clients) Deploy(ctx context.Context, s Server, objs ...runtime.Object) error {
	d := s.Deployment()
	if c.ServersOnControlPlane {
		onControlPlane(&d.Spec.Template.Spec)
	}
	if err := c.ApplyObjects(ctx, append(objs, d)...); err != nil {
		return err
	}
	return c.WaitDeployments(ctx, s.Namespace, []string{s.Name}, serverReadyTimeout)
}

// serverReadyTimeout bounds a server's start, image load included.
const serverReadyTimeout = 3 * time.Minute

// TCPReady is a readiness probe that a port accepts connections,
// checked every second: setup waits on it.
func TCPReady(port int32) *corev1.Probe {
	return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(port)}}, PeriodSeconds: 1}
}
