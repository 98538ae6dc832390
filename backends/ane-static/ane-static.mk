# fragment: see HACKING.md
# backends/ane-static: the static-weight ANE backend module (weights baked into the
# kernels, recompiled after every optimizer update, restarts for the compile budget):
# the plugin face backends/ane/train/module.c built with AT_BAKED=1.
ane_static_sources = backends/ane/train/module.c core/base/util.c core/base/xxh64.c core/base/rng.c core/base/fileio.c
ane_static_cppflags = $(AM_CPPFLAGS) -DANT_MODULE_NAME=ant_ane_static -DAT_BAKED=1

plugin_LTLIBRARIES += backends/ant_ane_static.la
backends_ant_ane_static_la_SOURCES = $(ane_static_sources)
backends_ant_ane_static_la_CPPFLAGS = $(ane_static_cppflags)
backends_ant_ane_static_la_LDFLAGS = $(plugin_ldflags)
backends_ant_ane_static_la_LIBADD = backends/libane_train.la $(OPENBLAS_LIBS) $(PTHREAD_LIBS) -lm

noinst_LTLIBRARIES += backends/builtin/ant_ane_static.la
backends_builtin_ant_ane_static_la_SOURCES = backends/ane/train/module.c
backends_builtin_ant_ane_static_la_CPPFLAGS = $(ane_static_cppflags)
backends_builtin_ant_ane_static_la_LDFLAGS = -module -static -avoid-version -rpath /nowhere
backends_builtin_ant_ane_static_la_LIBADD = backends/libane_train.la

# The compile budget and the restart lifecycle through the real trainer.
TESTS += tests/test_ane_static.sh
EXTRA_DIST += tests/test_ane_static.sh
