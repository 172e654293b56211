#!/usr/bin/env bash
# Fetch Debian's cloud kernel and extract its uncompressed vmlinux (ELF64).
#
# Used by tests/integration/test_linux_early_boot.sh: under an emulating KVM
# the bzImage's own decompressor takes minutes, so femtovm boots the vmlinux
# ELF inside it directly (Linux 64-bit boot protocol).
#
# Idempotent and cached in ${FEMTOVM_CACHE:-/var/cache/femtovm}. The last
# line of stdout is the path of the cached vmlinux; progress goes to stderr.
#
# bzImage layout (Linux Documentation/arch/x86/boot.rst):
#   0x1f1  u8   setup_sects (0 means 4); protected-mode code starts at
#               (setup_sects + 1) * 512
#   0x202  u32  "HdrS" header magic
#   0x248  u32  payload_offset, relative to the protected-mode code
#   0x24c  u32  payload_length
# The payload is the compressed vmlinux; the kernel build appends its
# decompressed size as a little-endian u32 to it. Debian uses LZ4 (legacy
# frame, magic 0x184C2102).
set -euo pipefail

CACHE=${FEMTOVM_CACHE:-/var/cache/femtovm}
META=linux-image-cloud-amd64

log() { echo "fetch-debian-kernel: $*" >&2; }
die() { log "error: $*"; exit 1; }

# u32/u8 little-endian readers: file offset -> decimal
rd_u32() { od -An -t u4 -j "$2" -N 4 --endian=little "$1" | tr -d ' \n'; }
rd_u8()  { od -An -t u1 -j "$2" -N 1 "$1" | tr -d ' \n'; }
rd_hex() { od -An -t x1 -j "$2" -N "$3" "$1" | tr -d ' \n'; }

# The concrete linux-image-<abi>-cloud-amd64 package behind the metapackage.
concrete_pkg() {
    apt-cache depends "$META" 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-cloud-amd64\)$/\1/p' | head -n 1
}

for tool in apt-cache apt-get dpkg-deb od dd; do
    command -v "$tool" >/dev/null || die "missing tool: $tool"
done

mkdir -p "$CACHE"

pkg=$(concrete_pkg || true)
if [ -z "$pkg" ]; then
    log "apt-cache does not know $META; running apt-get update"
    apt-get update -qq >&2 || die "apt-get update failed"
    pkg=$(concrete_pkg || true)
    [ -n "$pkg" ] || die "cannot resolve $META to a kernel package"
fi
log "kernel package: $pkg"

out="$CACHE/$pkg.vmlinux"
if [ -s "$out" ] && [ "$(rd_hex "$out" 0 4)" = "7f454c46" ]; then
    log "cached: $out"
    echo "$out"
    exit 0
fi

command -v lz4 >/dev/null || die "missing tool: lz4 (apt-get install lz4)"

work=$(mktemp -d "$CACHE/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"   # apt-get download runs as _apt and writes here

# Download into the work dir. A stale package list can name a version the
# mirror no longer carries: refresh once and retry.
(cd "$work" && apt-get download -qq "$pkg" >&2) || {
    log "download failed; running apt-get update and retrying"
    apt-get update -qq >&2 || die "apt-get update failed"
    pkg2=$(concrete_pkg || true)
    if [ -n "$pkg2" ] && [ "$pkg2" != "$pkg" ]; then
        pkg=$pkg2
        out="$CACHE/$pkg.vmlinux"
        log "kernel package now: $pkg"
    fi
    (cd "$work" && apt-get download -qq "$pkg" >&2) || die "apt-get download $pkg failed"
}
deb=$(find "$work" -maxdepth 1 -name "${pkg}_*.deb" | head -n 1)
[ -n "$deb" ] || die "no .deb for $pkg after download"
dpkg-deb -x "$deb" "$work/root"

bz=$(find "$work/root/boot" -maxdepth 1 -name 'vmlinuz-*' | head -n 1)
[ -n "$bz" ] || die "no /boot/vmlinuz-* in $deb"
log "bzImage: ${bz#"$work/root"}"

[ "$(rd_hex "$bz" 0x202 4)" = "48647253" ] || die "$bz: no HdrS setup header"
setup_sects=$(rd_u8 "$bz" 0x1f1)
[ "$setup_sects" -ne 0 ] || setup_sects=4
pm_start=$(( (setup_sects + 1) * 512 ))
payload_offset=$(rd_u32 "$bz" 0x248)
payload_length=$(rd_u32 "$bz" 0x24c)
start=$(( pm_start + payload_offset ))
size=$(stat -c %s "$bz")
log "setup_sects=$setup_sects pm_start=$pm_start payload_offset=$payload_offset payload_length=$payload_length"
if [ "$payload_length" -le 8 ] || [ $(( start + payload_length )) -gt "$size" ]; then
    die "payload [$start, +$payload_length) outside the $size-byte file"
fi

magic=$(rd_hex "$bz" "$start" 6)
case "$magic" in
    02214c18*)     comp=lz4 ;;
    1f8b*)         comp=gzip ;;
    fd377a585a00)  comp=xz ;;
    28b52ffd*)     comp=zstd ;;
    425a68*)       comp=bzip2 ;;
    5d0000*)       comp=lzma ;;
    894c5a4f*)     comp=lzo ;;
    *)             comp="unknown (magic $magic)" ;;
esac
[ "$comp" = lz4 ] || die "payload compression is $comp; this script handles only LZ4 (legacy frame)"

# The last 4 bytes of the payload are the decompressed size (size_append in
# the kernel build), not LZ4 data: hand lz4 the frame without them.
expect=$(rd_u32 "$bz" $(( start + payload_length - 4 )))
dd if="$bz" of="$work/payload.lz4" bs=4096 iflag=skip_bytes,count_bytes \
    skip="$start" count=$(( payload_length - 4 )) status=none
lz4 -d -q -c "$work/payload.lz4" >"$work/vmlinux" || die "lz4 decompression failed"

got=$(stat -c %s "$work/vmlinux")
[ "$got" -eq "$expect" ] || die "decompressed $got bytes, header says $expect"

# ELF64 (EI_CLASS 2), little-endian (EI_DATA 1), ET_EXEC (2), EM_X86_64 (0x3e).
[ "$(rd_hex "$work/vmlinux" 0 6)" = "7f454c460201" ] || die "result is not an ELF64 little-endian file"
[ "$(rd_hex "$work/vmlinux" 16 4)" = "02003e00" ] || die "result is not an x86-64 executable (e_type/e_machine)"

mv "$work/vmlinux" "$out.tmp"
mv "$out.tmp" "$out"
log "extracted $got bytes -> $out"
echo "$out"
