#!/usr/bin/env bash
# timeout: 300
# The guest kernel config (resources/kernel-configs/) still means what we
# want after Kconfig has seen it: run `make olddefconfig` on it with Debian's
# linux-source-6.1 (no kernel build) and assert every required symbol is =y
# (or has its value) and every forbidden one is unset. Also checks that the
# committed config is exactly allnoconfig + microvm.fragment + olddefconfig.
#
# Needs no KVM. Installs linux-source-6.1, gcc, make, flex, bison, bc with apt
# if missing (root; otherwise SKIP). Only the Kconfig/Makefile/scripts part
# of the source is unpacked, cached in ${FEMTOVM_CACHE:-/var/cache/femtovm}
# (~40 MB); first run ~30-60 s, later runs ~10-20 s.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

CFG_DIR=$REPO_ROOT/resources/kernel-configs
CONFIG=${KERNEL_CONFIG:-$CFG_DIR/microvm-x86_64-6.1.config}   # override: negative checks
FRAGMENT=$CFG_DIR/microvm.fragment
TARBALL=/usr/src/linux-source-6.1.tar.xz
CACHE=${FEMTOVM_CACHE:-/var/cache/femtovm}

[ -f "$CONFIG" ] || fail "missing $CONFIG"
[ -f "$FRAGMENT" ] || fail "missing $FRAGMENT"

# Symbols that must be =y (or the given value) after olddefconfig.
REQUIRED=(
    64BIT SMP NR_CPUS=32 X86_MPPARSE X86_LOCAL_APIC X86_IO_APIC X86_X2APIC
    HYPERVISOR_GUEST PARAVIRT PARAVIRT_SPINLOCKS KVM_GUEST PARAVIRT_CLOCK PVH
    X86_IOPL_IOPERM
    ACPI
    BLK_DEV_INITRD RD_GZIP BINFMT_ELF BINFMT_SCRIPT PRINTK PRINTK_TIME
    EARLY_PRINTK
    VIRTIO VIRTIO_MMIO VIRTIO_MMIO_CMDLINE_DEVICES VIRTIO_BLK VIRTIO_NET
    NET UNIX INET PACKET VSOCKETS VIRTIO_VSOCKETS
    TTY SERIAL_8250 SERIAL_8250_CONSOLE SERIAL_8250_NR_UARTS=1
    SERIAL_8250_RUNTIME_UARTS=1 UNIX98_PTYS
    VT INPUT INPUT_KEYBOARD KEYBOARD_ATKBD SERIO SERIO_I8042
    BLOCK EXT4_FS PROC_FS SYSFS TMPFS DEVTMPFS DEVTMPFS_MOUNT
    FUTEX EPOLL SHMEM MULTIUSER
)
# Symbols that must not be set.
FORBIDDEN=(
    MODULES PCI X86_32 EFI IPV6 WIRELESS CFG80211 WLAN BT SOUND SND USB_SUPPORT
    USB DRM FB AGP HID INPUT_MOUSE SCSI ATA MD NFS_FS SWAP HIBERNATION SUSPEND
    DEBUG_INFO KVM VHOST XEN HYPERV VMWARE_BALLOON VIRTIO_PCI VIRTIO_BALLOON
    VIRTIO_CONSOLE HW_RANDOM RTC_CLASS CPU_FREQ DEVMEM
)

# --- tools (CI machines are fresh Debian 12)
pkgs=(linux-source-6.1 gcc make libc6-dev flex bison bc xz-utils)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" -eq 0 ] || skip "needs ${missing[*]} (run as root to install)"
    info "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    } || fail "apt-get install ${missing[*]} failed"
fi
[ -f "$TARBALL" ] || fail "$TARBALL missing after installing linux-source-6.1"

# --- the Kconfig part of the source, cached per package version
ver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
src=$CACHE/linux-source-$ver-kconfig/linux-source-6.1
if [ ! -f "$src/.complete" ]; then
    info "unpacking the Kconfig files of linux-source-6.1 $ver into $CACHE"
    mkdir -p "$CACHE"
    tmp=$(mktemp -d "$CACHE/.kconfig.XXXXXX")
    tar -C "$tmp" -xf "$TARBALL" --wildcards 'linux-source-6.1/Makefile' \
        'linux-source-6.1/scripts/*' '*Kconfig*' '*/Makefile*' '*/Kbuild*' ||
        { rm -rf "$tmp"; fail "cannot unpack $TARBALL"; }
    touch "$tmp/linux-source-6.1/.complete"
    rm -rf "$CACHE/linux-source-$ver-kconfig"
    mv "$tmp" "$CACHE/linux-source-$ver-kconfig"
