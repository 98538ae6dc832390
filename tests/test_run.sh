#!/bin/sh
# The run experience through the real program (issue 11): the metrics log, progress on
# a pipe, held-out validation, resuming from the checkpoint alone, saying where the
# checkpoint is and how to go on (Ctrl-C once, twice), flags and their errors, --quiet,
# warnings, export's refusal, sample and eval defaults, doctor's BLAS line, plot (PNG
# and SVG checked against the log's numbers) and top under tmux.
. "${ANETRAIN_SRCDIR:-.}/tests/tap.sh"
cfg="$tmp/small.cfg"
small_config "$cfg" 12
printf 'Tom and Mia went to the park. They saw a big red ball and a small dog.\n%.0s' \
    $(seq 1 300) > "$tmp/text.txt"
ck="$tmp/r.ckpt"
wait_for() {   # wait_for PATTERN FILE: until a line of FILE matches (at most 60 s)
    i=0
    while ! grep -q -- "$1" "$2" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
}
log="$ck.log.jsonl"

# ---- the metrics log ----------------------------------------------------------------
"$ANETRAIN" train --config "$cfg" --data "$tmp/text.txt" --ckpt "$ck" > "$tmp/out" 2> "$tmp/err"
ok $? "a 12-step run on a text file"
[ "$(grep -c '"event":"step"' "$log")" -eq 12 ] && [ "$(grep -c '"event":"start"' "$log")" -eq 1 ] &&
    [ "$(grep -c '"event":"summary"' "$log")" -eq 1 ] && grep -q '"event":"ckpt"' "$log"
ok $? "the log beside the checkpoint: a start, 12 steps, a checkpoint line and a summary"
# the report's last loss (4 decimals) is the log's step-12 loss
want=$(sed -n 's/^loss *[0-9.]* -> \([0-9.]*\)$/\1/p' "$tmp/out")
got=$(grep '"event":"step"' "$log" | tail -n 1 | sed 's/.*"loss":\([-0-9.e+]*\).*/\1/' |
      awk '{ printf "%.4f", $1 }')
[ -n "$want" ] && [ "$want" = "$got" ]
ok $? "the log's last loss is the report's ($got = $want)"
grep '"event":"step"' "$log" | head -n 1 | grep -q '"grad_norm":[0-9]' &&
    grep '"event":"step"' "$log" | head -n 1 | grep -q '"tokens_per_s":[0-9].*"ms_per_step":[0-9].*"backend":"cpu"'
ok $? "step lines hold grad norm, tokens/s, ms/step and the backend"

# ---- progress on a pipe: the first step at once, timestamps; held-out loss -------------
grep -q "^step 1/12 | .* | [0-9][0-9]:[0-9][0-9]:[0-9][0-9]\$" "$tmp/err" &&
    grep -q "^step 10/12 " "$tmp/err" && grep -q "^step 12/12 " "$tmp/err"
ok $? "on a pipe: step 1 at once, then every log_every, each with the time"
grep -q "validation loss [0-9.]* on .*text.txt (last 5%)" "$tmp/err"
ok $? "a text file's last 5% is held out and validated on by default"
val=$(grep '"event":"val"' "$log" | tail -n 1 | sed 's/.*"val_loss":\([-0-9.e+]*\).*/\1/' |
      awk '{ printf "%.6f", $1 }')
ev=$("$ANETRAIN" eval --ckpt "$ck" --batches 8 2>/dev/null | sed -n 's/.*: loss \([0-9.]*\) over.*/\1/p')
[ -n "$val" ] && [ "$val" = "$ev" ]
ok $? "eval with no --data evaluates the run's held-out data: $ev = the logged $val"
grep -q "saved .*r.ckpt" "$tmp/err" && grep -q "checkpoint: .*r.ckpt (step 12)" "$tmp/err"
ok $? "the save and the end say where the checkpoint is"

