#!/usr/bin/env bash
# timeout: 120
# Serial input end to end (DESIGN.md §5): femtovm's stdin feeds COM1's
# receive FIFO, the echo guest reads it from its RX-data interrupt (IOAPIC
# pin 4) and prints "echo: got <line>" per line. Input is backpressured at
# the guest's FIFO, so nothing may be lost, whatever the line length, and
# whether the writer closes the pipe (EOF) or keeps it open.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

require_root
require_kvm
require_femtovm
ELF=$(require_guest echo.elf)
PVH=$(require_guest echo-pvh.elf)

# check_lines OUT FILE: the "echo: got" lines of OUT are exactly FILE's lines.
check_lines() {
    local out=$1 want=$2
    if ! sed -n 's/^echo: got //p' "$out" | cmp -s - "$want"; then
        show_outputs "$out"
        echo "--- diff (echoed vs sent)"
        sed -n 's/^echo: got //p' "$out" | diff - "$want" | head -n 20 || true
        fail "$out: echoed lines differ from the input"
    fi
}

# check_bye OUT: exit 0, irqs > 0, then bye as the last line.
check_bye() {
    local out=$1 rc=$2 irqs
    if [ "$rc" -ne 0 ] || [ "$(tail -n 1 "$out")" != "echo: bye" ]; then
        show_outputs "$out"
        fail "$out: exit $rc, expected 0 after 'echo: bye'"
    fi
    irqs=$(sed -n 's/^echo: irqs=\([0-9][0-9]*\)$/\1/p' "$out")
    if [ -z "$irqs" ] || [ "$irqs" -le 0 ]; then
        show_outputs "$out"
        fail "$out: no serial interrupts counted (irqs='$irqs')"
    fi
    grep -qx 'echo: ready' "$out" || fail "$out: no 'echo: ready'"
}

# 1. All input up front through a pipe whose writer exits at once (EOF
#    while the guest still reads), CRLF and LF line ends, text after quit
#    is not echoed.
pipe_case() {
    local kernel=$1 tag=$2 cfg out rc=0
    cfg=$TEST_TMP/pipe-$tag.json
    out=$TEST_TMP/pipe-$tag.out
    make_config "$cfg" "$kernel" "console=ttyS0 timeout_ms=5000"
    printf 'hello world\r\nsecond line\n\nthird: 1 2 3\nquit\nnot echoed\n' |
        timeout --kill-after=5 20 "$FEMTOVM" --no-api --config-file "$cfg" \
            >"$out" 2>"$out.err" || rc=$?
    printf 'hello world\nsecond line\n\nthird: 1 2 3\nquit\n' >"$TEST_TMP/want"
    check_lines "$out" "$TEST_TMP/want"
    check_bye "$out" "$rc"
    info "ok pipe input ($tag)"
}
pipe_case "$ELF" elf
pipe_case "$PVH" pvh

# The remaining cases keep the writer open through a FIFO (an interactive
# terminal or a long-lived producer), so the monitor only ever sees data,
# never EOF/HUP, on its stdin.
FIFO_FD=
start_fifo() {  # start_fifo CFG OUT: monitor reading from a FIFO; writer on $FIFO_FD
    local cfg=$1 out=$2 fifo=$TEST_TMP/in.fifo
    rm -f "$fifo"
    mkfifo "$fifo"
    : >"$out"
    "$FEMTOVM" --no-api --config-file "$cfg" <"$fifo" >"$out" 2>"$out.err" &
    FVM_PID=$!
    FVM_PIDS+=("$FVM_PID")
    exec {FIFO_FD}>"$fifo"
}
# finish_fifo TIMEOUT: wait for the monitor to exit (or kill it), close the
# writer; exit status in FVM_RC (124 = had to be killed).
finish_fifo() {
    local deadline=$((SECONDS + $1))
    while femtovm_alive && [ $SECONDS -lt $deadline ]; do
        sleep 0.1
    done
    if femtovm_alive; then
        femtovm_stop
        FVM_RC=124
    else
        FVM_RC=0
        wait "$FVM_PID" || FVM_RC=$?
    fi
    exec {FIFO_FD}>&-
}

