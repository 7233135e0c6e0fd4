#!/usr/bin/env bash
# The base images that `make images` passes to the Dockerfiles when no registry is at hand:
# Debian bookworm made here by debootstrap, from Debian's packages only.
#   python: python3 (3.11), its venv module, `python` on PATH, the CA certificates
#           (the Dockerfiles' PYTHON_IMAGE)
#   node:   the python base with Debian's nodejs and npm, installed by apt-get in a buildah
#           build (the API image's NODE_IMAGE, for the web app's build); debootstrap's own
#           --include cannot configure npm's many packages.
# The rootfs is made once into a cache outside the repo, keyed by the suite and its package
# list, then committed into buildah's storage as localhost/cryptex-base-<name>:<key>. Prints
# the two image names as PYTHON_IMAGE=... and NODE_IMAGE=... lines.
set -euo pipefail

suite=bookworm
python_packages=(python3 python3-venv python-is-python3 ca-certificates)
node_packages=(nodejs npm)
root="${CRYPTEX_IMAGES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cryptex-images}"

for tool in debootstrap buildah; do
  command -v "$tool" >/dev/null || { echo "base: $tool is missing (hack/debs.sh $tool)" >&2; exit 1; }
done

# base NAME PACKAGE...: makes the rootfs when its tarball is missing, commits it when the image is.
base() {
  local name="$1"
  shift
  local packages
  packages="$(printf '%s\n' "$@" | sort | tr '\n' ,)"
  local key
  key="$suite-$(printf '%s' "$packages" | sha256sum | cut -c1-12)"
  local tarball="$root/$name-$key.tar"
  local image="localhost/cryptex-base-$name:$key"
  if [[ ! -s "$tarball" ]]; then
    mkdir -p "$root"
    local tmp
    tmp="$(mktemp -d "$root/.build.XXXXXX")"
    echo "base: debootstrap $suite with ${packages%,} into $tarball" >&2
    local start=$SECONDS
    debootstrap --variant=minbase --include="${packages%,}" "$suite" "$tmp/rootfs" >"$tmp/debootstrap.log" 2>&1 \
      || { tail -n 30 "$tmp/debootstrap.log" >&2; rm -rf "$tmp"; exit 1; }
    # What an image need not carry: apt's lists and caches, logs.
    rm -rf "$tmp/rootfs/var/lib/apt/lists"/* "$tmp/rootfs/var/cache/apt"/*.bin \
      "$tmp/rootfs/var/cache/apt/archives"/*.deb "$tmp/rootfs/var/log"/*
    tar --numeric-owner -C "$tmp/rootfs" -cf "$tmp/rootfs.tar" .
    mv "$tmp/rootfs.tar" "$tarball"
    rm -rf "$tmp"
    echo "base: $name rootfs made in $((SECONDS - start))s" >&2
  fi
  if ! buildah inspect --type image "$image" >/dev/null 2>&1; then
    local context
    context="$(mktemp -d)"
    ln "$tarball" "$context/rootfs.tar" 2>/dev/null || cp "$tarball" "$context/rootfs.tar"
    printf 'FROM scratch\nADD rootfs.tar /\nCMD ["/bin/bash"]\n' >"$context/Containerfile"
    buildah bud --quiet --layers=false -t "$image" "$context" >/dev/null
    rm -rf "$context"
  fi
  echo "$image"
}

python_image="$(base python "${python_packages[@]}")"
node_image="localhost/cryptex-base-node:${python_image##*:}-$(printf '%s,' "${node_packages[@]}" | sha256sum | cut -c1-12)"
if ! buildah inspect --type image "$node_image" >/dev/null 2>&1; then
  echo "base: $node_image: apt-get install ${node_packages[*]} over $python_image" >&2
  context="$(mktemp -d)"
  trap 'rm -rf "$context"' EXIT
  printf 'FROM %s\nRUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends %s && rm -rf /var/lib/apt/lists/*\n' \
    "$python_image" "${node_packages[*]}" >"$context/Containerfile"
  buildah bud --quiet --layers=false --network=host -t "$node_image" "$context" >/dev/null
fi
echo "PYTHON_IMAGE=$python_image"
echo "NODE_IMAGE=$node_image"
