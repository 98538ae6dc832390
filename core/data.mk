# fragment: see HACKING.md
# Training data, tokenizers, the embedded corpus and llama2.c model files.
anetrain_SOURCES += \
	%reldir%/data.c %reldir%/data.h \
	%reldir%/corpus.c %reldir%/corpus.h \
	%reldir%/tokenizer.c %reldir%/tokenizer.h \
	%reldir%/llama2c.c %reldir%/llama2c.h

check_PROGRAMS += tests/test_data tests/test_tokenizer tests/test_llama2c
TESTS += tests/test_data tests/test_tokenizer tests/test_llama2c

tests_test_data_SOURCES = tests/test_data.c tests/test_util.h \
	%reldir%/data.c %reldir%/corpus.c %reldir%/rng.c %reldir%/util.c
tests_test_data_LDADD = -lm
tests_test_tokenizer_SOURCES = tests/test_tokenizer.c tests/test_util.h \
	%reldir%/tokenizer.c %reldir%/fileio.c %reldir%/util.c
tests_test_tokenizer_LDADD = -lm
tests_test_llama2c_SOURCES = tests/test_llama2c.c tests/test_util.h \
	%reldir%/llama2c.c %reldir%/fileio.c %reldir%/rng.c %reldir%/util.c
tests_test_llama2c_LDADD = -lm
