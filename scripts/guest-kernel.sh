#!/usr/bin/env bash
# Build the femtovm guest kernel: build/guest/vmlinux from Debian's
# linux-source-6.1 with resources/kernel-configs/microvm-x86_64-6.1.config.
#
#   scripts/guest-kernel.sh           build (or report "up to date")
#   FORCE=1 scripts/guest-kernel.sh   rebuild even if nothing changed
#
# - Installs what is missing with apt (linux-source-6.1 and the build deps);
#   needs root only when something is missing.
# - Unpacks /usr/src/linux-source-6.1.tar.xz into build/guest-kernel/src
#   once per tarball (keyed by its sha256) and builds out of tree in
#   build/guest-kernel/out, so incremental rebuilds are cheap.
# - Cached: skips the build when build/guest/vmlinux was made from the same
#   tarball, config and build recipe (build/guest-kernel/vmlinux.key).
# - Reproducible: KBUILD_BUILD_TIMESTAMP is the source's own date (mtime of
#   its top Makefile, from the tarball), KBUILD_BUILD_USER/HOST/VERSION are
#   fixed, no debug info, no modules (so no module signing key).
#   (The build still embeds the compiler version string from the config.)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CONFIG=${GUEST_KERNEL_CONFIG:-$ROOT/resources/kernel-configs/microvm-x86_64-6.1.config}
WORK=${GUEST_KERNEL_WORK:-$ROOT/build/guest-kernel}
DEST=${GUEST_KERNEL_OUT:-$ROOT/build/guest/vmlinux}
TARBALL=/usr/src/linux-source-6.1.tar.xz
JOBS=${JOBS:-$(nproc)}
# Bump when the make invocation below changes (invalidates the cache).
RECIPE=1

log() { echo "guest-kernel: $*" >&2; }
die() { log "error: $*"; exit 1; }

# --- dependencies (idempotent: install only what is missing)
pkgs=(linux-source-6.1 gcc make libc6-dev bc bison flex libelf-dev libssl-dev
      xz-utils)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" -eq 0 ] || die "missing packages: ${missing[*]} (run as root or install them)"
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    }
fi
[ -f "$TARBALL" ] || die "$TARBALL missing after installing linux-source-6.1"
[ -f "$CONFIG" ] || die "no config: $CONFIG"

# --- cache key: source tarball + config + recipe
src_sum=$(sha256sum "$TARBALL" | cut -d' ' -f1)
cfg_sum=$(sha256sum "$CONFIG" | cut -d' ' -f1)
key="src=$src_sum config=$cfg_sum recipe=$RECIPE"
if [ "${FORCE:-0}" != 1 ] && [ -s "$DEST" ] && [ -f "$WORK/vmlinux.key" ] &&
   [ "$(cat "$WORK/vmlinux.key")" = "$key" ]; then
    log "up to date: $DEST ($(dpkg-query -W -f='${Version}' linux-source-6.1), config $cfg_sum)"
    exit 0
fi

# --- unpack (once per tarball)
SRC=$WORK/src/linux-source-6.1
if [ ! -f "$WORK/src/.unpacked" ] || [ "$(cat "$WORK/src/.unpacked")" != "$src_sum" ]; then
    log "unpacking $TARBALL"
    rm -rf "$WORK/src" "$WORK/out"
    mkdir -p "$WORK/src"
    tar -C "$WORK/src" -xf "$TARBALL"
    [ -f "$SRC/Makefile" ] || die "tarball did not unpack to $SRC"
    echo "$src_sum" >"$WORK/src/.unpacked"
fi

# --- configure (out of tree); the committed config must be olddefconfig-clean
OUT=$WORK/out
mkdir -p "$OUT"
cp "$CONFIG" "$OUT/.config"
kmake() {
    make -C "$SRC" O="$OUT" ARCH=x86_64 \
        KBUILD_BUILD_TIMESTAMP="$(date -u -R -d "@$(stat -c %Y "$SRC/Makefile")")" \
        KBUILD_BUILD_USER=femtovm KBUILD_BUILD_HOST=femtovm KBUILD_BUILD_VERSION=1 \
        LOCALVERSION= "$@"
}
kmake -s olddefconfig
if ! diff -q <(grep -v '^#' "$CONFIG" | grep -v '^CONFIG_[A-Z_]*VERSION\|^CONFIG_CC_') \
             <(grep -v '^#' "$OUT/.config" | grep -v '^CONFIG_[A-Z_]*VERSION\|^CONFIG_CC_') >/dev/null; then
    log "warning: olddefconfig changed the config (toolchain differences?):"
    diff <(grep -v '^#' "$CONFIG") <(grep -v '^#' "$OUT/.config") | sed 's/^/    /' >&2 || true
fi

# --- build
log "building vmlinux with -j$JOBS (tens of minutes on 2 cores)"
start=$(date +%s)
kmake -j"$JOBS" vmlinux
secs=$(( $(date +%s) - start ))

mkdir -p "$(dirname "$DEST")"
cp "$OUT/vmlinux" "$DEST.tmp"
mv "$DEST.tmp" "$DEST"
echo "$key" >"$WORK/vmlinux.key"
log "built $DEST in ${secs}s: $(kmake -s kernelrelease), sha256 $(sha256sum "$DEST" | cut -d' ' -f1)"
