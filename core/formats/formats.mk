# core/formats: the files a run reads and writes besides data and configs: checkpoints
# (ckpt.c), llama2.c model.bin import and export (llama2c.c), and model_io.c, which
# loads a model for sample/eval/export from either. May include core/base, core/config
# and core/data.
anetrain_SOURCES += \
	%reldir%/ckpt.c %reldir%/ckpt.h \
	%reldir%/llama2c.c %reldir%/llama2c.h \
	%reldir%/model_io.c %reldir%/model_io.h

check_PROGRAMS += tests/test_ckpt tests/test_llama2c
TESTS += tests/test_ckpt tests/test_llama2c
tests_test_ckpt_SOURCES = tests/test_ckpt.c tests/test_util.h %reldir%/ckpt.c \
	core/base/state.c core/base/util.c core/base/rng.c core/base/fileio.c core/base/xxh64.c
tests_test_ckpt_LDADD = -lm
tests_test_llama2c_SOURCES = tests/test_llama2c.c tests/test_util.h \
	%reldir%/llama2c.c core/base/fileio.c core/base/rng.c core/base/util.c
tests_test_llama2c_LDADD = -lm
