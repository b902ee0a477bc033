package builders

import (
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// DaemonContainer is what a builder's daemon pod runs: a shell script
// that serves builds on Port, given the registries to trust as its
// arguments, its state in StateDir, ready once Probe succeeds.
type DaemonContainer struct {
	Name     string
	Image    string
	Script   string
	Port     int32
	Probe    []string
	StateDir string
}

// GCLimitEnv carries a daemon's garbage collection limit (bytes) to its
// script; unset, the daemon keeps its own policy.
const GCLimitEnv = "GC_MAX_USED_BYTES"

// DaemonPod is the pod of a daemon: privileged (it runs RUN instructions
// with runc), its state on an emptyDir named DaemonStateVolume, the
// garbage collection limit in GCLimitEnv when above 0, and the build CA
// bundle (none for "") over its system bundle.
func DaemonPod(c DaemonContainer, registries []string, gcLimit int64, caBundle string) *corev1.PodSpec {
	spec := &corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever,
		Containers: []corev1.Container{{
			Name:            c.Name,
			Image:           c.Image,
			Command:         append([]string{"/bin/sh", "-c", strings.TrimPrefix(c.Script, "#!/bin/sh\n"), c.Name}, registries...),
			Ports:           []corev1.ContainerPort{{Name: c.Name, ContainerPort: c.Port}},
			SecurityContext: Privileged(),
			// Probed until it answers, then never again: an exec probe
			// every second in every daemon of a benchmark costs the
			// builds CPU, and one that times out under their load would
			// take the daemon out of its Service mid-build.
			StartupProbe: &corev1.Probe{
				ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: c.Probe}},
				PeriodSeconds: 1, TimeoutSeconds: 5, FailureThreshold: 300,
			},
			VolumeMounts: []corev1.VolumeMount{{Name: DaemonStateVolume, MountPath: c.StateDir}},
		}},
		Volumes: []corev1.Volume{{Name: DaemonStateVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
	}
	if gcLimit > 0 {
		spec.Containers[0].Env = []corev1.EnvVar{{Name: GCLimitEnv, Value: strconv.FormatInt(gcLimit, 10)}}
	}
	MountBuildCA(spec, caBundle)
	return spec
}

// StartDaemon is shell that starts a daemon (name) in a build step's
// background (command, its output to log), stops it when the script
// exits, and waits until probe succeeds: up to a minute, else it prints
// the daemon's log and fails.
func StartDaemon(name, command, probe, log string) string {
	return command + ` >` + log + ` 2>&1 &
daemon=$!
trap 'kill "$daemon" 2>/dev/null; wait "$daemon" 2>/dev/null || true' EXIT
tries=0
until ` + probe + ` >/dev/null 2>&1; do
  tries=$((tries+1))
  if [ "$tries" -gt 600 ] || ! kill -0 "$daemon" 2>/dev/null; then
    echo "error: ` + name + ` did not start:" >&2
    cat ` + log + ` >&2
    exit 1
  fi
  sleep 0.1
done
`
}