# ---- --resume from the checkpoint alone, bit-exactly; flags override and are logged ----
"$ANETRAIN" train --resume --ckpt "$ck" --steps 16 > /dev/null 2> "$tmp/err"
ok $? "--resume with no config continues the run"
grep -q "options from .*r.ckpt; the flags given change steps 16 (was 12)" "$tmp/err" &&
    grep '"event":"resume"' "$log" | grep -q '"overrides":"steps 16 (was 12)"'
ok $? "  the flag that changed an option is said, and logged in the resume line"
[ "$(grep -c '"event":"step"' "$log")" -eq 16 ]
ok $? "  the log was appended to (16 step lines)"
"$ANETRAIN" train --config "$cfg" --data "$tmp/text.txt" --ckpt "$tmp/straight.ckpt" --steps 16 \
    > /dev/null 2>&1 &&
"$ANETRAIN" train --config "$cfg" --data "$tmp/text.txt" --ckpt "$tmp/part.ckpt" --steps 16 \
    --stop-after 12 > /dev/null 2>&1 &&
"$ANETRAIN" train --resume --ckpt "$tmp/part.ckpt" > /dev/null 2>&1 &&
cmp -s "$tmp/part.ckpt" "$tmp/straight.ckpt"
ok $? "  12 of 16 steps + a config-less resume equal 16 straight steps, byte for byte"

# ---- Ctrl-C: where the checkpoint is and the exact command to go on; twice: at once ----
small_config "$tmp/long.cfg" 100000
"$ANETRAIN" train --config "$tmp/long.cfg" --ckpt "$tmp/int.ckpt" > /dev/null 2> "$tmp/int.err" &
pid=$!
wait_for "^step 10/" "$tmp/int.err"
kill -INT $pid
wait $pid
st=$?
cmd=$(sed -n 's/.*; continue with: \(anetrain train --resume .*\)$/\1/p' "$tmp/int.err")
diag "said: $cmd"
[ $st -eq 0 ] && grep -q "press Ctrl-C again to stop at once" "$tmp/int.err" && [ -n "$cmd" ]
ok $? "Ctrl-C: saves, exits 0 and gives the command that continues the run"
at=$(sed -n 's/.*checkpoint: .*int.ckpt (step \([0-9]*\) of 100000).*/\1/p' "$tmp/int.err")
(cd "$tmp" && eval "\"$ANETRAIN\" ${cmd#anetrain} --stop-after 1" > /dev/null 2> "$tmp/res.err")
grep -q "resumed .*int.ckpt at step $at\$" "$tmp/res.err"
ok $? "  that command, run as said, resumes from step $at"
# The second signal must reach the trainer while it honours the first: stopped, it
# holds both pending (an INT and a TERM, which do not merge), and gets them in a row
# when continued.
sed 's/every = 0;/every = 2;/' "$tmp/long.cfg" > "$tmp/long2.cfg"
"$ANETRAIN" train --config "$tmp/long2.cfg" --ckpt "$tmp/twice.ckpt" > /dev/null 2> "$tmp/tw.err" &
pid=$!
wait_for "saved .*twice.ckpt" "$tmp/tw.err"
kill -STOP $pid; kill -INT $pid; kill -TERM $pid; kill -CONT $pid
wait $pid
st=$?
ok $( ([ $st -eq 130 ] || [ $st -eq 143 ]) && grep -q "stopped at once" "$tmp/tw.err" &&
     "$ANETRAIN" eval --config "$cfg" --ckpt "$tmp/twice.ckpt" --batches 1 > /dev/null 2>&1
     echo $?) "a second signal stops at once (status $st); the last checkpoint loads"

# ---- flags and config agree ---------------------------------------------------------
"$ANETRAIN" train --config "$cfg" --ckpt "$tmp/f.ckpt" --steps 6 --lr 0.002 --schedule constant \
    --warmup 0 --clip 0 --data-order sequential --log "$tmp/f.jsonl" --quiet > /dev/null 2>&1
