#!/bin/sh
# Data-parallel training on Open MPI (core/train/dp.h), end to end on the CPU backend:
# N ranks x batch B train like 1 rank x batch N*B, resume bit-exactly, refuse another N,
# and a rank that fails or is killed ends the job with the last checkpoint intact; with
# the checkpoint policy (rollbacks) and the restart lifecycle (ane-static, emulator).
. "${ANETRAIN_SRCDIR:-.}/tests/tap.sh"
cfg="$tmp/small.cfg"

if ! grep -q '^#define HAVE_MPI 1' "$ANETRAIN_BUILDDIR/config.h"; then
    # Without MPI, being one of several ranks is an error, never N copies of one run.
    OMPI_COMM_WORLD_SIZE=2 "$ANETRAIN" train --steps 1 --ckpt "$tmp/x.ckpt" > "$tmp/nompi" 2>&1
    test $? -ne 0 && grep -q "built without MPI" "$tmp/nompi" && test ! -f "$tmp/x.ckpt"
    ok $? "a build without MPI refuses to run as one of 2 ranks"
    diag "this build has no MPI (configure --with-mpi): the multi-rank tests do not run"
    tap_done
    exit
fi
if ! command -v mpirun > /dev/null 2>&1; then
    echo "1..0 # SKIP mpirun not found (Debian: apt-get install openmpi-bin)"
    exit 0
fi

# As root Open MPI refuses to start without these; in containers its shared-memory
# transport may not use cross-memory attach (ptrace), and one core may have to hold two
# ranks. Nothing here depends on the machine having a network.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
# Sanitizer builds: what Open MPI itself never frees is not ours (tests/lsan_mpi.supp).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$ANETRAIN_SRCDIR/tests/lsan_mpi.supp:print_suppressions=0"
mpi() { timeout 300 mpirun --oversubscribe --bind-to none "$@"; }

# Random windows, one thread per rank; every = 0: only the final checkpoint.
config() {   # config STEPS [MORE-TRAIN-KEYS]
    small_config "$cfg" "$1" "${2:-}"
    echo 'backends = { cpu = { threads = 1; }; };' >> "$cfg"
}
# The weights of a checkpoint, one float per line (llama2.c export, 28-byte header).
weights() {
    "$ANETRAIN" export --format llama2c --ckpt "$1" --out "$1.bin" > /dev/null 2>&1 &&
    od -An -v -f -w4 -j28 "$1.bin"
}
# max_diff A B: the largest absolute difference between two checkpoints' weights.
max_diff() {
    weights "$1" > "$tmp/wa" && weights "$2" > "$tmp/wb" &&
    paste -d' ' "$tmp/wa" "$tmp/wb" |
        awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d } END { printf "%.3g\n", m }'
}
first_loss() { sed -n 's/^loss *\([0-9.]*\) -> .*/\1/p' "$1"; }

# One rank under mpirun is the plain program: same windows, same checkpoint, byte for byte.
config 8
"$ANETRAIN" train --config "$cfg" --ckpt "$tmp/plain.ckpt" --quiet > /dev/null 2>&1 &&
mpi -np 1 "$ANETRAIN" train --config "$cfg" --ckpt "$tmp/np1.ckpt" --quiet > /dev/null 2>&1 &&
cmp -s "$tmp/plain.ckpt" "$tmp/np1.ckpt"
ok $? "mpirun -np 1 gives the plain run's checkpoint byte for byte"

