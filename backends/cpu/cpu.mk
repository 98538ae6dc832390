# backends/cpu: CPU math shared by every backend (dW products, norms, embedding,
# cross-entropy; libantops.la) and the CPU backend module built on it, the numerical
# reference. May include core/base only (and the public headers).
noinst_LTLIBRARIES += backends/libantops.la
backends_libantops_la_SOURCES = %reldir%/ops.c %reldir%/ops.h %reldir%/attention.c \
	%reldir%/model.c %reldir%/model.h %reldir%/vecmath.h

cpu_backend_sources = %reldir%/cpu_backend.c
cpu_backend_cppflags = $(AM_CPPFLAGS) -DANT_MODULE_NAME=ant_cpu
cpu_backend_libadd = backends/libantops.la $(OPENBLAS_LIBS) -lm

# The installable module, for the plugin folder.
plugin_LTLIBRARIES += backends/ant_cpu.la
backends_ant_cpu_la_SOURCES = $(cpu_backend_sources)
backends_ant_cpu_la_CPPFLAGS = $(cpu_backend_cppflags)
backends_ant_cpu_la_LDFLAGS = $(plugin_ldflags)
backends_ant_cpu_la_LIBADD = $(cpu_backend_libadd)

# The same module as a static archive that anetrain preloads (-dlpreopen): a shared
# module would be linked as a run-time dependency instead of into the program.
noinst_LTLIBRARIES += backends/builtin/ant_cpu.la
backends_builtin_ant_cpu_la_SOURCES = $(cpu_backend_sources)
backends_builtin_ant_cpu_la_CPPFLAGS = $(cpu_backend_cppflags)
backends_builtin_ant_cpu_la_LDFLAGS = -module -static -avoid-version -rpath /nowhere
backends_builtin_ant_cpu_la_LIBADD = $(cpu_backend_libadd)

# Tests: every op's backward and the whole model against finite differences of a
# double-precision reference; the module through its ABI struct.
cpu_tests = tests/test_cpu_gradcheck tests/test_cpu_backend tests/test_cpu_vecmath \
	tests/test_cpu_feat
check_PROGRAMS += $(cpu_tests)
TESTS += $(cpu_tests)
tests_test_cpu_gradcheck_SOURCES = tests/test_cpu_gradcheck.c core/base/rng.c core/base/rng.h
tests_test_cpu_gradcheck_LDADD = backends/libantops.la $(OPENBLAS_LIBS) -lm
# Links the preloadable copy and also dlopens the installable module from the build tree.
tests_test_cpu_backend_SOURCES = tests/test_cpu_backend.c core/base/rng.c core/base/rng.h
tests_test_cpu_backend_LDADD = backends/builtin/ant_cpu.la $(LIBLTDL) $(OPENBLAS_LIBS) -lm
EXTRA_tests_test_cpu_backend_DEPENDENCIES = backends/ant_cpu.la
tests_test_cpu_vecmath_SOURCES = tests/test_cpu_vecmath.c core/base/rng.c core/base/rng.h
tests_test_cpu_vecmath_LDADD = -lm
tests_test_cpu_feat_SOURCES = tests/test_cpu_feat.c core/dispatch/cpufeat.c core/dispatch/cpufeat.h
tests_test_cpu_feat_LDADD = $(OPENBLAS_LIBS)
