# Benchmarks: built on request (make bench/bench_cpu), never run by make check, never
# fail on time.
EXTRA_PROGRAMS += bench/bench_cpu
bench_bench_cpu_SOURCES = %reldir%/bench_cpu.c \
	core/dispatch/cpufeat.c core/dispatch/cpufeat.h core/base/rng.c core/base/rng.h
bench_bench_cpu_LDADD = backends/libantops.la $(OPENBLAS_LIBS) -lm
CLEANFILES += $(EXTRA_PROGRAMS)
