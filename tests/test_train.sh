#!/bin/sh
# The trainer end to end on the CPU backend: it learns, resumes bit-exactly, and its
# checkpoints export to llama2.c and back byte for byte.
. "${ANETRAIN_SRCDIR:-.}/tests/tap.sh"
cfg="$tmp/small.cfg"

# Learns: the loss of the last step is well below that of the first (ln 256 = 5.55).
small_config "$cfg" 150
"$ANETRAIN" train --config "$cfg" --ckpt "$tmp/learn.ckpt" --quiet > "$tmp/learn.out" 2>&1
ok $? "train runs 150 steps on the embedded corpus"
losses=$(sed -n 's/^loss *\([0-9.]*\) -> \([0-9.]*\)$/\1 \2/p' "$tmp/learn.out")
diag "first and last loss: $losses"
echo "$losses" | awk '{ exit !($1 > 4.5 && $2 < 0.6 * $1) }'
ok $? "loss falls well below its start (first > 4.5, last < 60% of first)"
"$ANETRAIN" eval --config "$cfg" --ckpt "$tmp/learn.ckpt" --batches 4 > "$tmp/eval.out" 2>&1
ok $? "eval reads the checkpoint"
eval_loss=$(sed -n 's/.*: loss \([0-9.]*\) over.*/\1/p' "$tmp/eval.out")
echo "$eval_loss $losses" | awk '{ exit !($1 < 0.7 * $2) }'
ok $? "eval loss ($eval_loss) is far below the untrained loss"

# Validation on held-out data: the loss the trainer logs is what eval measures on the
# same windows of the final weights.
small_config "$cfg" 20
printf 'Tom and Mia went to the park. They saw a big red ball.\n%.0s' $(seq 1 200) > "$tmp/val.txt"
printf 'data = { eval_path = "val.txt"; };\n' >> "$cfg"
"$ANETRAIN" train --config "$cfg" --ckpt "$tmp/val.ckpt" > "$tmp/val.out" 2>&1
ok $? "train with data.eval_path"
vtrain=$(sed -n 's/.*step 20: validation loss \([0-9.]*\) on .*/\1/p' "$tmp/val.out")
"$ANETRAIN" eval --config "$cfg" --ckpt "$tmp/val.ckpt" --data "$tmp/val.txt" --batches 8 > "$tmp/val.eval" 2>/dev/null
veval=$(sed -n 's/.*: loss \([0-9.]*\) over 8 batches.*/\1/p' "$tmp/val.eval")
diag "validation loss in training $vtrain, eval $veval"
[ -n "$vtrain" ] && [ -n "$veval" ] && echo "$vtrain $veval" | awk '{ exit !(($1 - $2) < 6e-5 && ($2 - $1) < 6e-5) }'
ok $? "the logged validation loss equals eval on the same windows"

# Bit-exact resume: 30 steps in one run == 12 steps, then resume to 30.
small_config "$cfg" 30
"$ANETRAIN" train --config "$cfg" --ckpt "$tmp/full.ckpt" --quiet > /dev/null 2>&1
ok $? "uninterrupted 30-step run"
"$ANETRAIN" train --config "$cfg" --ckpt "$tmp/part.ckpt" --stop-after 12 --quiet > /dev/null 2>&1 &&
"$ANETRAIN" train --config "$cfg" --ckpt "$tmp/part.ckpt" --resume --quiet > /dev/null 2>&1
ok $? "12 steps, then resume to 30"
cmp -s "$tmp/full.ckpt" "$tmp/part.ckpt"
ok $? "resumed checkpoint is byte-identical to the uninterrupted one"
test -f "$tmp/part.ckpt.prev"
ok $? "the previous checkpoint is kept as .prev"

# Same for sequential data order and gradient accumulation.
small_config "$cfg" 30 'data_order = "sequential"; grad_accum = 2;'
"$ANETRAIN" train --config "$cfg" --ckpt "$tmp/sfull.ckpt" --quiet > /dev/null 2>&1 &&
"$ANETRAIN" train --config "$cfg" --ckpt "$tmp/spart.ckpt" --stop-after 7 --quiet > /dev/null 2>&1 &&
"$ANETRAIN" train --config "$cfg" --ckpt "$tmp/spart.ckpt" --resume --quiet > /dev/null 2>&1 &&
cmp -s "$tmp/sfull.ckpt" "$tmp/spart.ckpt"
ok $? "bit-exact resume with sequential order and grad_accum 2"

