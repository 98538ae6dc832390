# core/infer: generating text from the fp32 weights: a KV-cache forward (kvmodel.c) and
# llama2.c run.c's sampler and generation loop (generate.c). May include core/base,
# core/config, core/data and core/formats.
anetrain_SOURCES += \
	%reldir%/kvmodel.c %reldir%/kvmodel.h \
	%reldir%/generate.c %reldir%/generate.h

check_PROGRAMS += tests/test_generate
TESTS += tests/test_generate
tests_test_generate_SOURCES = tests/test_generate.c tests/test_util.h \
	%reldir%/kvmodel.c %reldir%/generate.c core/data/tokenizer.c core/data/bpe_encode.c \
	core/base/util.c core/base/rng.c core/base/fileio.c
tests_test_generate_LDADD = backends/libantops.la $(OPENBLAS_LIBS) -lm