# 2 ranks x batch 4 read the windows of 1 rank x batch 8 and average the same gradient,
# but not bit-exactly: each rank sums its 4 rows' gradients, then MPI adds the two
# halves, where one rank sums all 8 rows in one order. Those fp32 roundings (~1e-7
# relative) are all that differs; AdamW divides by sqrt(v), which can enlarge them for
# elements whose gradient is near 0, up to a fraction of one step (lr = 3e-3). After 20
# steps we measured a largest difference of 7e-6; the tolerance is 1e-4 (3% of one
# step), against ~5e-2 between runs that see different data (1 rank x batch 4).
config 20
mpi -np 2 "$ANETRAIN" train --config "$cfg" --ckpt "$tmp/two.ckpt" > "$tmp/two.out" 2>&1
ok $? "2 ranks x batch 4 train 20 steps"
"$ANETRAIN" train --config "$cfg" --batch-size 8 --ckpt "$tmp/one8.ckpt" > "$tmp/one8.out" 2>&1 &&
"$ANETRAIN" train --config "$cfg" --ckpt "$tmp/one4.ckpt" --quiet > /dev/null 2>&1
ok $? "1 rank x batch 8 and 1 rank x batch 4"
same=$(max_diff "$tmp/two.ckpt" "$tmp/one8.ckpt")
other=$(max_diff "$tmp/one4.ckpt" "$tmp/one8.ckpt")
diag "largest weight difference: 2x4 vs 1x8 $same; 1x4 vs 1x8 $other"
[ -n "$same" ] && awk -v d="$same" -v o="$other" 'BEGIN { exit !(d < 1e-4 && o > 1e-2) }'
ok $? "2 ranks x batch 4 = 1 rank x batch 8 within 1e-4 (different data differs by > 1e-2)"
[ "$(first_loss "$tmp/two.out")" = "$(first_loss "$tmp/one8.out")" ]
ok $? "the first step's loss is the mean over both ranks ($(first_loss "$tmp/two.out"))"
grep -q "^effective batch  4 x grad_accum 1 x 2 ranks = 8 sequences, 512 tokens per step" "$tmp/two.out" &&
grep -q "^communication    .* ms, .*% of wall time: gradient allreduce .* ms/step (0.4 MB fp32)" "$tmp/two.out" &&
grep -q "^rank backends    0: cpu (0 switches), 1: cpu (0 switches)" "$tmp/two.out"
ok $? "the report gives the effective batch, the communication and each rank's backend"
# Rank 1 logs warnings and errors only (a problem of its own, such as a fallback, must
# be seen); progress lines, info lines and the report come from rank 0 alone.
[ "$(grep -c "^== efficiency report ==" "$tmp/two.out")" = 1 ] &&
[ "$(grep -c "^step 20/20 " "$tmp/two.out")" = 1 ] &&
! grep -q "rank 1\]: .*info:" "$tmp/two.out"
ok $? "rank 0 alone reports, logs info and shows progress" || diag "$(cat "$tmp/two.out")"
if grep -q "rank 1\]" "$tmp/two.out"; then
    diag "rank 1 said: $(grep "rank 1\]" "$tmp/two.out")"
fi

# The same with sequential windows and gradient accumulation (2 x 2 x 2 = 1 x 4 x 2).
config 20 'data_order = "sequential"; grad_accum = 2;'
mpi -np 2 "$ANETRAIN" train --config "$cfg" --batch-size 2 --ckpt "$tmp/stwo.ckpt" --quiet > /dev/null 2>&1 &&
"$ANETRAIN" train --config "$cfg" --ckpt "$tmp/sone.ckpt" --quiet > /dev/null 2>&1
ok $? "sequential, grad_accum 2: 2 ranks x batch 2 and 1 rank x batch 4"
same=$(max_diff "$tmp/stwo.ckpt" "$tmp/sone.ckpt")
diag "largest weight difference: $same"
[ -n "$same" ] && awk -v d="$same" 'BEGIN { exit !(d < 1e-4) }'
ok $? "sequential, grad_accum 2: equal within 1e-4"

# Bit-exact resume on 2 ranks: 30 steps == 12 steps, then resume to 30.
config 30
mpi -np 2 "$ANETRAIN" train --config "$cfg" --ckpt "$tmp/full.ckpt" --quiet > /dev/null 2>&1 &&
mpi -np 2 "$ANETRAIN" train --config "$cfg" --ckpt "$tmp/part.ckpt" --stop-after 12 --quiet > /dev/null 2>&1 &&
mpi -np 2 "$ANETRAIN" train --config "$cfg" --ckpt "$tmp/part.ckpt" --resume --quiet > /dev/null 2>&1
ok $? "2 ranks: 30 steps; 12 steps then resume to 30"
cmp -s "$tmp/full.ckpt" "$tmp/part.ckpt"
ok $? "2 ranks: the resumed checkpoint is byte-identical to the uninterrupted one"