# Ctrl-C finishes the current step and saves; resuming gives the uninterrupted result.
# The signal is sent once the run has logged step 10 of 1500, so it lands mid-run.
small_config "$cfg" 1500
"$ANETRAIN" train --config "$cfg" --ckpt "$tmp/int.ckpt" > /dev/null 2> "$tmp/int.err" &
pid=$!
i=0
while ! grep -q "^step 10/" "$tmp/int.err" 2>/dev/null && [ $i -lt 600 ]; do
    sleep 0.1
    i=$((i + 1))
done
kill -INT $pid
wait $pid
ok $? "SIGINT ends the run with status 0"
grep -q "stopping at step" "$tmp/int.err"
ok $? "the interrupted run says where it stopped"
diag "$(grep "stopping at step" "$tmp/int.err")"
"$ANETRAIN" train --config "$cfg" --ckpt "$tmp/int.ckpt" --resume --quiet > /dev/null 2>&1 &&
"$ANETRAIN" train --config "$cfg" --ckpt "$tmp/unint.ckpt" --quiet > /dev/null 2>&1 &&
cmp -s "$tmp/int.ckpt" "$tmp/unint.ckpt"
ok $? "interrupted + resumed equals uninterrupted, byte for byte"

# llama2.c round trip: export, then export the exported model again.
"$ANETRAIN" export --format llama2c --ckpt "$tmp/full.ckpt" --out "$tmp/a.bin" 2>"$tmp/err" &&
"$ANETRAIN" export --format llama2c --model "$tmp/a.bin" --out "$tmp/b.bin" 2>>"$tmp/err" &&
cmp -s "$tmp/a.bin" "$tmp/b.bin"
ok $? "checkpoint -> model.bin -> model.bin is byte-identical"
"$ANETRAIN" eval --config "$cfg" --model "$tmp/a.bin" --batches 2 > "$tmp/e1" 2>&1 &&
"$ANETRAIN" eval --config "$cfg" --ckpt "$tmp/full.ckpt" --batches 2 > "$tmp/e2" 2>&1
l1=$(sed -n 's/.*: loss \([0-9.]*\) over.*/\1/p' "$tmp/e1")
l2=$(sed -n 's/.*: loss \([0-9.]*\) over.*/\1/p' "$tmp/e2")
[ -n "$l1" ] && [ "$l1" = "$l2" ]
ok $? "the exported model.bin evaluates to the checkpoint's loss ($l1 vs $l2)"

# Fine-tune from the exported model: starts at the trained loss, not ln 256.
"$ANETRAIN" train --config "$cfg" --init-model "$tmp/a.bin" --ckpt "$tmp/ft.ckpt" --steps 2 > "$tmp/ft.out" 2>&1
first=$(sed -n 's/^loss *\([0-9.]*\) -> .*/\1/p' "$tmp/ft.out")
echo "$first" | awk '{ exit !($1 < 4.5) }'
ok $? "fine-tuning from model.bin starts from its weights (first loss $first)"

# Sampling: greedy is deterministic.
"$ANETRAIN" sample --ckpt "$tmp/learn.ckpt" --temperature 0 --tokens 40 --prompt "Once" > "$tmp/s1" 2>/dev/null &&
"$ANETRAIN" sample --ckpt "$tmp/learn.ckpt" --temperature 0 --tokens 40 --prompt "Once" > "$tmp/s2" 2>/dev/null &&
cmp -s "$tmp/s1" "$tmp/s2" && [ "$(wc -c < "$tmp/s1")" -ge 40 ]
ok $? "greedy sampling is deterministic and prints the tokens"
diag "sample: $(head -c 120 "$tmp/s1")"

# The report's phases are shares of its wall time, the final validation and checkpoint
# included: they add up to 100% (7 figures rounded to 0.1%), never more.
small_config "$cfg" 3
printf 'data = { eval_path = "val.txt"; };\n' >> "$cfg"
"$ANETRAIN" train --config "$cfg" --ckpt "$tmp/phase.ckpt" --quiet > "$tmp/phase.out" 2>&1
pct=$(awk '/^  [a-z+ ]+ +[0-9.]+ ms +[0-9.]+%$/ { sub("%", "", $NF); t += $NF; n++ }
           END { if (n == 7) print t }' "$tmp/phase.out")
[ -n "$pct" ] && echo "$pct" | awk '{ exit !($1 > 90 && $1 < 100.5) }'
ok $? "the time by phase adds up to 100% of the wall time (got $pct%)"

# --stop-after: the last step of the run is logged, like the last of train.steps.
small_config "$cfg" 30
"$ANETRAIN" train --config "$cfg" --ckpt "$tmp/stop.ckpt" --stop-after 7 > /dev/null 2> "$tmp/stop.err"
grep -q "^step 7/30 " "$tmp/stop.err"
ok $? "--stop-after 7 logs step 7 (log_every 10)"
tap_done
