#!/bin/sh
# SIGKILL at random moments of a run that keeps rolling back (a hair-trigger divergence
# rule, a checkpoint every 2 steps) while a second trainer knocks on its lock. After
# every kill the next run must resume from PATH itself (no fallback needed: saves are
# atomic), the lock must be free, and at the end every checkpoint file must load.
. "${ANETRAIN_SRCDIR:-.}/tests/tap.sh"
cfg="$tmp/kill.cfg"
small_config "$cfg" 100000 'schedule = "constant"; grad_clip = 0.0;'
sed -i 's/lr = 3e-3; min_lr = 3e-4;/lr = 0.03; min_lr = 0.03;/' "$cfg"
sed -i 's/every = 0;/every = 2; diverge_factor = 1.02; diverge_steps = 3; max_rollbacks = 1000;/' "$cfg"
ck="$tmp/k.ckpt"
kills=20
delays=$(awk -v n=$kills 'BEGIN { srand(20240610); for (i = 0; i < n; i++) printf "%.2f ", rand() * 0.4 }')
refused=0 knocks=0 resumed=0 fallbacks=0 i=0
for d in $delays; do
    i=$((i + 1))
    if [ -e "$ck" ]; then resume=--resume; else resume=; fi
    "$ANETRAIN" train --config "$cfg" --ckpt "$ck" $resume > /dev/null 2> "$tmp/run$i.err" &
    pid=$!
    j=0
    while ! grep -q "training .* parameters" "$tmp/run$i.err" 2>/dev/null &&
          kill -0 $pid 2>/dev/null && [ $j -lt 600 ]; do
        sleep 0.05
        j=$((j + 1))
    done
    sleep "$d"
    # the first run goes on until it has rolled back (at about step 250), so a loaded
    # machine cannot leave the rollback path unexercised
    while [ $i -eq 1 ] && ! grep -q "rolling back" "$tmp/run1.err" && kill -0 $pid 2>/dev/null &&
          [ $j -lt 1200 ]; do
        sleep 0.05
        j=$((j + 1))
    done
    if kill -0 $pid 2>/dev/null; then   # still running (it stops once its rollbacks run out)
        knocks=$((knocks + 1))
        "$ANETRAIN" train --config "$cfg" --ckpt "$ck" --resume --stop-after 1 --quiet > /dev/null 2> "$tmp/second.err"
        grep -q "in use by another trainer (pid $pid " "$tmp/second.err" && refused=$((refused + 1))
    fi
    kill -KILL $pid 2>/dev/null
    wait $pid 2>/dev/null
    [ -n "$resume" ] && grep -q "resumed .*k.ckpt at step" "$tmp/run$i.err" && resumed=$((resumed + 1))
    grep -q "falling back" "$tmp/run$i.err" && fallbacks=$((fallbacks + 1))
done
rollbacks=$(cat "$tmp"/run*.err | grep -c "rolling back")
diag "$kills kills, $rollbacks rollbacks seen, $resumed resumes, second trainer refused $refused times"
ok $([ $refused -eq $knocks ] && [ $knocks -gt 0 ]; echo $?) \
    "the second trainer was refused with the holder's pid every time ($refused/$knocks)"
ok $([ $fallbacks -eq 0 ] && [ $resumed -ge $((kills - 2)) ]; echo $?) \
    "each run resumed from PATH itself ($resumed resumes, $fallbacks fallbacks)"
ok $([ "$rollbacks" -gt 0 ]; echo $?) "rollbacks happened between the kills ($rollbacks)"
"$ANETRAIN" train --config "$cfg" --ckpt "$ck" --resume --stop-after 3 > /dev/null 2> "$tmp/last.err"
st=$?
# it runs its 3 steps, or stops for divergence once its rollbacks run out: never a
# refused checkpoint or a crash
[ $st -eq 0 ] || diag "$(grep "anetrain train:" "$tmp/last.err" | cut -c 1-300)"
ok $( ([ $st -eq 0 ] || ([ $st -lt 128 ] && grep -q "did not help; stopping" "$tmp/last.err")) &&
      grep -q "resumed .*k.ckpt at" "$tmp/last.err"; echo $?) "a last resume loads PATH (status $st)"
ls "$tmp" | grep -q '\.tmp\.' && diag "left: $(ls "$tmp" | grep '\.tmp\.')"
! ls "$tmp" | grep -q '\.tmp\.'
ok $? "no temp file is left behind"
for f in k.ckpt k.ckpt.prev k.ckpt.best; do
    [ -e "$tmp/$f" ] || continue
    "$ANETRAIN" eval --config "$cfg" --ckpt "$tmp/$f" --batches 1 2>/dev/null | grep -q -E "loss [0-9]"
    ok $? "$f loads and evaluates to a finite loss"
done
tap_done
