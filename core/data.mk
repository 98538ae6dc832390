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
	%reldir%/data.c %reldir%/corpus.c %reldir%/fileio.c %reldir%/rng.c %reldir%/util.c
tests_test_data_LDADD = -lm
tests_test_tokenizer_SOURCES = tests/test_tokenizer.c tests/test_util.h \
	%reldir%/tokenizer.c %reldir%/fileio.c %reldir%/util.c
tests_test_tokenizer_LDADD = -lm
tests_test_llama2c_SOURCES = tests/test_llama2c.c tests/test_util.h \
	%reldir%/llama2c.c %reldir%/fileio.c %reldir%/rng.c %reldir%/util.c
tests_test_llama2c_LDADD = -lm

# Mutation fuzzing of every reader of user input (data, model.bin, tokenizer.bin,
# checkpoints, configs, chip profiles, MIL programs and blobs): a fixed seed and budget
# here; `tests/fuzz_inputs --seconds N --seed S` runs a longer campaign by hand.
check_PROGRAMS += tests/fuzz_inputs
TESTS += tests/fuzz_inputs
tests_fuzz_inputs_SOURCES = tests/fuzz_inputs.c tests/test_util.h \
	%reldir%/data.c %reldir%/corpus.c %reldir%/tokenizer.c %reldir%/llama2c.c \
	%reldir%/ckpt.c %reldir%/state.c %reldir%/config.c %reldir%/chip.c %reldir%/chipprof.c \
	%reldir%/cpufeat.c %reldir%/fileio.c %reldir%/rng.c %reldir%/util.c %reldir%/xxh64.c
nodist_tests_fuzz_inputs_SOURCES = %reldir%/presets.c %reldir%/chips_cfg.c
tests_fuzz_inputs_LDADD = backends/libane.la $(OPENBLAS_LIBS) $(LIBCONFIG_LIBS) -lm
