# core/train: the training loop (train.c) and what it drives: the AdamW optimizer
# (optim.c), held-out evaluation (evaluate.c), the run report (report.c) and the
# data-parallel layer over Open MPI (dp.c). May include
# core/base, core/config, core/data, core/formats and core/dispatch.
anetrain_SOURCES += \
	%reldir%/train.c %reldir%/train.h \
	%reldir%/evaluate.c %reldir%/evaluate.h \
	%reldir%/report.c %reldir%/report.h \
	%reldir%/ckpt_policy.c %reldir%/ckpt_policy.h \
	%reldir%/restart.c %reldir%/restart.h \
	%reldir%/metrics.c %reldir%/metrics.h \
	%reldir%/metrics_read.h %reldir%/plot.c %reldir%/plot.h
# Reading the metrics log (plot, top) needs jansson; drawing it, PLplot (configure.ac).
if HAVE_JANSSON
anetrain_SOURCES += %reldir%/metrics_read.c
anetrain_LDADD += $(JANSSON_LIBS)
endif
if HAVE_PLPLOT
anetrain_LDADD += $(PLPLOT_LIBS)
endif

# optim.c is built as a convenience library only to get -fno-math-errno: without it
# sqrtf keeps an errno branch and the AdamW loop cannot be vectorized (GCC and Linux
# clang; macOS clang has it off already).
noinst_LTLIBRARIES += %reldir%/libantoptim.la
%canon_reldir%_libantoptim_la_SOURCES = %reldir%/optim.c %reldir%/optim.h
%canon_reldir%_libantoptim_la_CFLAGS = $(AM_CFLAGS) -fno-math-errno
anetrain_LDADD += %reldir%/libantoptim.la

# Data-parallel training: the one file built with MPI's flags (empty without MPI, when
# dp.c is the single-rank case). A convenience library so only it gets them.
noinst_LTLIBRARIES += %reldir%/libantdp.la
%canon_reldir%_libantdp_la_SOURCES = %reldir%/dp.c %reldir%/dp.h
%canon_reldir%_libantdp_la_CFLAGS = $(AM_CFLAGS) $(MPI_CFLAGS)
anetrain_LDADD += %reldir%/libantdp.la $(MPI_LIBS)

check_PROGRAMS += tests/test_optim
TESTS += tests/test_optim
tests_test_optim_SOURCES = tests/test_optim.c core/base/state.c core/base/util.c \
	core/base/rng.c
tests_test_optim_LDADD = %reldir%/libantoptim.la -lm

check_PROGRAMS += tests/test_ckpt_policy
TESTS += tests/test_ckpt_policy
tests_test_ckpt_policy_SOURCES = tests/test_ckpt_policy.c tests/test_util.h \
	%reldir%/ckpt_policy.c core/formats/ckpt.c core/base/state.c core/base/util.c \
	core/base/rng.c core/base/fileio.c core/base/xxh64.c
tests_test_ckpt_policy_LDADD = -lm

check_PROGRAMS += tests/test_metrics
TESTS += tests/test_metrics
tests_test_metrics_SOURCES = tests/test_metrics.c tests/test_util.h %reldir%/metrics.c \
	core/base/util.c core/base/fileio.c
tests_test_metrics_LDADD = -lm
if HAVE_JANSSON
tests_test_metrics_SOURCES += %reldir%/metrics_read.c
tests_test_metrics_LDADD += $(JANSSON_LIBS)
endif
