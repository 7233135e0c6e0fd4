#!/usr/bin/env bash
# `make images`: every Cryptex image built by buildah from its own Dockerfile, from the
# repository root, as cryptex/<name>:<tag>. No Docker daemon needed.
#
#   hack/images/build.sh TAG NAME...
#
# The base images: the Dockerfiles' defaults (PYTHON_IMAGE, NODE_IMAGE) when a registry gives
# them; otherwise Debian bookworm made here by debootstrap (hack/images/base.sh). IMAGE_BASE=local
# or IMAGE_BASE=registry decides instead of trying.
set -euo pipefail
cd "$(dirname "$0")/../.."

tag="$1"
shift
command -v buildah >/dev/null || { echo "images: buildah is missing (hack/debs.sh buildah)" >&2; exit 1; }

base_args=()
base="${IMAGE_BASE:-}"
if [[ -z "$base" ]]; then
  default_python="$(awk -F= '/^ARG PYTHON_IMAGE=/ {print $2; exit}' images/engine/Dockerfile)"
  if timeout 60 buildah pull --quiet "$default_python" >/dev/null 2>&1; then
    base=registry
  else
    echo "images: $default_python cannot be pulled: Debian bookworm bases made by debootstrap" >&2
    base=local
  fi
fi
if [[ "$base" == local ]]; then
  while IFS= read -r line; do
    base_args+=(--build-arg "$line")
  done < <(hack/images/base.sh)
fi

# The builds fetch wheels and npm packages through whatever the host trusts (a proxy's own CA,
# say): its CA bundle is mounted into every RUN step, with a pip.conf and an npmrc that point
# at it. Build time only: the images keep their own certificates.
host_bundle=/etc/ssl/certs/ca-certificates.crt
trust_args=()
if [[ -s "$host_bundle" ]]; then
  trust="$(mktemp -d)"
  trap 'rm -rf "$trust"' EXIT
  cp "$host_bundle" "$trust/ca-certificates.crt"
  printf '[global]\ncert = /run/host-trust/ca-certificates.crt\n' >"$trust/pip.conf"
  printf 'cafile=/run/host-trust/ca-certificates.crt\n' >"$trust/npmrc"
  trust_args=(--volume "$trust:/run/host-trust:ro"
    --volume "$trust/pip.conf:/etc/pip.conf:ro" --volume "$trust/npmrc:/etc/npmrc:ro")
fi

for name in "$@"; do
  dockerfile="images/$name/Dockerfile"
  [[ "$name" == operator ]] && dockerfile=operator/Dockerfile
  start=$SECONDS
  # --layers: the dependency layer is shared by the six builds and kept for the next run.
  # The host's network: the builds fetch their pinned wheels and npm packages.
  buildah bud --quiet --layers --network=host "${base_args[@]}" "${trust_args[@]}" -f "$dockerfile" \
    -t "cryptex/$name:$tag" . >/dev/null
  echo "images: cryptex/$name:$tag built in $((SECONDS - start))s" >&2
done
