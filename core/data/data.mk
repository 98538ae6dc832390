# core/data: the training data: token streams and batch sampling (data.c), the small
# corpus embedded in the program (corpus.c), llama2.c tokenizers (tokenizer.c) with the
# BPE encoder (bpe_encode.c), pretokenizing a text file (pretokenize.c), writing
# tokenizer.bin (tokenizer_write.c) and training a vocabulary (vocab_train.cc). May
# include core/base and core/config.
anetrain_SOURCES += \
	%reldir%/data.c %reldir%/data.h \
	%reldir%/corpus.c %reldir%/corpus.h \
	%reldir%/tokenizer.c %reldir%/tokenizer.h \
	%reldir%/bpe_encode.c %reldir%/bpe_encode.h \
	%reldir%/pretokenize.c %reldir%/pretokenize.h \
	%reldir%/tokenizer_write.c %reldir%/tokenizer_write.h \
	%reldir%/vocab_train.h

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

check_PROGRAMS += tests/test_data tests/test_tokenizer tests/test_bpe
TESTS += tests/test_data tests/test_tokenizer tests/test_bpe

tests_test_data_SOURCES = tests/test_data.c tests/test_util.h \
	%reldir%/data.c %reldir%/corpus.c core/base/fileio.c core/base/rng.c core/base/util.c
tests_test_data_LDADD = -lm
tests_test_tokenizer_SOURCES = tests/test_tokenizer.c tests/test_util.h \
	%reldir%/tokenizer.c %reldir%/bpe_encode.c core/base/fileio.c core/base/util.c
tests_test_tokenizer_LDADD = -lm
tests_test_bpe_SOURCES = tests/test_bpe.c tests/test_util.h %reldir%/tokenizer.c \
	%reldir%/bpe_encode.c %reldir%/pretokenize.c %reldir%/tokenizer_write.c \
	core/base/fileio.c core/base/util.c core/base/rng.c
tests_test_bpe_LDADD = -lm
