# core/formats: the files a run reads and writes besides data and configs: checkpoints
# (ckpt.c), llama2.c model.bin import and export, versions 0, 1 and 2 (llama2c.c,
# llama2c_ak42.c, llama2c_q8.c), Hugging Face folders (hf.c, safetensors.c, json_util.c),
# recognising a model file by its magic (model_sniff.c), model_io.c, which loads a model
# for sample/eval/export/--init-model from any of them, and init_model.c, which takes
# --init-model's shape into the run configuration. May include core/base, core/config
# and core/data.
anetrain_SOURCES += \
	%reldir%/ckpt.c %reldir%/ckpt.h \
	%reldir%/llama2c.c %reldir%/llama2c.h \
	%reldir%/llama2c_ak42.c %reldir%/llama2c_q8.c \
	%reldir%/model_sniff.c %reldir%/model_sniff.h \
	%reldir%/hf.h %reldir%/hf_permute.c \
	%reldir%/model_io.c %reldir%/model_io.h \
	%reldir%/init_model.c %reldir%/init_model.h

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

check_PROGRAMS += tests/test_ckpt tests/test_llama2c tests/test_llama2c_ak42
TESTS += tests/test_ckpt tests/test_llama2c tests/test_llama2c_ak42
tests_test_ckpt_SOURCES = tests/test_ckpt.c tests/test_util.h %reldir%/ckpt.c \
	core/base/state.c core/base/util.c core/base/rng.c core/base/fileio.c core/base/xxh64.c
tests_test_ckpt_LDADD = -lm
tests_test_llama2c_SOURCES = tests/test_llama2c.c tests/test_util.h tests/test_weights.h \
	%reldir%/llama2c.c core/base/fileio.c core/base/rng.c core/base/util.c
tests_test_llama2c_LDADD = -lm

# model_import needs the checkpoint reader and the HF reader (or its stub)
model_io_test_sources = %reldir%/model_io.c %reldir%/model_sniff.c %reldir%/llama2c.c \
	%reldir%/llama2c_ak42.c %reldir%/llama2c_q8.c %reldir%/hf_permute.c $(hf_impl) \
	%reldir%/ckpt.c core/base/state.c core/base/xxh64.c core/base/fileio.c core/base/rng.c \
	core/base/util.c
tests_test_llama2c_ak42_SOURCES = tests/test_llama2c_ak42.c tests/test_util.h tests/test_weights.h \
	$(model_io_test_sources)
tests_test_llama2c_ak42_LDADD = $(JANSSON_LIBS) -lm
if HAVE_JANSSON
check_PROGRAMS += tests/test_hf
TESTS += tests/test_hf
endif
tests_test_hf_SOURCES = tests/test_hf.c tests/test_util.h tests/test_weights.h $(model_io_test_sources)
tests_test_hf_LDADD = $(JANSSON_LIBS) -lm
