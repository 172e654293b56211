#!/usr/bin/env bash
# Install the Debian packages femtovm needs, only those missing. Idempotent.
# Usage: scripts/deps.sh [build|test|bench|all]   (default: test)
set -euo pipefail

build_pkgs=(gcc make libc6-dev linux-libc-dev libseccomp-dev libcap-dev libcjson-dev pkg-config binutils)
test_pkgs=(libcriterion-dev clang libclang-rt-14-dev lz4 curl iproute2 socat cpio xz-utils iputils-ping iputils-arping)
bench_pkgs=(qemu-system-x86 gnuplot-nox)

want=("${build_pkgs[@]}")
case "${1:-test}" in
  build) ;;
  test)  want+=("${test_pkgs[@]}") ;;
  bench|all) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|bench|all]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: missing packages: ${missing[*]}; run as root or install them" >&2
  exit 1
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
