#!/usr/bin/env bash
# Build the femtovm guest root filesystem: build/guest/rootfs.ext4.
#
#   scripts/guest-rootfs.sh           build (or report "up to date")
#   FORCE=1 scripts/guest-rootfs.sh   rebuild even if nothing changed
#
# An ext4 image made without root or loop mounts: the tree is staged in
# build/guest-rootfs/root and written into the image by `mke2fs -d`.
# Contents: Debian's busybox-static (every applet linked), busybox init with
# resources/rootfs/etc (inittab, ...) and resources/rootfs/rcS (installed as
# /etc/init.d/rcS: the femtovm guest setup), and
# femtovm-guest (resources/rootfs/femtovm-guest.c, static: boot timer
# write, vsock CID, vsock echo server; busybox has no vsock support).
# /dev stays empty: the kernel mounts devtmpfs there (CONFIG_DEVTMPFS_MOUNT).
#
# Reproducible: fixed mtimes (SOURCE_DATE_EPOCH, default: the date of the
# last change to resources/rootfs), fixed UUID and hash seed, root-owned
# files, E2FSPROGS_FAKE_TIME. Cached on the inputs' hashes.
# Size: ROOTFS_SIZE_MIB (default 64; the contents take ~3 MiB).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RES=$ROOT/resources/rootfs
WORK=${GUEST_ROOTFS_WORK:-$ROOT/build/guest-rootfs}
DEST=${GUEST_ROOTFS_OUT:-$ROOT/build/guest/rootfs.ext4}
SIZE_MIB=${ROOTFS_SIZE_MIB:-64}
UUID=f3e70000-0000-4000-8000-00000000f00d

log() { echo "guest-rootfs: $*" >&2; }
die() { log "error: $*"; exit 1; }

pkgs=(busybox-static e2fsprogs gcc libc6-dev)
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
BUSYBOX=$(dpkg -L busybox-static | grep -m1 '/bin/busybox$')
[ -x "$BUSYBOX" ] || die "busybox-static installed no /bin/busybox"

# --- cache key: busybox version, our files, this script, the size
key=$( {
    dpkg-query -W -f='${Version}\n' busybox-static
    gcc -dumpfullversion
    echo "size=$SIZE_MIB"
    (cd "$RES" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
    sha256sum <"$0"
} | sha256sum | cut -d' ' -f1)
if [ "${FORCE:-0}" != 1 ] && [ -s "$DEST" ] && [ -f "$WORK/rootfs.key" ] &&
   [ "$(cat "$WORK/rootfs.key")" = "$key" ]; then
    log "up to date: $DEST"
    exit 0
fi

# --- stage the tree
STAGE=$WORK/root
rm -rf "$STAGE"
mkdir -p "$STAGE"
for d in bin sbin usr/bin usr/sbin etc dev proc sys run tmp root mnt var/log; do
    mkdir -p "$STAGE/$d"
done
chmod 1777 "$STAGE/tmp"
chmod 700 "$STAGE/root"
install -m 755 "$BUSYBOX" "$STAGE/bin/busybox"
# One symlink per applet, where busybox would install it (bin/sh, sbin/init, ...).
"$STAGE/bin/busybox" --list-full | while read -r applet; do
    [ "$applet" = bin/busybox ] && continue
    [ -e "$STAGE/$applet" ] || ln -s /bin/busybox "$STAGE/$applet"
done
[ -L "$STAGE/sbin/init" ] || die "busybox has no init applet"
cp -a "$RES/etc/." "$STAGE/etc/"
# (kept outside etc/init.d/ in the repo: .gitignore's "*.d" would hide it)
mkdir -p "$STAGE/etc/init.d"
install -m 755 "$RES/rcS" "$STAGE/etc/init.d/rcS"
gcc -static -Os -Wall -Wextra -Werror -o "$STAGE/usr/sbin/femtovm-guest" "$RES/femtovm-guest.c"
strip "$STAGE/usr/sbin/femtovm-guest"

# --- reproducible metadata: every file root-owned, one fixed mtime
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct -- resources/rootfs 2>/dev/null || true)}
[ -n "$epoch" ] || epoch=$(find "$RES" -type f -printf '%T@\n' | sort -n | tail -n 1 | cut -d. -f1)
find "$STAGE" -exec touch -h -d "@$epoch" {} +
if [ "$(id -u)" -eq 0 ]; then
    chown -hR 0:0 "$STAGE"
fi

# --- the image
mkdir -p "$(dirname "$DEST")"
rm -f "$DEST.tmp"
E2FSPROGS_FAKE_TIME=$epoch mke2fs -q -F -t ext4 -L femtovm-root -U "$UUID" \
    -E "root_owner=0:0,hash_seed=$UUID" -d "$STAGE" "$DEST.tmp" "${SIZE_MIB}M" >/dev/null
# mke2fs -d copies each inode's ctime and atime from the staged file (touch
# cannot set ctime, and reading a file may bump its atime): pin both with
# debugfs (one batch, a few hundred inodes).
(cd "$STAGE" && find . -mindepth 1 | sed 's|^\.||'; echo /) | while read -r f; do
    printf 'sif "%s" ctime @%s\nsif "%s" atime @%s\n' "$f" "$epoch" "$f" "$epoch"
done |
    E2FSPROGS_FAKE_TIME=$epoch debugfs -w -f - "$DEST.tmp" >/dev/null 2>"$WORK/debugfs.log" ||
    die "debugfs failed: $(tail -n 3 "$WORK/debugfs.log")"
! grep -q -v '^debugfs' "$WORK/debugfs.log" || die "debugfs: $(grep -v '^debugfs' "$WORK/debugfs.log" | head -n 3)"
[ "$(id -u)" -eq 0 ] || log "note: not root, so files other than / keep your uid in the image"
e2fsck -fn "$DEST.tmp" >/dev/null 2>&1 || die "e2fsck found errors in the new image"
mv "$DEST.tmp" "$DEST"
echo "$key" >"$WORK/rootfs.key"
log "built $DEST (${SIZE_MIB} MiB, $(du -sk "$STAGE" | cut -f1) KiB used, sha256 $(sha256sum "$DEST" | cut -d' ' -f1))"
