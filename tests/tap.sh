# TAP helpers for shell tests; source it. ANETRAIN is the program under test.
ANETRAIN="${ANETRAIN_BUILDDIR:-.}/anetrain"
tap_n=0
tap_failed=0
ok() {   # ok CONDITION-STATUS DESCRIPTION; returns the condition, for `ok ... || diag ...`
    tap_n=$((tap_n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $tap_n - $2"; else echo "not ok $tap_n - $2"; tap_failed=$((tap_failed + 1)); fi
    [ "$1" -eq 0 ]
}
skip() {   # skip DESCRIPTION REASON
    tap_n=$((tap_n + 1))
    echo "ok $tap_n - $1 # SKIP $2"
}
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
tap_done() { echo "1..$tap_n"; [ "$tap_failed" -eq 0 ]; }
# expect_error DESCRIPTION PATTERN COMMAND...: bad input is refused with a clear line:
# a non-zero exit below 128 (no crash), and stderr (kept in $tmp/err, stdout in
# $tmp/out, the status in $st) matches PATTERN.
expect_error() {
    desc=$1 pat=$2
    shift 2
    "$@" > "$tmp/out" 2> "$tmp/err"
    st=$?
    [ $st -ne 0 ] && [ $st -lt 128 ] && grep -q -E -- "$pat" "$tmp/err"
    ok $? "$desc"
    [ $st -ne 0 ] && [ $st -lt 128 ] || diag "exit status $st"
    grep -q -E -- "$pat" "$tmp/err" || diag "stderr: $(head -c 600 "$tmp/err")"
}
# A temp folder removed on exit.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/anetrain-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# A small, fast model for trainer tests: byte-level, embedded corpus.
# small_config FILE [STEPS] [MORE-TRAIN-KEYS]
small_config() {
    cat > "$1" <<CFG
model = { dim = 64; hidden_dim = 176; n_layers = 2; n_heads = 4; n_kv_heads = 2;
          vocab_size = 256; seq_len = 64; };
train = { batch_size = 4; steps = ${2:-40}; lr = 3e-3; min_lr = 3e-4; warmup_steps = 2;
          log_every = 10; ${3:-} };
checkpoint = { every = 0; };
CFG
}
