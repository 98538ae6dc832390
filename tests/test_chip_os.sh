#!/bin/sh
# The OS the chip profile is chosen for (docs/ane.md §7, §12.6): --os > ANETRAIN_OS >
# the config's os key > this machine, as for the chip; what `backends` and `doctor`
# print for it; bad values named with where they came from.
. "${ANETRAIN_SRCDIR:-.}/tests/tap.sh"
unset ANETRAIN_OS ANETRAIN_CHIP

# os_line EXPECTED DESCRIPTION COMMAND...: `backends` prints "os: EXPECTED; ..."
os_line() {
    want=$1 desc=$2
    shift 2
    "$@" > "$tmp/out" 2> "$tmp/err"
    line=$(grep '^os: ' "$tmp/out")
    [ "$line" = "os: $want" ]
    ok $? "$desc"
    [ "$line" = "os: $want" ] || diag "got: $line" "stderr: $(head -c 300 "$tmp/err")"
}

printf 'chip = "M1";\nos = "15.0";\n' > "$tmp/os.cfg"
os_line "15.6 (forced); profile entries: M1, M1 [os < 26]" "--os wins over ANETRAIN_OS and the config" \
    env ANETRAIN_OS=26.3 "$ANETRAIN" backends --config "$tmp/os.cfg" --os 15.6
os_line "26.3 (forced); profile entries: M1, M1 [os >= 26]" "ANETRAIN_OS wins over the config" \
    env ANETRAIN_OS=26.3 "$ANETRAIN" backends --config "$tmp/os.cfg"
os_line "15.0 (forced); profile entries: M1, M1 [os < 26]" "the config's os key" \
    "$ANETRAIN" backends --config "$tmp/os.cfg"
os_line "26.0 (forced); profile entries: M2, M2 [os >= 26]" "ANETRAIN_CHIP and ANETRAIN_OS together" \
    env ANETRAIN_CHIP="M2 Max" ANETRAIN_OS=26.0 "$ANETRAIN" backends
os_line "26.2 (forced); profile entries: M1, M1 [os >= 26]" "a forced 16.2 (macOS 26 in compatibility mode) is taken as 26.2" \
    "$ANETRAIN" backends --chip M1 --os 16.2
if [ "$(uname -s)" = Linux ]; then
    os_line "linux; profile entries: M1, M1 [os >= 26]" "a forced M1 on Linux: os linux, the conservative entries" \
        "$ANETRAIN" backends --chip M1
    os_line "linux; profile entries: none" "no chip forced on Linux: none" "$ANETRAIN" backends
fi

"$ANETRAIN" doctor --chip M1 --os 26.3 > "$tmp/out" 2>&1
grep -q 'os: 26.3; profile entries: M1, M1 \[os >= 26\]' "$tmp/out" &&
    grep -q 'ops refused: reshape transpose slice_by_size slice_by_index concat split gather pad reduce_\* pow rsqrt; silent-zero rules (§7.3): yes' "$tmp/out" &&
    grep -q 'MIL program(1.0) <ios16> verbose scalars' "$tmp/out"
ok $? "doctor on M1 / macOS 26.3: the verbose dialect, the refused ops, the silent-zero rules"
"$ANETRAIN" doctor --chip M1 --os 15.6 > "$tmp/out" 2>&1
grep -q 'MIL program(1.3) <ios18> shorthand scalars' "$tmp/out" &&
    grep -q 'ops refused: none; silent-zero rules (§7.3): no' "$tmp/out"
ok $? "doctor on M1 / macOS 15.6: the modern dialect, nothing refused"

expect_error "--os that is no version" '--os Tahoe: expected a macOS version' \
    "$ANETRAIN" backends --os Tahoe
expect_error "ANETRAIN_OS that is no version" 'ANETRAIN_OS=15\.x: expected a macOS version' \
    env ANETRAIN_OS=15.x "$ANETRAIN" train --steps 1
printf 'os = "fifteen";\n' > "$tmp/bad.cfg"
expect_error "config os that is no version names the file" "bad.cfg: os = \"fifteen\": expected" \
    "$ANETRAIN" train --config "$tmp/bad.cfg"
tap_done
