#!/bin/sh
# Data-parallel scaling on this machine: the same total work per step (sequences of 256
# tokens) on 1 rank and on 2 ranks (half the batch each), with the time the ranks spend
# communicating, for a stories15M- and a stories110M-shaped model on synthetic tokens.
# Prints figures, never fails on time. Run it in the build folder:
#     bench/bench_dp.sh [STEPS]       (or SRCDIR/bench/bench_dp.sh; needs MPI and mpirun)
# 1 rank gets all the cores' threads, each of 2 ranks half of them, so both runs use the
# same cores: 1 rank x batch 2B (threads 2t) against 2 ranks x batch B (threads t).
set -u
steps=${1:-4}
here=$(pwd)
anetrain="$here/anetrain"
cores=$(nproc 2>/dev/null || echo 2)
half=$((cores / 2 > 0 ? cores / 2 : 1))
if ! grep -q '^#define HAVE_MPI 1' "$here/config.h" || ! command -v mpirun > /dev/null; then
    echo "bench_dp: run me in a build folder configured with MPI (--with-mpi), with mpirun"
    exit 1
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench_dp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# 4M random token ids below 32000 (perl is in every Debian): timing needs no real text.
perl -e 'srand(7); print pack("v*", map { int(rand(32000)) } 1 .. 4_000_000)' > "$tmp/tok.bin"

# run NAME PRESET RANKS BATCH THREADS: one timed run; prints its report's figures.
run() {
    cat > "$tmp/$1.cfg" <<CFG
model = { seq_len = 256; };
train = { batch_size = $4; grad_accum = 1; steps = $steps; warmup_steps = 1; log_every = 1000; };
data = { path = "$tmp/tok.bin"; };
checkpoint = { path = "$tmp/$1.ckpt"; every = 0; };
backends = { cpu = { threads = $5; }; };
CFG
    if ! mpirun --bind-to none --oversubscribe -np "$3" "$anetrain" train --preset "$2" \
            --config "$tmp/$1.cfg" --quiet > "$tmp/$1.out" 2>&1; then
        cat "$tmp/$1.out"
        return 1
    fi
    # ms per step without the final checkpoint (1.3 GB for stories110M: not training)
    awk -v name="$1" -v ranks="$3" -v batch="$4" -v threads="$5" -v T=256 '
        /^steps / { n = $2 } /^ms\/step/ { ms = $2 }
        /^  checkpoint / { ck += $2 } /^  validation / { ck += $2 }
        /^communication  / { for (i = 1; i <= NF; i++) {
                                 if ($i == "allreduce") ar = $(i + 1)
                                 if ($i == "rank") wt = $(i + 1) } }
        END { step = ms - ck / n; c = ar + wt
              printf "%-7s %d rank(s) x batch %d, %d thread(s): %7.1f ms/step %6.0f tok/s", name,
                     ranks, batch, threads, step, ranks * batch * T / step * 1000
              if (ranks > 1) printf "; communication %.1f ms/step = %.1f%% (allreduce %.1f, waiting %.1f)",
                                    c, 100 * c / step, ar, wt
              printf "\n" }' "$tmp/$1.out"
    sed -n 's/.*training \([0-9]*\) parameters.*/        \1 parameters: fp32 gradient of \1 x 4 bytes/p' "$tmp/$1.out"
}

echo "bench_dp: $cores cores, $steps steps of 256-token sequences, $(mpirun --version | head -1)"
run s15-1 stories15M 1 8 "$cores"
run s15-2 stories15M 2 4 "$half"
run s110-1 stories110M 1 2 "$cores"
run s110-2 stories110M 2 1 "$half"
