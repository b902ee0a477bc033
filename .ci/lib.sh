# Helpers of the CI scripts (sourced).

# fail MESSAGE: says what went wrong and ends the script.
fail() { echo "FAIL: $*" >&2; exit 1; }

# section NAME: starts a section, saying how long the one before took.
t_section=$(date +%s)
section() {
  local now
  now=$(date +%s)
  echo "== $1 (the section before: $((now - t_section)) s)"
  t_section=$now
}

# nodes CLUSTER: the node containers of a kind cluster.
nodes() { docker ps -aq --filter "label=io.x-k8s.kind.cluster=$1"; }