# 2. Lines sent one at a time after "echo: ready", a 300-byte line among
#    them (more than four FIFOs' worth: it must arrive intact).
long=
while [ ${#long} -lt 300 ]; do
    long+="0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTUVWXYZ_"
done
long=${long:0:300}
cfg=$TEST_TMP/slow.json
out=$TEST_TMP/slow.out
make_config "$cfg" "$ELF" "console=ttyS0 timeout_ms=5000"
start_fifo "$cfg" "$out"
wait_for_patterns "$out" 10 '^echo: ready$' || { show_outputs "$out"; fail "echo guest not ready"; }
printf 'one\ntwo\n%s\nthree\nquit\n' "$long" >"$TEST_TMP/want"
while IFS= read -r l; do
    printf '%s\n' "$l" >&"$FIFO_FD"
    sleep 0.05
done <"$TEST_TMP/want"
finish_fifo 20
check_lines "$out" "$TEST_TMP/want"
check_bye "$out" "$FVM_RC"
grep -qxF "echo: got $long" "$out" || fail "300-byte line not intact"
info "ok line by line with a 300-byte line"

# 3. Bulk input (~25 KiB, 400 lines) written at once with the writer kept
#    open: the FIFO fills and drains hundreds of times; every byte must
#    arrive (a lost backpressure wakeup stalls input and the guest times out).
cfg=$TEST_TMP/bulk.json
out=$TEST_TMP/bulk.out
make_config "$cfg" "$ELF" "console=ttyS0 timeout_ms=3000"
for i in $(seq 0 399); do
    printf 'L%d-%s\n' "$i" "$(printf '%*s' $((i * 37 % 120)) '' | tr ' ' y)"
done >"$TEST_TMP/want"
echo quit >>"$TEST_TMP/want"
start_fifo "$cfg" "$out"
cat "$TEST_TMP/want" >&"$FIFO_FD"
finish_fifo 60
if [ "$(tail -n 1 "$out")" = "echo: timeout" ]; then
    info "input stalled after $(grep -c '^echo: got ' "$out") of 401 lines"
    show_outputs "$out"
    fail "bulk input: the monitor stopped feeding stdin to the guest (lost backpressure wakeup)"
fi
check_lines "$out" "$TEST_TMP/want"
check_bye "$out" "$FVM_RC"
info "ok bulk input, writer open"

# 4. The guest clears its receive FIFO (FCR, as Linux's 8250 driver does at
#    start-up) while host input is queued behind a full FIFO: the cleared
#    bytes are gone, but input must keep flowing afterwards.
cfg=$TEST_TMP/flush.json
out=$TEST_TMP/flush.out
make_config "$cfg" "$ELF" "console=ttyS0 timeout_ms=3000 flush_ms=300"
start_fifo "$cfg" "$out"
printf '%0200d\n' 0 >&"$FIFO_FD"     # 201 bytes: more than the 64-byte FIFO
wait_for_patterns "$out" 10 '^echo: ready$' || { show_outputs "$out"; fail "echo guest not ready (flush)"; }
assert_grep "$out" '^echo: flushed$'
printf 'after flush\nquit\n' >&"$FIFO_FD"
finish_fifo 20
if [ "$(tail -n 1 "$out")" = "echo: timeout" ]; then
    show_outputs "$out"
    fail "input after an FCR receive-FIFO clear never reached the guest (backpressure not released)"
fi
check_bye "$out" "$FVM_RC"
assert_grep "$out" '^echo: got 0+$' "rest of the 201-byte line not delivered after the flush"
assert_grep "$out" '^echo: got after flush$' "line after the flush not delivered"
info "ok FIFO clear with queued input"

# 5. No input at all: the guest gives up after timeout_ms of PIT time and
#    resets (exit 0). Stdin is /dev/null here (no input source).
cfg=$TEST_TMP/idle.json
out=$TEST_TMP/idle.out
make_config "$cfg" "$ELF" "console=ttyS0 timeout_ms=400"
t0=$(date +%s%N)
femtovm_run_config "$cfg" 20 "$out"
ms=$((($(date +%s%N) - t0) / 1000000))
assert_exit 0 "$FVM_RC" "idle echo exit code"
[ "$(tail -n 2 "$out" | tr '\n' ' ')" = "echo: irqs=0 echo: timeout " ] || { show_outputs "$out"; fail "idle: expected irqs=0 then timeout"; }
if [ "$ms" -lt 350 ] || [ "$ms" -ge 10000 ]; then fail "idle: timeout_ms=400 took $ms ms"; fi
info "ok timeout without input (${ms} ms)"