fi
kver=$(make -s -C "$src" kernelversion 2>/dev/null) || kver=unknown

# olddefconfig on a copy of the committed config (out of tree: the cache
# stays clean and several runs can share it).
out=$TEST_TMP/olddef
mkdir -p "$out"
cp "$CONFIG" "$out/.config"
make -s -C "$src" O="$out" ARCH=x86_64 olddefconfig >"$TEST_TMP/kconfig.log" 2>&1 ||
    { cat "$TEST_TMP/kconfig.log"; fail "make olddefconfig failed"; }
result=$out/.config

# value SYMBOL FILE: "y", a value, or "" when unset.
value() { sed -n "s/^CONFIG_$1=//p" "$2" | head -n 1 | tr -d '"'; }

bad=()
for r in "${REQUIRED[@]}"; do
    sym=${r%%=*}
    want=y
    [ "$r" = "$sym" ] || want=${r#*=}
    got=$(value "$sym" "$result")
    [ "$got" = "$want" ] || bad+=("CONFIG_$sym is '${got:-unset}', want '$want'")
done
# Every line of the fragment must have survived too.
while IFS= read -r line; do
    case $line in ''|'#'*) continue ;; esac
    sym=${line%%=*}
    grep -qxF -- "$line" "$result" && continue
    now=$(grep -E "^($sym=|# $sym is not set)" "$result" | head -n 1 || true)
    bad+=("fragment line lost: $line (now: ${now:-absent, dependencies unmet})")
done <"$FRAGMENT"
for f in "${FORBIDDEN[@]}"; do
    got=$(value "$f" "$result")
    [ -z "$got" ] || [ "$got" = n ] || bad+=("CONFIG_$f is '$got', must be unset")
done
if [ ${#bad[@]} -gt 0 ]; then
    printf '  %s\n' "${bad[@]}"
    fail "${#bad[@]} kernel config symbol(s) wrong after olddefconfig (linux $kver)"
fi
info "ok ${#REQUIRED[@]} required and ${#FORBIDDEN[@]} forbidden symbols (linux $kver, package $ver)"

# --- the committed file is the complete, regenerated config. Strict only
# for the kernel version it was generated with: a newer 6.1.y package may
# add symbols, which is worth a note, not a red CI.
cfgver=$(sed -n 's|^# Linux/x86_64 \([^ ]*\) Kernel Configuration$|\1|p' "$CONFIG" | head -n 1)
stale() {
    if [ "$kver" = "$cfgver" ]; then fail "$*"; fi
    info "note (config made for $cfgver, source is $kver): $*"
}
strip_cfg() { grep -v '^#' "$1" | grep -v '^$' | grep -vE '^CONFIG_(CC_VERSION_TEXT|GCC_VERSION|AS_VERSION|LD_VERSION|PAHOLE_VERSION)='; }
if ! diff <(strip_cfg "$CONFIG") <(strip_cfg "$result") >"$TEST_TMP/olddef.diff"; then
    sed 's/^/#   /' "$TEST_TMP/olddef.diff" | head -n 40
    stale "olddefconfig changes the committed config: regenerate it (resources/kernel-configs/README.md)"
fi
gen=$TEST_TMP/gen
mkdir -p "$gen"
if ! { KCONFIG_ALLCONFIG=$FRAGMENT make -s -C "$src" O="$gen" ARCH=x86_64 allnoconfig &&
       make -s -C "$src" O="$gen" ARCH=x86_64 olddefconfig; } >"$TEST_TMP/gen.log" 2>&1; then
    cat "$TEST_TMP/gen.log"
    fail "allnoconfig + fragment failed"
fi
if ! diff <(strip_cfg "$CONFIG") <(strip_cfg "$gen/.config") >"$TEST_TMP/gen.diff"; then
    sed 's/^/#   /' "$TEST_TMP/gen.diff" | head -n 40
    stale "the committed config is not allnoconfig + microvm.fragment + olddefconfig: regenerate it"
fi
info "PASS: config is olddefconfig-stable and generated from microvm.fragment ($cfgver)"
