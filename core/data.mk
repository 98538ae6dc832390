# fragment: see HACKING.md
# Training data, tokenizers, the embedded corpus and llama2.c model files.
anetrain_SOURCES += \
	%reldir%/data.c %reldir%/data.h \
	%reldir%/corpus.c %reldir%/corpus.h \
	%reldir%/tokenizer.c %reldir%/tokenizer.h \
	%reldir%/llama2c.c %reldir%/llama2c.h \
	%reldir%/llama2c_ak42.c %reldir%/llama2c_q8.c \
	%reldir%/model_sniff.c %reldir%/model_sniff.h \
	%reldir%/bpe_encode.c %reldir%/bpe_encode.h \
	%reldir%/pretokenize.c %reldir%/pretokenize.h \
	%reldir%/tokenizer_write.c %reldir%/tokenizer_write.h \
	%reldir%/hf.h %reldir%/hf_permute.c %reldir%/vocab_train.h \
	%reldir%/cmd_tokenize.c %reldir%/cmd_vocab.c

# Hugging Face folders when configure found jansson (JANSSON_*), else a stub that says so.
hf_sources = %reldir%/hf.c %reldir%/safetensors.c %reldir%/safetensors.h \
	%reldir%/json_util.c %reldir%/json_util.h
if HAVE_JANSSON
anetrain_SOURCES += $(hf_sources)
anetrain_LDADD += $(JANSSON_LIBS)
hf_impl = $(hf_sources)
hf_test_defs = -DANT_TEST_HF
else
anetrain_SOURCES += %reldir%/hf_none.c
hf_impl = %reldir%/hf_none.c
hf_test_defs =
endif
EXTRA_DIST += %reldir%/hf_none.c $(hf_sources)
AM_CFLAGS += $(JANSSON_CFLAGS)

# `anetrain vocab` when configure found SentencePiece: its C++ file is a static library so
# the program itself stays C and links with the C compiler (plus libstdc++).
if HAVE_SENTENCEPIECE
noinst_LIBRARIES = %reldir%/libantvocab.a
%canon_reldir%_libantvocab_a_SOURCES = %reldir%/vocab_train.cc
%canon_reldir%_libantvocab_a_CXXFLAGS = $(SAN_CFLAGS) $(SENTENCEPIECE_CFLAGS) -Wall -Wextra
anetrain_LDADD += %reldir%/libantvocab.a $(SENTENCEPIECE_LIBS) -lstdc++
vocab_impl = %reldir%/libantvocab.a $(SENTENCEPIECE_LIBS) -lstdc++
else
anetrain_SOURCES += %reldir%/vocab_none.c
vocab_impl =
endif
EXTRA_DIST += %reldir%/vocab_none.c %reldir%/vocab_train.cc

check_PROGRAMS += tests/test_data tests/test_tokenizer tests/test_llama2c \
	tests/test_llama2c_ak42 tests/test_bpe
TESTS += tests/test_data tests/test_tokenizer tests/test_llama2c \
	tests/test_llama2c_ak42 tests/test_bpe

tests_test_data_SOURCES = tests/test_data.c tests/test_util.h \
	%reldir%/data.c %reldir%/corpus.c %reldir%/rng.c %reldir%/util.c
tests_test_data_LDADD = -lm
tests_test_tokenizer_SOURCES = tests/test_tokenizer.c tests/test_util.h \
	%reldir%/tokenizer.c %reldir%/bpe_encode.c %reldir%/fileio.c %reldir%/util.c
tests_test_tokenizer_LDADD = -lm
tests_test_llama2c_SOURCES = tests/test_llama2c.c tests/test_util.h \
	%reldir%/llama2c.c %reldir%/fileio.c %reldir%/rng.c %reldir%/util.c
tests_test_llama2c_LDADD = -lm

# model_import needs the checkpoint reader and the HF reader (or its stub)
model_io_test_sources = %reldir%/model_io.c %reldir%/model_sniff.c %reldir%/llama2c.c \
	%reldir%/llama2c_ak42.c %reldir%/llama2c_q8.c %reldir%/hf_permute.c $(hf_impl) \
	%reldir%/ckpt.c %reldir%/state.c %reldir%/xxh64.c %reldir%/fileio.c %reldir%/rng.c \
	%reldir%/util.c
tests_test_llama2c_ak42_SOURCES = tests/test_llama2c_ak42.c tests/test_util.h \
	$(model_io_test_sources)
tests_test_llama2c_ak42_LDADD = $(JANSSON_LIBS) -lm
if HAVE_JANSSON
check_PROGRAMS += tests/test_hf
TESTS += tests/test_hf
endif
tests_test_hf_SOURCES = tests/test_hf.c tests/test_util.h $(model_io_test_sources)
tests_test_hf_LDADD = $(JANSSON_LIBS) -lm
tests_test_bpe_SOURCES = tests/test_bpe.c tests/test_util.h %reldir%/tokenizer.c \
	%reldir%/bpe_encode.c %reldir%/pretokenize.c %reldir%/tokenizer_write.c \
	%reldir%/fileio.c %reldir%/util.c %reldir%/rng.c
tests_test_bpe_LDADD = -lm

# Mutation fuzzing of every reader of user input (data, model.bin, tokenizer.bin,
# checkpoints, configs, chip profiles, MIL programs and blobs): a fixed seed and budget
# here; `tests/fuzz_inputs --seconds N --seed S` runs a longer campaign by hand.
check_PROGRAMS += tests/fuzz_inputs
TESTS += tests/fuzz_inputs
tests_fuzz_inputs_SOURCES = tests/fuzz_inputs.c tests/test_util.h \
	%reldir%/data.c %reldir%/corpus.c %reldir%/tokenizer.c %reldir%/llama2c.c \
	%reldir%/bpe_encode.c %reldir%/llama2c_ak42.c %reldir%/llama2c_q8.c \
	%reldir%/model_sniff.c %reldir%/hf_permute.c %reldir%/model_io.c $(hf_impl) \
	%reldir%/ckpt.c %reldir%/state.c %reldir%/config.c %reldir%/chip.c %reldir%/chipprof.c \
	%reldir%/cpufeat.c %reldir%/fileio.c %reldir%/rng.c %reldir%/util.c %reldir%/xxh64.c
tests_fuzz_inputs_CPPFLAGS = $(AM_CPPFLAGS) $(hf_test_defs)
nodist_tests_fuzz_inputs_SOURCES = %reldir%/presets.c %reldir%/chips_cfg.c
tests_fuzz_inputs_LDADD = backends/libane.la $(OPENBLAS_LIBS) $(LIBCONFIG_LIBS) $(JANSSON_LIBS) -lm
