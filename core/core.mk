# The trainer program. Each core module is listed once here or in its area's fragment;
# tests list the modules they need directly so one area builds and tests on its own.
bin_PROGRAMS += anetrain
anetrain_SOURCES = \
	%reldir%/main.c %reldir%/commands.h \
	%reldir%/cli.c %reldir%/cli.h \
	%reldir%/cpufeat.c %reldir%/cpufeat.h \
	%reldir%/cmd_train.c %reldir%/cmd_sample.c %reldir%/cmd_eval.c %reldir%/cmd_export.c \
	%reldir%/train.c %reldir%/train.h \
	%reldir%/model_io.c %reldir%/model_io.h \
	%reldir%/evaluate.c %reldir%/evaluate.h \
	%reldir%/report.c %reldir%/report.h \
	%reldir%/util.c %reldir%/util.h \
	%reldir%/rng.c %reldir%/rng.h \
	%reldir%/state.c %reldir%/state.h \
	%reldir%/fileio.c %reldir%/fileio.h \
	%reldir%/config.h
anetrain_LDADD = $(LIBLTDL) $(LIBCONFIG_LIBS) $(OPENBLAS_LIBS) -lm
# Data-parallel training: the one file built with MPI's flags (empty without MPI, when
# dp.c is the single-rank case). A convenience library so only it gets them.
noinst_LTLIBRARIES += %reldir%/libantdp.la
%canon_reldir%_libantdp_la_SOURCES = %reldir%/dp.c %reldir%/dp.h
%canon_reldir%_libantdp_la_CFLAGS = $(AM_CFLAGS) $(MPI_CFLAGS)
anetrain_LDADD += %reldir%/libantdp.la $(MPI_LIBS)
# The CPU backend is linked in as a preloaded libltdl module so training works with an
# empty or broken plugin folder (DESIGN.md "Who owns what").
anetrain_LDFLAGS = $(AM_LDFLAGS) -dlpreopen backends/builtin/ant_cpu.la
EXTRA_anetrain_DEPENDENCIES = backends/builtin/ant_cpu.la
