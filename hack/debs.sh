#!/usr/bin/env bash
# Installs the Debian packages named on the command line that are not installed yet: apt-get
# update first, then apt-get install (as root, or through sudo). A no-op when every one is
# installed, so `make test` can run it each time.
#
#   hack/debs.sh redis-server postgresql
set -euo pipefail

if ! command -v dpkg-query >/dev/null; then
  echo "debs: not a Debian machine; make sure these are installed: $*" >&2
  exit 0
fi
installed() { [[ "$(dpkg-query -W -f '${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]; }
missing=()
for package in "$@"; do
  installed "$package" || missing+=("$package")
done
((${#missing[@]})) || exit 0

# sudo resets the environment: the frontend is set through env, past it.
apt_get=(env DEBIAN_FRONTEND=noninteractive apt-get)
if ((EUID != 0)); then
  command -v sudo >/dev/null || { echo "debs: root or sudo installs ${missing[*]}" >&2; exit 1; }
  apt_get=(sudo "${apt_get[@]}")
fi
echo "debs: installing ${missing[*]} with apt-get" >&2
"${apt_get[@]}" update -qq
"${apt_get[@]}" install -y -qq "${missing[@]}"