n=$(grep '"event":"step"' "$tmp/f.jsonl" | grep -c '"lr":0.002,')
ok $([ "$n" -eq 6 ]; echo $?) "--lr --schedule constant --warmup 0: every step at lr 0.002 ($n of 6)"
printf 'train = {\n  lr = 0.001;\n  min_lr = 0.0005;\n};\n' > "$tmp/lr.cfg"
expect_error "a config error caused by a flag does not cite the file" \
    "^anetrain train: train.min_lr: train.min_lr \(0.01\) must not exceed train.lr \(0.001\)" \
    "$ANETRAIN" train --config "$tmp/lr.cfg" --min-lr 0.01 --ckpt "$tmp/x.ckpt"
expect_error "--schedule takes cosine or constant" "^anetrain train: --schedule bogus: expected cosine or constant" \
    "$ANETRAIN" train --schedule bogus --ckpt "$tmp/x.ckpt"
expect_error "an unknown option names 'anetrain eval'" "^anetrain eval: unknown option '--bogus'" \
    "$ANETRAIN" eval --bogus
expect_error "a missing value names 'anetrain train'" "^anetrain train: option '--steps' needs a value" \
    "$ANETRAIN" train --steps
expect_error "a repeated --config is an error" "^anetrain train: --config given twice" \
    "$ANETRAIN" train --config "$cfg" --config "$tmp/lr.cfg"
printf 'lr = 0.1;\n' > "$tmp/hint.cfg"
expect_error "the hint is written as config syntax" "did you mean train.lr\\? write it as train = \\{ lr = \\.\\.\\.; \\};" \
    "$ANETRAIN" train --config "$tmp/hint.cfg"
"$ANETRAIN" help train > "$tmp/h1" && "$ANETRAIN" train --help > "$tmp/h2" && cmp -s "$tmp/h1" "$tmp/h2"
ok $? "'anetrain help train' is 'anetrain train --help'"
"$ANETRAIN" train --config "$cfg" --ckpt "$tmp/q.ckpt" --steps 3 --quiet > "$tmp/q.out" 2> "$tmp/q.err"
ok $([ $? -eq 0 ] && [ ! -s "$tmp/q.err" ] && grep -q "efficiency report" "$tmp/q.out"; echo $?) \
    "--quiet: nothing on stderr, the report on stdout"

# ---- warnings ---------------------------------------------------------------------------
sed 's/vocab_size = 256;/vocab_size = 512;/' "$cfg" > "$tmp/v512.cfg"
"$ANETRAIN" train --config "$tmp/v512.cfg" --ckpt "$tmp/v.ckpt" --steps 1 > /dev/null 2> "$tmp/err"
grep -q "warning: model.vocab_size is 512 but .* byte-level text .* 256 embedding rows are never trained" "$tmp/err"
ok $? "a vocabulary byte data cannot use is warned about"
"$ANETRAIN" train --config "$cfg" --ckpt "$tmp/slow.ckpt" --steps 1000000000 --stop-after 4 \
    > /dev/null 2> "$tmp/err"
grep -q "warning: step [0-9]*: .* s per step: the [0-9]* steps left would take [0-9.]* days" "$tmp/err"
ok $? "a run that would take days is warned about"
"$ANETRAIN" train --config "$cfg" --ckpt "$tmp/t1.ckpt" --steps 2 --threads 1 --quiet > /dev/null 2>&1
"$ANETRAIN" train --config "$cfg" --ckpt "$tmp/t1.ckpt" --steps 3 --threads 2 --resume > /dev/null 2> "$tmp/err"
grep -q "trained with 1 .* threads, this run has 2: .* not bit-exactly .*--threads 1" "$tmp/err"
ok $? "resuming with another BLAS thread count is warned about"

# ---- never clobber: export; defaults of sample and eval --------------------------------
cp "$ck" "$tmp/keep.ckpt"
expect_error "export --out refuses an existing checkpoint" "holds an anetrain checkpoint \\(step 16\\)" \
    "$ANETRAIN" export --ckpt "$ck" --out "$tmp/keep.ckpt"
