# Benchmarks: built on request (make bench/bench_cpu), never run by make check, never
# fail on time.
EXTRA_PROGRAMS += bench/bench_cpu
bench_bench_cpu_SOURCES = %reldir%/bench_cpu.c %reldir%/bench_util.h \
	core/dispatch/cpufeat.c core/dispatch/cpufeat.h core/base/rng.c core/base/rng.h
bench_bench_cpu_LDADD = backends/libantops.la $(OPENBLAS_LIBS) -lm
CLEANFILES += $(EXTRA_PROGRAMS)

# ane-dynamic on the emulator next to the CPU backend: make bench/bench_ane.
EXTRA_PROGRAMS += bench/bench_ane
bench_bench_ane_SOURCES = %reldir%/bench_ane.c %reldir%/bench_util.h core/base/rng.c \
	core/base/util.c core/base/xxh64.c core/base/fileio.c core/dispatch/chip.c \
	core/dispatch/chipprof.c core/dispatch/chipos.c core/dispatch/cpufeat.c core/config/config.c
nodist_bench_bench_ane_SOURCES = core/dispatch/chips_cfg.c core/config/presets.c
bench_bench_ane_LDADD = backends/builtin/ant_ane_dynamic.la backends/builtin/ant_ane_static.la \
	backends/builtin/ant_cpu.la \
	$(OPENBLAS_LIBS) $(LIBCONFIG_LIBS) $(PTHREAD_LIBS) -lm

# The on-disk compile cache on the emulator: off, cold, warm, and a store's cost in a
# full folder: make bench/bench_kcache.
EXTRA_PROGRAMS += bench/bench_kcache
bench_bench_kcache_SOURCES = %reldir%/bench_kcache.c core/base/util.c core/base/xxh64.c \
	core/base/rng.c core/base/fileio.c
bench_bench_kcache_LDADD = backends/libane.la $(OPENBLAS_LIBS) -lm

# Sampling: core/infer's KV-cache forward next to run.c's forward and the old
# full-window path: make bench/bench_sample && bench/bench_sample.
EXTRA_PROGRAMS += bench/bench_sample
bench_bench_sample_SOURCES = %reldir%/bench_sample.c core/infer/kvmodel.c core/base/util.c \
	core/base/rng.c
bench_bench_sample_LDADD = backends/libantops.la $(OPENBLAS_LIBS) -lm

# Data-parallel scaling (1 and 2 ranks): a script, run in the build folder.
EXTRA_DIST += %reldir%/bench_dp.sh
