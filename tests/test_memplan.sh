#!/bin/sh
# The memory plan against the real thing: for two model sizes, the estimate the trainer
# logs before opening the CPU backend against the peak resident memory the run reached
# (GNU time's %M). The estimate leaves out the program, its libraries and OpenBLAS's
# buffers, which do not depend on the model, so it must stay below the peak, and the
# growth from the small to the large model must match the growth of the peak within
# 15%. A machine too small for the run refuses it before training, with the figures.
. "${ANETRAIN_SRCDIR:-.}/tests/tap.sh"
if [ ! -x /usr/bin/time ]; then echo "1..0 # SKIP GNU time (/usr/bin/time) is not installed"; exit 0; fi
run() {   # run NAME DIM LAYERS BATCH: prints "estimate_MB peak_MB"
    cat > "$tmp/$1.cfg" <<CFG
model = { dim = $2; hidden_dim = $(($2 * 3)); n_layers = $3; n_heads = 4; n_kv_heads = 4;
          vocab_size = 256; seq_len = 128; };
train = { batch_size = $4; steps = 2; lr = 1e-3; warmup_steps = 1; log_every = 1; };
checkpoint = { every = 0; };
backend = "cpu";
CFG
    /usr/bin/time -f "peak_kb %M" "$ANETRAIN" train --config "$tmp/$1.cfg" --ckpt "$tmp/$1.ckpt" \
        > "$tmp/$1.out" 2>&1
    est=$(sed -n 's/.*plan for cpu: about \([0-9]*\) MB.*/\1/p' "$tmp/$1.out" | head -1)
    peak=$(sed -n 's/^peak_kb \([0-9]*\)/\1/p' "$tmp/$1.out")
    echo "$est $((peak / 1024))"
}
set -- $(run small 64 2 4)
es=$1 ps=$2
set -- $(run large 384 6 16)
el=$1 pl=$2
diag "small model: estimate $es MB, peak $ps MB; large model: estimate $el MB, peak $pl MB"
test -n "$es" && test -n "$el" && test "$es" -le "$ps" && test "$el" -le "$pl"
ok $? "the estimates stay below the measured peaks (they leave out the program itself)"
de=$((el - es)) dp=$((pl - ps))
if [ -n "${ANETRAIN_SANITIZERS:-}" ]; then   # ASan's shadow memory grows with the heap
    skip "the estimate grows with the model as the peak does (+$de MB against +$dp MB)" \
        "built with sanitizers, whose shadow memory inflates the peak"
else
    test "$de" -gt 0 && test $((dp * 100)) -ge $((de * 85)) && test $((dp * 100)) -le $((de * 115))
    ok $? "the estimate grows with the model as the peak does: +$de MB against +$dp MB"
fi

ANETRAIN_MEMORY=64M "$ANETRAIN" train --config "$tmp/large.cfg" --ckpt "$tmp/refused.ckpt" > "$tmp/refused.out" 2>&1
test $? -ne 0 && ! test -e "$tmp/refused.ckpt" &&
    grep -q "the run needs about $el MB (training state [0-9]* MB + cpu [0-9]* MB) and the machine has 64 MB" "$tmp/refused.out"
ok $? "a machine too small for the run refuses it before training, with the figures"
tap_done
