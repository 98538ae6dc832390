# core/data: the training data: token streams and batch sampling (data.c), the small
# corpus embedded in the program (corpus.c) and llama2.c tokenizers (tokenizer.c). May
# include core/base and core/config.
anetrain_SOURCES += \
	%reldir%/data.c %reldir%/data.h \
	%reldir%/corpus.c %reldir%/corpus.h \
	%reldir%/tokenizer.c %reldir%/tokenizer.h

check_PROGRAMS += tests/test_data tests/test_tokenizer
TESTS += tests/test_data tests/test_tokenizer

tests_test_data_SOURCES = tests/test_data.c tests/test_util.h \
	%reldir%/data.c %reldir%/corpus.c core/base/fileio.c core/base/rng.c core/base/util.c
tests_test_data_LDADD = -lm
tests_test_tokenizer_SOURCES = tests/test_tokenizer.c tests/test_util.h \
	%reldir%/tokenizer.c core/base/fileio.c core/base/util.c
tests_test_tokenizer_LDADD = -lm
