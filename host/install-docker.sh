#!/usr/bin/env bash
# Makes a Docker engine available for kind: installs Debian's docker.io (and the
# rootfs tools the offline image factory uses) when missing, installs the
# runc-capfilter runtime as dockerd's default runtime, and starts dockerd when
# none answers. Safe to run again; it changes only what is missing.
#
# Needs root. Reaches only Debian's package mirror and the Go module proxy.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
wrapper=/usr/local/libexec/cachebench/runc-capfilter
daemon_json=/etc/docker/daemon.json
log=/var/log/cachebench-dockerd.log

say() { printf 'install-docker: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (it installs packages and starts dockerd): run it with sudo"

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v gcc >/dev/null || missing+=(gcc libc6-dev)
[ -e /usr/share/keyrings/debian-archive-keyring.gpg ] || missing+=(debian-archive-keyring)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed: is the Debian mirror reachable?"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
fi

# The wrapper is needed only where the capability bounding set lacks a
# capability the kernel knows (Docker grants them all to privileged containers).
last_cap=$(cat /proc/sys/kernel/cap_last_cap)
bnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
if [ "$((16#$bnd))" -eq "$(( (1 << (last_cap + 1)) - 1 ))" ]; then
  need_wrapper=no
else
  need_wrapper=yes
  say "the capability bounding set ($bnd) lacks capabilities: privileged containers need runc-capfilter"
fi

# The wrapper is ours: rebuild it so that it always matches this checkout.
mkdir -p "$(dirname "$wrapper")"
(cd "$here" && CGO_ENABLED=0 go build -trimpath -o "$wrapper.new" ./cmd/runc-capfilter) \
  || die "building runc-capfilter failed"
mv -f "$wrapper.new" "$wrapper"

# CACHEBENCH_DOCKER_MIRROR (make e2e-online: the stand-in of Docker Hub)
# has dockerd pull Docker Hub's images through that mirror.
mirror=""
if [ -n "${CACHEBENCH_DOCKER_MIRROR:-}" ]; then
  mirror=$(printf ',\n  "registry-mirrors": ["%s"]' "$CACHEBENCH_DOCKER_MIRROR")
fi
want=$(cat <<JSON
{
  "runtimes": {"capfilter": {"path": "$wrapper"}},
  "default-runtime": "capfilter"$mirror
}
JSON
)
restart=no
if [ "$need_wrapper" = no ] && [ -z "$mirror" ] && ! grep -qs registry-mirrors "$daemon_json"; then
  :
elif [ ! -s "$daemon_json" ] || { grep -q "$wrapper" "$daemon_json" && [ "$(cat "$daemon_json")" != "$want" ]; }; then
  mkdir -p "$(dirname "$daemon_json")"
  printf '%s\n' "$want" >"$daemon_json"
  restart=yes
elif ! grep -q "$wrapper" "$daemon_json"; then
  die "$daemon_json exists and does not name $wrapper: add the runtime by hand:
$want"
fi

running() { docker info >/dev/null 2>&1; }

if running && [ "$restart" = yes ]; then
  if pid=$(pidof dockerd); then
    say "restarting dockerd ($pid) to pick up $daemon_json"
    kill "$pid"
    # Until it has exited: a new dockerd refuses to start beside its pid file.
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  fi
fi

if ! running; then
  say "starting dockerd (log: $log)"
  # setsid: dockerd must outlive the shell (and a Ctrl-C) that started it.
  setsid nohup dockerd >"$log" 2>&1 </dev/null &
  for _ in $(seq 60); do running && break; sleep 1; done
  running || { tail -n 20 "$log" >&2; die "dockerd did not answer within 60 s (log above)"; }
fi

rt=$(docker info --format '{{.DefaultRuntime}}')
if [ "$need_wrapper" = yes ] && [ "$rt" != capfilter ]; then
  say "warning: dockerd's default runtime is $rt, not capfilter; privileged containers may fail"
fi
say "docker $(docker version --format '{{.Server.Version}}') is ready (runtime $rt, cgroup v$(docker info --format '{{.CgroupVersion}}'))"