# Another N is refused, naming the N to use.
"$ANETRAIN" train --config "$cfg" --ckpt "$tmp/part.ckpt" --resume --steps 40 > "$tmp/n1" 2>&1
test $? -ne 0 && grep -q "written by 2 data-parallel rank(s), this run has 1: resume it with mpirun -np 2" "$tmp/n1"
ok $? "a 2-rank checkpoint is refused by a 1-rank resume, with the reason"
mpi -np 2 "$ANETRAIN" train --config "$cfg" --ckpt "$tmp/one4.ckpt" --resume --steps 40 > "$tmp/n2" 2>&1
test $? -ne 0 && [ "$(grep -c "rank 0: .*written by 1 data-parallel rank(s), this run has 2" "$tmp/n2")" = 1 ]
ok $? "a 1-rank checkpoint is refused by a 2-rank resume, said once"

# Ranks that disagree on the training options are refused before any step.
mpi -np 1 "$ANETRAIN" train --config "$cfg" --ckpt "$tmp/mis.ckpt" : \
    -np 1 "$ANETRAIN" train --config "$cfg" --ckpt "$tmp/mis.ckpt" --lr 1e-3 > "$tmp/mis" 2>&1
test $? -ne 0 && grep -q "rank 1's model, training options, checkpoint schedule, --stop-after or data differ from rank 0's" "$tmp/mis" &&
test ! -f "$tmp/mis.ckpt"
ok $? "a rank with another learning rate is refused, naming the rank"

# Each rank has its own backend chain: rank 1 on a backend that fails at its 5th call
# and falls back to the CPU; the job goes on and ends where the CPU-only job does.
# (Default threads here: the CPU backend inside test-midrun has no threads setting, and
# the thread count changes the CPU backend's sums.)
rank1_config() {   # rank1_config FROM TO: FROM on test-midrun, falling back to the CPU
    cp "$1" "$2"
    cat >> "$2" <<CFG
backend = "test-midrun";
fallback = [ "cpu" ];
plugin_path = [ "$ANETRAIN_BUILDDIR/tests/plugins" ];
backends = { test-midrun = { fail_at = 5; }; };
CFG
}
small_config "$cfg" 6
rank1_config "$cfg" "$tmp/r1.cfg"
mpi -np 2 "$ANETRAIN" train --config "$cfg" --ckpt "$tmp/cpu2.ckpt" --quiet > /dev/null 2>&1 &&
mpi -np 1 "$ANETRAIN" train --config "$cfg" --ckpt "$tmp/fb.ckpt" --quiet : \
    -np 1 "$ANETRAIN" train --config "$tmp/r1.cfg" --ckpt "$tmp/fb.ckpt" --quiet > "$tmp/fb.out" 2>&1
ok $? "rank 1 falls back to the CPU mid-run; the job finishes"
cmp -s "$tmp/cpu2.ckpt" "$tmp/fb.ckpt" && grep -q "^rank backends    0: cpu (0 switches), 1: cpu (1 switch)$" "$tmp/fb.out" &&
grep -q "anetrain\[rank 1\]: dispatch: warning: .*test-midrun: train_step failed: .*; continuing on cpu" "$tmp/fb.out"
ok $? "same checkpoint as the CPU-only job; rank 1's switch is logged and reported"

# The same fault with --strict stops every rank, with rank 1's reason, said once; the
# checkpoint of step 4 (the 5th step failed) stays as it was.
small_config "$cfg" 6
sed -i 's/^checkpoint = { every = 0; };$/checkpoint = { every = 2; };/' "$cfg"
rank1_config "$cfg" "$tmp/r1.cfg"
mpi -np 1 "$ANETRAIN" train --config "$cfg" --ckpt "$tmp/strict.ckpt" --quiet : \
    -np 1 "$ANETRAIN" train --config "$tmp/r1.cfg" --strict --ckpt "$tmp/strict.ckpt" --quiet > "$tmp/strict.out" 2>&1
