#!/usr/bin/env bash
# Builds the testbed's control plane once, into a cache outside the repo keyed
# by the pinned versions, so that worktrees and runs share it; a no-op when it
# is complete.  testbed.py computes the same directory.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The go.mod files are the one source of the versions.
required() { awk -v m="$1" '$1 == "require" {$1 = ""; $0 = $0} $1 == m {print $2; exit}' "$2"; }
k8s_version="$(required k8s.io/kubernetes "$here/go.mod")"
kwok_version="$(required sigs.k8s.io/kwok "$here/kwok/go.mod")"
coredns_version="$(required github.com/coredns/coredns "$here/coredns/go.mod")"
root="${CRYPTEX_TESTBED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cryptex-testbed}"
bin="$root/${k8s_version}-kwok-${kwok_version}/bin"
# CoreDNS follows its own pin: a directory of its own.
coredns_bin="$root/coredns-${coredns_version}/bin"

# `build.sh --node` adds the real node's kubelet, kube-proxy, the pods' pause binary and the
# cluster's DNS (make test-node); the fast tests' control plane and kwok do without them.
wanted_bins=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok)
node=""
[[ "${1:-}" == --node ]] && node=1 && wanted_bins+=(kubelet kube-proxy pause coredns)
missing=()
for b in "${wanted_bins[@]}"; do
  if [[ "$b" == coredns ]]; then
    [[ -x "$coredns_bin/$b" ]] || missing+=("$b")
  else
    [[ -x "$bin/$b" ]] || missing+=("$b")
  fi
done
if ((${#missing[@]} == 0)); then
  echo "testbed binaries up to date in $bin${node:+ and $coredns_bin}"
  exit 0
fi
wanted() { [[ " ${missing[*]} " == *" $1 "* ]]; }
echo "building ${missing[*]} (Kubernetes $k8s_version, kwok $kwok_version, CoreDNS $coredns_version) into $bin"
start=$SECONDS

# etcd comes from Debian: its 3.4.23 is above the 3.4.22 that Kubernetes 1.31
# documents as the minimum, so compiling 3.5 would cost minutes for nothing.
# testbed.py makes its certificates with openssl.
installed() { [[ "$(dpkg-query -W -f '${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]; }
packages=()
installed openssl || packages+=(openssl)
installed etcd-server || packages+=(etcd-server)
if ((${#packages[@]})); then
  sudo=""
  ((EUID == 0)) || sudo=sudo
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${packages[@]}"
fi
etcd="$(dpkg -L etcd-server | grep '/bin/etcd$' | head -n1)"
[[ -x "$etcd" ]] || { echo "etcd-server ships no etcd binary" >&2; exit 1; }
command -v go >/dev/null || { echo "go is not on PATH" >&2; exit 1; }

mkdir -p "$bin"
# Binaries land in the scratch dir and are renamed into bin/ only once built,
# so an interrupted build never leaves a half-written one that looks done.
# The scratch dir also holds Go's build cache: GiBs that nothing reuses once the
# binaries exist.  The module cache stays the user's: shared, and smaller.
tmp="$(mktemp -d "$root/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/bin"
export GOWORK=off GOFLAGS="${GOFLAGS:-} -mod=readonly" GOCACHE="$tmp/go-build"

if wanted etcd; then
  ln -sf "$etcd" "$tmp/bin/etcd"
  mv -f "$tmp/bin/etcd" "$bin/"
fi
k8s_pkgs=()
for b in kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy; do
  if wanted "$b"; then k8s_pkgs+=("k8s.io/kubernetes/cmd/$b"); fi
done
if ((${#k8s_pkgs[@]})); then
  # What upstream's release build stamps in, so that /version and kubectl tell the truth.
  minor="${k8s_version#v1.}"
  minor="${minor%%.*}"
  ldflags="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $p.gitVersion=$k8s_version -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    ldflags+=" -X $p.gitTreeState=clean"
  done
  (cd "$here" && go build -trimpath -ldflags "$ldflags" -o "$tmp/bin/" "${k8s_pkgs[@]}")
  mv -f "$tmp/bin"/* "$bin/"
fi
if wanted kwok; then
  # kwok needs a newer client-go than Kubernetes 1.31, hence a module of its own.
  (cd "$here/kwok" && go build -trimpath -ldflags "-s -w" -o "$tmp/bin/" sigs.k8s.io/kwok/cmd/kwok)
  mv -f "$tmp/bin/kwok" "$bin/"
fi

if wanted coredns; then
  # CoreDNS with the plugins the node's DNS uses (coredns/main.go), in a module of its own.
  (cd "$here/coredns" && go build -trimpath -ldflags "-s -w" -o "$tmp/bin/coredns" .)
  mkdir -p "$coredns_bin"
  mv -f "$tmp/bin/coredns" "$coredns_bin/"
fi
if wanted pause; then
  # The pods' sandbox: upstream's pause.c from the same Kubernetes module, compiled as
  # upstream's image build does (static, so that its image holds nothing else).
  command -v gcc >/dev/null || { echo "gcc is not on PATH (hack/debs.sh gcc libc6-dev)" >&2; exit 1; }
  source_dir="$(cd "$here" && go list -m -f '{{.Dir}}' k8s.io/kubernetes)"
  gcc -Os -Wall -Werror -static -DVERSION="$k8s_version" -o "$tmp/bin/pause" \
    "$source_dir/build/pause/linux/pause.c"
  mv -f "$tmp/bin/pause" "$bin/"
fi

echo "built ${missing[*]} in $((SECONDS - start))s into $bin"
