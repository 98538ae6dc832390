# fragment: see HACKING.md
# backends/ane-dynamic: the dynamic-weight ANE backend module (kernels compiled once,
# weights staged into surfaces): the plugin face backends/ane/train/module.c built with
# AT_BAKED=0 over the shared ANE training layer.
ane_dynamic_sources = backends/ane/train/module.c core/base/util.c core/base/xxh64.c core/base/rng.c core/base/fileio.c
ane_dynamic_cppflags = $(AM_CPPFLAGS) -DANT_MODULE_NAME=ant_ane_dynamic -DAT_BAKED=0
ane_dynamic_libadd = backends/libane_train.la $(OPENBLAS_LIBS) $(PTHREAD_LIBS) -lm

plugin_LTLIBRARIES += backends/ant_ane_dynamic.la
backends_ant_ane_dynamic_la_SOURCES = $(ane_dynamic_sources)
backends_ant_ane_dynamic_la_CPPFLAGS = $(ane_dynamic_cppflags)
backends_ant_ane_dynamic_la_LDFLAGS = $(plugin_ldflags)
backends_ant_ane_dynamic_la_LIBADD = $(ane_dynamic_libadd)

# The same module as a static archive, for tests that link backends directly.
noinst_LTLIBRARIES += backends/builtin/ant_ane_dynamic.la
backends_builtin_ant_ane_dynamic_la_SOURCES = backends/ane/train/module.c
backends_builtin_ant_ane_dynamic_la_CPPFLAGS = $(ane_dynamic_cppflags)
backends_builtin_ant_ane_dynamic_la_LDFLAGS = -module -static -avoid-version -rpath /nowhere
backends_builtin_ant_ane_dynamic_la_LIBADD = backends/libane_train.la

# Conformance of the ANE backends against the CPU backend on the emulator (ane-dynamic
# and ane-static on M3, M4, M5; ane-fp16io on M1, M2, M4).
check_PROGRAMS += tests/test_ane_backends
TESTS += tests/test_ane_backends
tests_test_ane_backends_SOURCES = tests/test_ane_backends.c core/base/rng.c core/base/util.c \
	core/base/xxh64.c core/base/fileio.c core/dispatch/chip.c core/dispatch/chipprof.c core/dispatch/chipos.c \
	core/dispatch/cpufeat.c core/config/config.c
nodist_tests_test_ane_backends_SOURCES = core/dispatch/chips_cfg.c core/config/presets.c
tests_test_ane_backends_LDADD = backends/builtin/ant_ane_dynamic.la \
	backends/builtin/ant_ane_static.la backends/builtin/ant_ane_fp16io.la backends/builtin/ant_cpu.la \
	$(OPENBLAS_LIBS) $(LIBCONFIG_LIBS) $(PTHREAD_LIBS) -lm

# Faults injected into the emulated device through the real trainer (tests/tap.sh).
TESTS += tests/test_ane_fallback.sh
EXTRA_DIST += tests/test_ane_fallback.sh