test $? -ne 0 && [ "$(grep -c "^anetrain train: rank 1: .*failed (injected)" "$tmp/strict.out")" = 1 ]
ok $? "a failing rank stops the job with its reason, said once"
diag "$(grep "^anetrain train: rank 1" "$tmp/strict.out")"
mpi -np 2 "$ANETRAIN" train --config "$cfg" --ckpt "$tmp/strict.ckpt" --resume --stop-after 1 > "$tmp/strict.res" 2>&1 &&
grep -q "resumed .*strict.ckpt at step 4$" "$tmp/strict.res"
ok $? "its last checkpoint (step 4) loads"

# A rank killed mid-run (SIGKILL: no chance to say anything) ends the job; the last
# checkpoint rank 0 wrote loads. Rank 1 is started through sh to learn its pid.
config 5000
sed -i 's/^checkpoint = { every = 0; };$/checkpoint = { every = 20; };/' "$cfg"
mpi -np 1 "$ANETRAIN" train --config "$cfg" --ckpt "$tmp/kill.ckpt" --quiet : \
    -np 1 sh -c 'echo $$ > "$0"; exec "$@"' "$tmp/rank1.pid" \
    "$ANETRAIN" train --config "$cfg" --ckpt "$tmp/kill.ckpt" --quiet > "$tmp/kill.out" 2>&1 &
