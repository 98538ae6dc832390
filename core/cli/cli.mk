# core/cli: the anetrain program: main(), option parsing (cli.c), one cmd_*.c per
# subcommand, and `anetrain backends`/`doctor` reporting (inspect.c). The top of the
# layering: it may include every core area and ane/tool (`anetrain mil`); nothing else
# includes it. This fragment defines the program; every other area adds its modules
# to anetrain_SOURCES in its own fragment, and tests list the modules they need
# directly so one area builds and tests on its own.
bin_PROGRAMS += anetrain
anetrain_SOURCES = \
	%reldir%/main.c %reldir%/commands.h %reldir%/reexec.c %reldir%/reexec.h %reldir%/cmd_soak.c \
	%reldir%/cli.c %reldir%/cli.h \
	%reldir%/cmd_train.c %reldir%/cmd_sample.c %reldir%/cmd_eval.c %reldir%/cmd_export.c \
	%reldir%/cmd_tokenize.c %reldir%/cmd_vocab.c \
	%reldir%/cmd_backends.c %reldir%/cmd_doctor.c %reldir%/inspect.c %reldir%/inspect.h
anetrain_LDADD = $(LIBLTDL) $(LIBCONFIG_LIBS) $(OPENBLAS_LIBS) -lm
# The CPU backend is linked in as a preloaded libltdl module so training works with an
# empty or broken plugin folder (DESIGN.md "Who owns what").
anetrain_LDFLAGS = $(AM_LDFLAGS) -dlpreopen backends/builtin/ant_cpu.la
EXTRA_anetrain_DEPENDENCIES = backends/builtin/ant_cpu.la

# anetrain soak through the real trainer on the emulator.
TESTS += tests/test_soak.sh
EXTRA_DIST += tests/test_soak.sh
