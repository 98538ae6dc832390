# The trainer program. Each core module is listed once here; tests list the modules
# they need directly so one area can be built and tested without the others.
bin_PROGRAMS += anetrain
anetrain_SOURCES = \
	%reldir%/main.c \
	%reldir%/util.c %reldir%/util.h \
	%reldir%/rng.c %reldir%/rng.h \
	%reldir%/state.c %reldir%/state.h \
	%reldir%/fileio.c %reldir%/fileio.h \
	%reldir%/config.h
anetrain_LDADD = $(LIBLTDL) $(LIBCONFIG_LIBS) $(OPENBLAS_LIBS) -lm
# The CPU backend is linked in as a preloaded libltdl module so training works with an
# empty or broken plugin folder (DESIGN.md "Who owns what").
anetrain_LDFLAGS = $(AM_LDFLAGS) -dlpreopen backends/builtin/ant_cpu.la
anetrain_DEPENDENCIES = backends/builtin/ant_cpu.la