job=$!
i=0
while [ ! -f "$tmp/kill.ckpt" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
sleep 0.2
kill -KILL "$(cat "$tmp/rank1.pid")"
wait $job
status=$?
test $status -ne 0 && ! grep -q "^steps  *5000 applied" "$tmp/kill.out"
ok $? "killing rank 1 ends the job (mpirun status $status) before the end"
mpi -np 2 "$ANETRAIN" train --config "$cfg" --ckpt "$tmp/kill.ckpt" --resume --stop-after 1 > "$tmp/kill.res" 2>&1
step=$(sed -n 's/.*resumed .*kill.ckpt at step \([0-9]*\)$/\1/p' "$tmp/kill.res")
diag "the checkpoint holds step $step"
[ -n "$step" ] && [ "$step" -gt 0 ] && [ $((step % 20)) -eq 0 ]
ok $? "the last checkpoint loads (step $step, a multiple of checkpoint.every)"

# SIGUSR1 to mpirun: it passes it on to every rank without ending the job; every rank
# stops at the same step, rank 0 saves, and resuming gives the uninterrupted result.
# (SIGTERM and Ctrl-C stop them too, but then mpirun ends the job itself and kills a
# rank still saving after its grace period.)
config 600
mpirun --oversubscribe --bind-to none -np 2 "$ANETRAIN" train --config "$cfg" \
    --ckpt "$tmp/int.ckpt" > /dev/null 2> "$tmp/int.err" &
job=$!
i=0
while ! grep -q "^step 10/" "$tmp/int.err" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
kill -USR1 $job
wait $job
status=$?
test $status -eq 0 && grep -q "stopping at step" "$tmp/int.err"
ok $? "SIGUSR1 to mpirun stops the ranks together (status $status)"
diag "$(grep "stopping at step" "$tmp/int.err")"
mpi -np 2 "$ANETRAIN" train --config "$cfg" --ckpt "$tmp/int.ckpt" --resume --quiet > /dev/null 2>&1 &&
mpi -np 2 "$ANETRAIN" train --config "$cfg" --ckpt "$tmp/unint.ckpt" --quiet > /dev/null 2>&1 &&
cmp -s "$tmp/int.ckpt" "$tmp/unint.ckpt"
ok $? "interrupted + resumed equals uninterrupted on 2 ranks, byte for byte"

# Divergence on 2 ranks: both see the same mean loss, so both roll back at the same step.
# lr 1 without clipping diverges at once; the rollback goes to the initial weights (rank
# 0 makes them, the others receive them) at lr 0.5, so the result must equal a 2-rank
# run at lr 0.5 from the start, byte for byte (as tests/test_ckpt_policy.sh on 1 rank).
rescue_config() {   # rescue_config FILE LR
    config 60 'schedule = "constant"; grad_clip = 0.0;'
    sed -i "s/lr = 3e-3; min_lr = 3e-4;/lr = $2; min_lr = $2;/; s/every = 0;/every = 10;/" "$cfg"
    cp "$cfg" "$1"
}
rescue_config "$tmp/r1.cfg" 1
rescue_config "$tmp/r05.cfg" 0.5
mpi -np 2 "$ANETRAIN" train --config "$tmp/r1.cfg" --ckpt "$tmp/r1.ckpt" > /dev/null 2> "$tmp/r1.err"
st=$?
n=$(grep -c "rolling back to step 0 (the initial weights) with the learning rate x0.5, rollback 1 of 3" "$tmp/r1.err")
ok $([ $st -eq 0 ] && [ "$n" -eq 1 ]; echo $?) "2 ranks, lr 1: one rollback, said once; the run finishes (status $st)"
mpi -np 2 "$ANETRAIN" train --config "$tmp/r05.cfg" --ckpt "$tmp/r05.ckpt" --quiet > /dev/null 2>&1 &&
weights "$tmp/r1.ckpt" > "$tmp/w1" && weights "$tmp/r05.ckpt" > "$tmp/w05" && cmp -s "$tmp/w1" "$tmp/w05"
ok $? "  its weights equal those of a 2-rank run at lr 0.5, byte for byte"

# Rollbacks to a checkpoint only rank 0 can read, until they are spent: every rank
# stops at the same step with one message, status 1 (not an MPI abort), PATH intact.
config 20
sed -i 's/^checkpoint = { every = 0; };$/checkpoint = { every = 10; };/' "$cfg"
mpi -np 2 "$ANETRAIN" train --config "$cfg" --ckpt "$tmp/g.ckpt" --quiet > /dev/null 2>&1
cp "$tmp/g.ckpt" "$tmp/g.before"
mpi -np 2 "$ANETRAIN" train --config "$cfg" --ckpt "$tmp/g.ckpt" --resume --steps 200 --lr 100 \
    --quiet > "$tmp/g.out" 2> "$tmp/g.err"
st=$?
[ $st -eq 1 ] && [ "$(grep -c "rolling back to step 20 " "$tmp/g.err")" -eq 3 ] &&
[ "$(grep -c "^anetrain train: rank 0: step [0-9]*: the run diverged .*3 rollback(s)" "$tmp/g.err")" -eq 1 ] &&
! grep -q "MPI_ABORT\|ending the job" "$tmp/g.err" && cmp -s "$tmp/g.ckpt" "$tmp/g.before"
ok $? "2 ranks, lr 100: 3 rollbacks to step 20 said once each, then one message, status $st, PATH intact"
diag "$(grep "^anetrain train:" "$tmp/g.err")"

# A backend that needs a fresh process (ane-static's compile budget) cannot have one in
# an MPI job: every rank stops at that step, rank 0 saves, the job exits 75 saying to run
# it again with --resume, and doing so until it ends gives the run that never restarted.
# 2 layers: 10 compiles per update plus 2 at open, so a budget of 30 asks after every
# 2 updates (tests/test_ane_static.sh); no compile cache, whose hits do not count.
small_config "$cfg" 6
cat >> "$cfg" <<CFG
chip = "M4";
backend = "ane-static";
backends = { ane-static = { device = "emulator"; compile_cache = false; }; };
CFG
printf 'chips = ({ name = "M4"; compile_budget = 30; });\n' > "$tmp/chips30.cfg"
printf 'chips = ({ name = "M4"; compile_budget = 100000; });\n' > "$tmp/chipsbig.cfg"
ANETRAIN_CHIPS_FILE="$tmp/chipsbig.cfg" mpi -x ANETRAIN_CHIPS_FILE -np 2 "$ANETRAIN" train \
    --config "$cfg" --ckpt "$tmp/big.ckpt" --quiet > "$tmp/big.out" 2>&1
ok $? "2 ranks on ane-static (emulator) with a budget they never reach: 6 steps"
ANETRAIN_CHIPS_FILE="$tmp/chips30.cfg" mpi -x ANETRAIN_CHIPS_FILE -np 2 "$ANETRAIN" train \
    --config "$cfg" --ckpt "$tmp/rs.ckpt" --quiet > "$tmp/rs.out" 2>&1
st=$?
[ $st -eq 75 ] &&
[ "$(grep -c "^anetrain train: step 2: rank 0: .*; a process of an MPI job cannot restart itself, so every rank stopped with .*rs.ckpt saved: run the same mpirun command again with --resume" "$tmp/rs.out")" -eq 1 ]
ok $? "with a budget of 30 the job stops after step 2 with status 75 ($st), said once"
diag "$(grep "cannot restart" "$tmp/rs.out")"
i=0
while [ $st -eq 75 ] && [ $i -lt 5 ]; do
    ANETRAIN_CHIPS_FILE="$tmp/chips30.cfg" mpi -x ANETRAIN_CHIPS_FILE -np 2 "$ANETRAIN" train \
        --config "$cfg" --ckpt "$tmp/rs.ckpt" --resume --quiet > "$tmp/rs.out" 2>&1
    st=$?
    i=$((i + 1))
done
# The model state must be identical; run statistics may differ (an MPI job does not
# restart to validate its final weights: that validation stays pending in the file).
[ $st -eq 0 ] && [ $i -eq 2 ] && weights "$tmp/rs.ckpt" > "$tmp/wrs" && weights "$tmp/big.ckpt" > "$tmp/wbig" &&
    cmp -s "$tmp/wrs" "$tmp/wbig"
ok $? "relaunched with --resume until it ends (2 more jobs, status $st): the same weights, byte for byte"
# Only rank 1's backend asks: rank 0 (CPU) stops too, naming rank 1's reason.
sed 's/^backend = "ane-static";$/backend = "cpu";/' "$cfg" > "$tmp/cpu0.cfg"
ANETRAIN_CHIPS_FILE="$tmp/chips30.cfg" mpi -x ANETRAIN_CHIPS_FILE \
    -np 1 "$ANETRAIN" train --config "$tmp/cpu0.cfg" --ckpt "$tmp/r01.ckpt" --quiet : \
    -np 1 "$ANETRAIN" train --config "$cfg" --ckpt "$tmp/r01.ckpt" --quiet > "$tmp/r01.out" 2>&1
st=$?
[ $st -eq 75 ] && grep -q "^anetrain train: step 2: rank 1: .*cannot restart itself" "$tmp/r01.out" &&
mpi -np 2 "$ANETRAIN" train --config "$tmp/cpu0.cfg" --ckpt "$tmp/r01.ckpt" --resume --stop-after 1 \
    > "$tmp/r01.res" 2>&1 && grep -q "resumed .*r01.ckpt at step 2$" "$tmp/r01.res"
ok $? "only rank 1's backend asks: every rank stops at step 2 naming rank 1 (status $st); its checkpoint resumes"
# One rank under mpirun is a plain process: it restarts itself as ever (twice for the
# budget, once more to validate the final weights).
ANETRAIN_CHIPS_FILE="$tmp/chips30.cfg" mpi -x ANETRAIN_CHIPS_FILE -np 1 "$ANETRAIN" train \
    --config "$cfg" --ckpt "$tmp/one.ckpt" > "$tmp/one.out" 2>&1 &&
grep -q "^restarts         3 " "$tmp/one.out"
ok $? "mpirun -np 1 on ane-static with a budget of 30: it re-executes itself 3 times and finishes"
tap_done
