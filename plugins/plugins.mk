# The kit for out-of-tree backends: the example backend, its standalone Makefile and
# the how-to; the pkg-config file (anetrain-plugin.pc) is installed by Makefile.am.
#
# The example is also built here as a check module, with only the public headers on
# its include path (no AM_CPPFLAGS), so `make check` proves it needs nothing else and
# compares its numbers with the CPU backend (tests/test_dispatch_example).
check_LTLIBRARIES += plugins/example/ant_example.la
plugins_example_ant_example_la_SOURCES = %reldir%/example/ant_example.c
plugins_example_ant_example_la_CPPFLAGS = -I$(top_srcdir)/include -DANT_MODULE_NAME=ant_example
plugins_example_ant_example_la_LDFLAGS = $(plugin_ldflags) -rpath /nowhere
plugins_example_ant_example_la_LIBADD = -lm

EXTRA_DIST += %reldir%/README.md %reldir%/example/Makefile