expect_error "  and a checkpoint's name" "a checkpoint's name" \
    "$ANETRAIN" export --ckpt "$ck" --out "$tmp/new.ckpt"
cmp -s "$ck" "$tmp/keep.ckpt" && ! test -e "$tmp/new.ckpt"
ok $? "  nothing was written"
mkdir "$tmp/wd"
(cd "$tmp/wd" && "$ANETRAIN" train --config "$cfg" --data "$tmp/text.txt" --steps 3 --quiet > /dev/null 2>&1 &&
  "$ANETRAIN" sample --tokens 20 --seed 5 --prompt "Tom" > s1 2> s1.err &&
  "$ANETRAIN" sample --tokens 20 --seed 5 --prompt "Tom" > s2 2>/dev/null &&
  "$ANETRAIN" sample --tokens 20 --prompt "Tom" > s3 2> s3.err &&
  "$ANETRAIN" eval --batches 1 > e 2>/dev/null)
ok $? "sample and eval default to anetrain.ckpt"
seed=$(sed -n 's/.*, seed \([0-9]*\)$/\1/p' "$tmp/wd/s3.err")
(cd "$tmp/wd" && "$ANETRAIN" sample --tokens 20 --seed "$seed" --prompt "Tom" > s4 2>/dev/null)
cmp -s "$tmp/wd/s1" "$tmp/wd/s2" && cmp -s "$tmp/wd/s3" "$tmp/wd/s4" && [ "$seed" != 5 ] &&
    grep -q "^Tom" "$tmp/wd/s1"
ok $? "--seed repeats a sample; without it the seed is the time (said: $seed) and repeats too"
"$ANETRAIN" doctor 2>/dev/null | grep -q -E "^BLAS: [A-Za-z]+, kernel [A-Za-z0-9_]+, [0-9]+ threads?\$"
ok $? "doctor shows the BLAS library, its kernel and threads"

# ---- plot -----------------------------------------------------------------------------
awk 'BEGIN { print "{\"event\":\"start\",\"time\":1,\"step\":0,\"steps\":50}";
             for (i = 1; i <= 50; i++) {
               printf "{\"event\":\"step\",\"time\":%d,\"step\":%d,\"steps\":50,\"loss\":%.4f,\"tokens_per_s\":%d}\n", i, i, 5 - 0.06 * i + 0.1 * ((i * 7) % 3), 1000 + i
               if (i % 10 == 0) printf "{\"event\":\"val\",\"time\":%d,\"step\":%d,\"val_loss\":%.4f}\n", i, i, 5 - 0.05 * i
             } }' > "$tmp/gen.jsonl"
