# Whole-program tests of the trainer (areas keep their unit tests in their fragments).
EXTRA_DIST += %reldir%/tap.h %reldir%/tap.sh
TESTS += %reldir%/test_train.sh %reldir%/test_errors.sh %reldir%/test_ckpt_policy.sh \
	%reldir%/test_kill_policy.sh %reldir%/test_formats.sh %reldir%/test_run.sh
EXTRA_DIST += %reldir%/test_train.sh %reldir%/test_errors.sh %reldir%/test_ckpt_policy.sh \
	%reldir%/test_kill_policy.sh %reldir%/test_formats.sh %reldir%/test_run.sh

# Mutation fuzzing of every reader of user input (data, model.bin, tokenizer.bin,
# checkpoints, configs, chip profiles, MIL programs and blobs): a fixed seed and budget
# here; `tests/fuzz_inputs --seconds N --seed S` runs a longer campaign by hand. It
# spans the areas, so it lives here and lists the modules of each.
check_PROGRAMS += %reldir%/fuzz_inputs
TESTS += %reldir%/fuzz_inputs
tests_fuzz_inputs_SOURCES = %reldir%/fuzz_inputs.c %reldir%/test_util.h \
	core/data/data.c core/data/corpus.c core/data/tokenizer.c core/formats/llama2c.c \
	core/data/bpe_encode.c core/formats/llama2c_ak42.c core/formats/llama2c_q8.c \
	core/formats/model_sniff.c core/formats/hf_permute.c core/formats/model_io.c $(hf_impl) \
	core/formats/ckpt.c core/base/state.c core/config/config.c core/dispatch/chip.c \
	core/dispatch/chipprof.c core/dispatch/chipos.c core/dispatch/cpufeat.c core/base/fileio.c core/base/rng.c \
	core/base/util.c core/base/xxh64.c
# The HF readers are fuzzed only when configure found jansson (hf_test_defs, formats.mk).
tests_fuzz_inputs_CPPFLAGS = $(AM_CPPFLAGS) $(hf_test_defs)
nodist_tests_fuzz_inputs_SOURCES = core/config/presets.c core/dispatch/chips_cfg.c
tests_fuzz_inputs_LDADD = backends/libane.la $(OPENBLAS_LIBS) $(LIBCONFIG_LIBS) $(JANSSON_LIBS) -lm

# The one-way includes of HACKING.md "Layout" (and no stale include), with the check's
# own tests on small broken trees.
TESTS += %reldir%/check_layers.sh
EXTRA_DIST += %reldir%/check_layers.sh

# Data-parallel training on Open MPI (core/train/dp.h); without MPI it checks only that a
# build without it refuses to be one of several ranks.
TESTS += %reldir%/test_dp.sh
EXTRA_DIST += %reldir%/test_dp.sh %reldir%/lsan_mpi.supp
