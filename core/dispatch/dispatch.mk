# core/dispatch: from the chip to the backend that runs a step: CPU features and chip
# detection with the chip profiles (cpufeat.c, chip.c, chipprof.c, chipos.c for the OS
# version; chips_cfg.c is generated below into the build tree from configs/chips.cfg),
# the plugin registry, backend settings and selection (registry.c, settings.c,
# select.c), the services handed to backends (host.c), the dispatcher with its fallback
# (dispatch.c) and the doctor's self-test (selftest.c); also the deliberately broken
# test modules. May include core/base, core/config, core/data and core/formats.
dispatch_core_sources = \
	%reldir%/chip.c %reldir%/chip.h %reldir%/chipprof.c %reldir%/chipprof.h %reldir%/chipos.c \
	%reldir%/registry.c %reldir%/registry.h %reldir%/settings.c %reldir%/select.c \
	%reldir%/modcheck.c %reldir%/modcheck.h \
	%reldir%/host.c %reldir%/host.h \
	%reldir%/dispatch.c %reldir%/dispatch.h \
	%reldir%/memplan.c %reldir%/memplan.h
anetrain_SOURCES += $(dispatch_core_sources) \
	%reldir%/cpufeat.c %reldir%/cpufeat.h \
	%reldir%/selftest.c %reldir%/selftest.h
nodist_anetrain_SOURCES += %reldir%/chips_cfg.c