if "$ANETRAIN" plot "$tmp/gen.jsonl" -o "$tmp/p.svg" --width 800 --height 500 > /dev/null 2> "$tmp/err"; then
    grep -q 'width="800pt"' "$tmp/p.svg" && grep -q 'height="500pt"' "$tmp/p.svg" &&
        head -c 200 "$tmp/p.svg" | grep -q '<?xml' && tail -n 2 "$tmp/p.svg" | grep -q '</svg>'
    ok $? "plot: an SVG of 800 x 500"
    # the blue polyline is the training loss: 50 points, its y an affine map of the loss
    pts=$(awk '/stroke="#0000FF"/ { blue = 1 } blue && /points=/ { on = 1 }
               on { line = line " " $0 } on && /\/>/ { print line; exit }' "$tmp/p.svg" |
          sed 's/.*points="//; s/".*//')
    echo "$pts" | tr ' ' '\n' | grep , > "$tmp/pts"
    grep '"event":"step"' "$tmp/gen.jsonl" | sed 's/.*"loss":\([0-9.]*\).*/\1/' > "$tmp/loss"
    paste -d, "$tmp/pts" "$tmp/loss" > "$tmp/pl"
    awk -F, 'NR == 1 { x0 = $1; y0 = $2; l0 = $3 } { x[NR] = $1; y[NR] = $2; l[NR] = $3 }
             END { if (NR != 50) exit 1; b = (y[NR] - y0) / (l[NR] - l0); d = (x[NR] - x0) / (NR - 1)
                   for (i = 1; i <= NR; i++) { e = y0 + b * (l[i] - l0) - y[i]; f = x0 + d * (i - 1) - x[i]
                     if (e > 0.05 || e < -0.05 || f > 0.05 || f < -0.05) exit 1 }
                   exit !(b > 0) }' "$tmp/pl"
    ok $? "  its training-loss series: 50 points, x by step and y by loss, affine to 0.05 px"
    grep -q 'stroke="#FF0000"' "$tmp/p.svg"
    ok $? "  and a validation series"
    "$ANETRAIN" plot "$tmp/gen.jsonl" -o "$tmp/p.png" --width 640 --height 480 > /dev/null 2>&1
    sig=$(od -A n -t x1 -N 8 "$tmp/p.png" | tr -d ' \n')
    wh=$(od -A n -t u1 -j 16 -N 8 "$tmp/p.png" | awk '{ print $1*16777216 + $2*65536 + $3*256 + $4, $5*16777216 + $6*65536 + $7*256 + $8 }')
    ok $([ "$sig" = 89504e470d0a1a0a ] && [ "$wh" = "640 480" ]; echo $?) "  a PNG of 640 x 480 (IHDR: $wh)"
    [ -s "$ck.png" ] && [ "$(od -A n -t x1 -N 4 "$ck.png" | tr -d ' \n')" = 89504e47 ]
    ok $? "a run refreshes PATH.png at its checkpoints"
    expect_error "plot of a file that is not a log says so" "no metrics in this file" \
        "$ANETRAIN" plot "$cfg" -o "$tmp/bad.png"
else
    grep -q "not built in" "$tmp/err"
    ok $? "# SKIP plot: $(cat "$tmp/err")"
fi

# ---- top, under tmux ------------------------------------------------------------------
if ! command -v tmux > /dev/null; then
    ok 0 "# SKIP top: tmux is not installed (apt-get install tmux)"
elif "$ANETRAIN" top /nonexistent 2>&1 | grep -q "not built in"; then
    ok 0 "# SKIP top: not built in (ncurses or jansson missing)"
else
    sock="$tmp/tmux.sock"
    cp "$log" "$tmp/top.jsonl"
    tmux -S "$sock" new-session -d -x 100 -y 30 "\"$ANETRAIN\" top \"$tmp/top.jsonl\" --interval 0.2"
    shows() { i=0; while ! tmux -S "$sock" capture-pane -p > "$tmp/screen" 2>/dev/null ||
                     ! grep -q -- "$1" "$tmp/screen"; do
                  sleep 0.2; i=$((i + 1)); [ $i -lt 50 ] || return 1; done; }
    last=$(grep '"event":"step"' "$log" | tail -n 1 | sed 's/.*"loss":\([-0-9.e+]*\).*/\1/' |
           awk '{ printf "%.4f", $1 }')
    shows "step 16/16 (finished) | loss $last"
    ok $? "top shows the last step and its loss ($last)"
    grep -q "backend cpu" "$tmp/screen" && grep -q "checkpoint: .*r.ckpt" "$tmp/screen" &&
        grep -q "latest sample:" "$tmp/screen" && grep -q '\*' "$tmp/screen"
    ok $? "  the backend, the checkpoint, the latest sample and the loss curve"
    printf '{"event":"step","time":2,"step":17,"steps":20,"loss":1.2345,"tokens_per_s":5,"backend":"cpu"}\n' >> "$tmp/top.jsonl"
    shows "step 17/20 | loss 1.2345"
    ok $? "  a line appended to the log shows up live"
    tmux -S "$sock" send-keys q
    i=0; while tmux -S "$sock" has-session 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    ! tmux -S "$sock" has-session 2>/dev/null
    ok $? "  q quits"
    tmux -S "$sock" kill-server 2>/dev/null
fi
tap_done
