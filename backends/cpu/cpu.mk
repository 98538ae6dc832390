# CPU math shared by every backend (dW products, norms, embedding, cross-entropy) and
# the CPU backend module built on it.
noinst_LTLIBRARIES += backends/libantops.la
backends_libantops_la_SOURCES = %reldir%/ops.c %reldir%/ops.h

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