# The chip profiles: installed, and compiled in from the same file so an uninstalled
# program has them too.
dist_pkgdata_DATA += configs/chips.cfg
BUILT_SOURCES += %reldir%/chips_cfg.c
CLEANFILES += %reldir%/chips_cfg.c
%reldir%/chips_cfg.c: $(top_srcdir)/configs/chips.cfg $(top_srcdir)/%reldir%/dispatch.mk
	$(AM_V_GEN)$(MKDIR_P) $(@D) && { \
	  echo '/* Generated from configs/chips.cfg by core/dispatch/dispatch.mk: edit that, not this. */'; \
	  echo 'const char ant_chips_cfg_text[] ='; \
	  $(SED) -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' \
	         -e 's/^/    "/' -e 's/$$/\\n"/' $(top_srcdir)/configs/chips.cfg || exit 1; \
	  echo ';'; } > $@-t && mv -f $@-t $@

# --- Broken modules (tests/plugins/faulty.c), each a real dlopen-able module. --------
# The CPU backend compiled with its entry renamed, for the modules that wrap it.
check_LTLIBRARIES += tests/plugins/libcpuinner.la
tests_plugins_libcpuinner_la_SOURCES = $(cpu_backend_sources)
tests_plugins_libcpuinner_la_CPPFLAGS = $(AM_CPPFLAGS) -Dant_backend_entry=ant_test_cpu_entry
tests_plugins_libcpuinner_la_LIBADD = backends/libantops.la $(OPENBLAS_LIBS) -lm

faulty_ldflags = $(plugin_ldflags) -rpath /nowhere
faulty_libadd = tests/plugins/libcpuinner.la
check_LTLIBRARIES += tests/plugins/ant_test_bad_abi.la tests/plugins/ant_test_no_entry.la \
	tests/plugins/ant_test_misnamed.la tests/plugins/ant_test_entry_fails.la \
	tests/plugins/ant_test_open_fails.la tests/plugins/ant_test_midrun.la \
	tests/plugins/ant_test_nan.la tests/plugins/ant_test_needs_ane.la
tests_plugins_ant_test_bad_abi_la_SOURCES = tests/plugins/faulty.c
tests_plugins_ant_test_bad_abi_la_CPPFLAGS = $(AM_CPPFLAGS) -DFAULT=1 \
	-DANT_MODULE_NAME=ant_test_bad_abi -DBACKEND_NAME='"test-bad-abi"'
tests_plugins_ant_test_bad_abi_la_LDFLAGS = $(faulty_ldflags)
tests_plugins_ant_test_bad_abi_la_LIBADD = $(faulty_libadd)
tests_plugins_ant_test_no_entry_la_SOURCES = tests/plugins/faulty.c
tests_plugins_ant_test_no_entry_la_CPPFLAGS = $(AM_CPPFLAGS) -DFAULT=2 \
	-DANT_MODULE_NAME=ant_test_no_entry -DBACKEND_NAME='"test-no-entry"'
# Exports only a near miss of the entry name (an empty export list would not link).
tests_plugins_ant_test_no_entry_la_LDFLAGS = -module -avoid-version -no-undefined -shared \
	-export-symbols-regex '^ant_backend_entri$$' -rpath /nowhere
tests_plugins_ant_test_misnamed_la_SOURCES = tests/plugins/faulty.c
tests_plugins_ant_test_misnamed_la_CPPFLAGS = $(AM_CPPFLAGS) -DFAULT=3 \
	-DANT_MODULE_NAME=ant_test_misnamed -DBACKEND_NAME='"test-misnamed"'
tests_plugins_ant_test_misnamed_la_LDFLAGS = $(faulty_ldflags)
tests_plugins_ant_test_misnamed_la_LIBADD = $(faulty_libadd)
tests_plugins_ant_test_entry_fails_la_SOURCES = tests/plugins/faulty.c
tests_plugins_ant_test_entry_fails_la_CPPFLAGS = $(AM_CPPFLAGS) -DFAULT=4 \
	-DANT_MODULE_NAME=ant_test_entry_fails -DBACKEND_NAME='"test-entry-fails"'
tests_plugins_ant_test_entry_fails_la_LDFLAGS = $(faulty_ldflags)
tests_plugins_ant_test_entry_fails_la_LIBADD = $(faulty_libadd)
tests_plugins_ant_test_open_fails_la_SOURCES = tests/plugins/faulty.c
tests_plugins_ant_test_open_fails_la_CPPFLAGS = $(AM_CPPFLAGS) -DFAULT=5 \
	-DANT_MODULE_NAME=ant_test_open_fails -DBACKEND_NAME='"test-open-fails"'
tests_plugins_ant_test_open_fails_la_LDFLAGS = $(faulty_ldflags)
tests_plugins_ant_test_open_fails_la_LIBADD = $(faulty_libadd)
tests_plugins_ant_test_midrun_la_SOURCES = tests/plugins/faulty.c
tests_plugins_ant_test_midrun_la_CPPFLAGS = $(AM_CPPFLAGS) -DFAULT=6 \
	-DANT_MODULE_NAME=ant_test_midrun -DBACKEND_NAME='"test-midrun"' -DFAIL_AT_DEFAULT='"3"'
tests_plugins_ant_test_midrun_la_LDFLAGS = $(faulty_ldflags)
tests_plugins_ant_test_midrun_la_LIBADD = $(faulty_libadd)
tests_plugins_ant_test_nan_la_SOURCES = tests/plugins/faulty.c
tests_plugins_ant_test_nan_la_CPPFLAGS = $(AM_CPPFLAGS) -DFAULT=6 \
	-DANT_MODULE_NAME=ant_test_nan -DBACKEND_NAME='"test-nan"' -DNAN_AT_DEFAULT='"2"'
tests_plugins_ant_test_nan_la_LDFLAGS = $(faulty_ldflags)
tests_plugins_ant_test_nan_la_LIBADD = $(faulty_libadd)
tests_plugins_ant_test_needs_ane_la_SOURCES = tests/plugins/faulty.c
tests_plugins_ant_test_needs_ane_la_CPPFLAGS = $(AM_CPPFLAGS) -DFAULT=7 \
	-DANT_MODULE_NAME=ant_test_needs_ane -DBACKEND_NAME='"test-needs-ane"'
tests_plugins_ant_test_needs_ane_la_LDFLAGS = $(faulty_ldflags)
tests_plugins_ant_test_needs_ane_la_LIBADD = $(faulty_libadd)

# A module with an undefined symbol, kept out of tests/plugins (which other tests scan):
# tests/test_plugin_corpus.sh puts it in its hostile plugin folder.
check_LTLIBRARIES += tests/hostile/ant_test_undefined.la
tests_hostile_ant_test_undefined_la_SOURCES = tests/plugins/faulty.c
tests_hostile_ant_test_undefined_la_CPPFLAGS = $(AM_CPPFLAGS) -DFAULT=8 \
	-DANT_MODULE_NAME=ant_test_undefined -DBACKEND_NAME='"test-undefined"'
tests_hostile_ant_test_undefined_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere \
	$(ALLOW_UNDEFINED_LDFLAGS)
tests_hostile_ant_test_undefined_la_LIBADD = $(faulty_libadd)

# --- Tests ------------------------------------------------------------------------
dispatch_test_sources = $(dispatch_core_sources) %reldir%/cpufeat.c core/base/util.c
dispatch_test_ldadd = $(LIBLTDL) $(LIBCONFIG_LIBS) $(OPENBLAS_LIBS) -lm
dispatch_test_modules = $(check_LTLIBRARIES) backends/ant_cpu.la

check_PROGRAMS += tests/test_chip tests/test_select tests/test_registry tests/test_dispatch \
	tests/test_dispatch_example
TESTS += tests/test_chip tests/test_select tests/test_registry tests/test_dispatch \
	tests/test_dispatch_example

tests_test_chip_SOURCES = tests/test_chip.c tests/test_util.h %reldir%/chip.c \
	%reldir%/chipprof.c %reldir%/chipos.c %reldir%/cpufeat.c core/base/util.c
nodist_tests_test_chip_SOURCES = %reldir%/chips_cfg.c
tests_test_chip_LDADD = $(dispatch_test_ldadd)

# Selection matrix: in-process backend tables with the probe rules of the real ones.
tests_test_select_SOURCES = tests/test_select.c tests/test_util.h $(dispatch_test_sources)
nodist_tests_test_select_SOURCES = %reldir%/chips_cfg.c
tests_test_select_LDADD = $(dispatch_test_ldadd)

tests_test_registry_SOURCES = tests/test_registry.c tests/test_util.h $(dispatch_test_sources)
nodist_tests_test_registry_SOURCES = %reldir%/chips_cfg.c
tests_test_registry_LDADD = $(dispatch_test_ldadd)
EXTRA_tests_test_registry_DEPENDENCIES = $(dispatch_test_modules)

# Training through the dispatcher with the broken modules, against a CPU-only run.
tests_test_dispatch_SOURCES = tests/test_dispatch.c tests/dispatch_util.h \
	$(dispatch_test_sources) core/base/rng.c
nodist_tests_test_dispatch_SOURCES = %reldir%/chips_cfg.c
tests_test_dispatch_LDADD = $(dispatch_test_ldadd)
EXTRA_tests_test_dispatch_DEPENDENCIES = $(dispatch_test_modules)

# The plugin kit's example (plugins/plugins.mk) against the CPU backend.
tests_test_dispatch_example_SOURCES = tests/test_dispatch_example.c tests/dispatch_util.h \
	$(dispatch_test_sources) core/base/rng.c
nodist_tests_test_dispatch_example_SOURCES = %reldir%/chips_cfg.c
tests_test_dispatch_example_LDADD = $(dispatch_test_ldadd)
EXTRA_tests_test_dispatch_example_DEPENDENCIES = $(dispatch_test_modules)

# Through the real program: the trainer with the broken modules (checkpoints compared
# with cmp), and the example built out of tree from installed headers.
TESTS += tests/test_fallback_train.sh tests/test_plugin_kit.sh tests/test_plugin_corpus.sh
EXTRA_DIST += tests/plugins/faulty.c tests/test_fallback_train.sh tests/test_plugin_kit.sh \
	tests/test_plugin_corpus.sh

# The memory plan against measured peak memory, through the trainer.
TESTS += tests/test_memplan.sh
EXTRA_DIST += tests/test_memplan.sh

# The OS dimension of the chip profiles through the real program: --os > ANETRAIN_OS >
# the config's os, what backends and doctor print, bad values.
TESTS += tests/test_chip_os.sh
EXTRA_DIST += tests/test_chip_os.sh
