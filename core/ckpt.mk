# Optimizer and checkpoints. optim.c is built as a convenience library only to get
# -fno-math-errno: without it sqrtf keeps an errno branch and the AdamW loop cannot be
# vectorized (GCC and Linux clang; macOS clang has it off already).
noinst_LTLIBRARIES += %reldir%/libantoptim.la
%canon_reldir%_libantoptim_la_SOURCES = %reldir%/optim.c %reldir%/optim.h
%canon_reldir%_libantoptim_la_CFLAGS = $(AM_CFLAGS) -fno-math-errno

anetrain_SOURCES += %reldir%/ckpt.c %reldir%/ckpt.h %reldir%/xxh64.c %reldir%/xxh64.h %reldir%/le.h \
	%reldir%/ckpt_policy.c %reldir%/ckpt_policy.h
anetrain_LDADD += %reldir%/libantoptim.la

check_PROGRAMS += tests/test_optim tests/test_ckpt tests/test_ckpt_policy
TESTS += tests/test_optim tests/test_ckpt tests/test_ckpt_policy
tests_test_optim_SOURCES = tests/test_optim.c core/state.c core/util.c core/rng.c
tests_test_optim_LDADD = %reldir%/libantoptim.la -lm
tests_test_ckpt_SOURCES = tests/test_ckpt.c tests/test_util.h %reldir%/ckpt.c core/state.c \
	core/util.c core/rng.c core/fileio.c core/xxh64.c
tests_test_ckpt_LDADD = -lm
tests_test_ckpt_policy_SOURCES = tests/test_ckpt_policy.c tests/test_util.h \
	%reldir%/ckpt_policy.c %reldir%/ckpt.c core/state.c core/util.c core/rng.c core/fileio.c \
	core/xxh64.c
tests_test_ckpt_policy_LDADD = -lm
