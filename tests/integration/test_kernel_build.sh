#!/usr/bin/env bash
# timeout: 1500
# CI-optional: the full guest kernel build (make guest-kernel, ~7 min on two
# cores). Runs only with FEMTOVM_KERNEL_BUILD=1; the fast config check
# (test_kernel_config.sh) runs always.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

[ "${FEMTOVM_KERNEL_BUILD:-0}" = 1 ] || skip "full kernel build is opt-in (FEMTOVM_KERNEL_BUILD=1)"
make -C "$REPO_ROOT" guest-kernel
v=$REPO_ROOT/build/guest/vmlinux
[ -f "$v" ] || fail "no $v after make guest-kernel"
file "$v" | grep -q 'ELF 64-bit LSB executable, x86-64' || fail "$v is not an x86-64 ELF executable"
echo "guest kernel built: $(stat -c %s "$v") bytes"
