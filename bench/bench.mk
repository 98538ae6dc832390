# Benchmarks: built on request (make bench/bench_cpu), never run by make check, never
# fail on time.
EXTRA_PROGRAMS += bench/bench_cpu
bench_bench_cpu_SOURCES = %reldir%/bench_cpu.c core/cpufeat.c core/cpufeat.h \
	core/rng.c core/rng.h
bench_bench_cpu_LDADD = backends/libantops.la $(OPENBLAS_LIBS) -lm
CLEANFILES += $(EXTRA_PROGRAMS)
# Data-parallel scaling (1 and 2 ranks): a script, run in the build folder.
EXTRA_DIST += %reldir%/bench_dp.sh
