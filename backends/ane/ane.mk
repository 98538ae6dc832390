# backends/ane: what every ANE backend shares, in libane.la, one subfolder per layer:
# base/ (fp16 conversion, weight blobs; may include core/base), mil/ (MIL program
# builder, lexer, parser, checker with the M1 rules of docs/ane.md §7.3 in m1rules.c,
# printer; + ane/base), emu/ (the emulator that runs MIL on the CPU; + ane/mil),
# device/ (the device interface and its implementations:
# the emulator everywhere, the Apple device on macOS; + ane/emu); and tool/
# (`anetrain mil`, in libanetool.la; + ane/device and core/dispatch for the chip
# profiles). Each layer may include the ones before it and core/base. Users of
# libane.la also link core/base/util.c (errors, clock), core/base/xxh64.c (cache keys),
# core/base/fileio.c (the compile cache's atomic writes) and OpenBLAS.
noinst_LTLIBRARIES += backends/libane.la
backends_libane_la_SOURCES = \
	%reldir%/base/fp16.c %reldir%/base/fp16.h %reldir%/base/fp16_x86.c \
	%reldir%/base/blob.c %reldir%/base/blob.h \
	%reldir%/mil/mil.h %reldir%/mil/mil_prog.c %reldir%/mil/mil_ops.c \
	%reldir%/mil/mil_check.c %reldir%/mil/m1rules.c \
	%reldir%/mil/mil_lex.c %reldir%/mil/mil_lex.h \
	%reldir%/mil/mil_parse.c %reldir%/mil/mil_print.c \
	%reldir%/mil/mil_build.c %reldir%/mil/mil_build.h \
	%reldir%/emu/emu.h %reldir%/emu/emu_ops.c %reldir%/emu/emu_exec.c \
	%reldir%/device/device.h %reldir%/device/device_impl.h \
	%reldir%/device/device.c %reldir%/device/device_emu.c \
	%reldir%/device/device_apple_logic.c %reldir%/device/device_apple_logic.h \
	%reldir%/device/kcache.c %reldir%/device/kcache.h
backends_libane_la_LIBADD = $(OPENBLAS_LIBS) -lm
if HAVE_APPLE_ANE
# Never compiled or run by us: see the comment at the top of device_apple.c.
backends_libane_la_SOURCES += %reldir%/device/device_apple.c
# libtool records "-framework X" (given at the archive's link) in its dependency_libs,
# so every program and module that links libane.la gets them.
backends_libane_la_LDFLAGS = $(AM_LDFLAGS) -framework CoreFoundation -framework IOSurface
backends_libane_la_LIBADD += -lobjc -ldl
endif

# `anetrain mil` (ane_mil_main) uses the core's chip profiles (chip_from_name), so it
# lives in its own archive: backend modules link libane.la without core symbols.
noinst_LTLIBRARIES += backends/libanetool.la
backends_libanetool_la_SOURCES = %reldir%/tool/mil_tool.c %reldir%/tool/mil_tool.h

anetrain_LDADD += backends/libanetool.la backends/libane.la

# Tests: the ANE toolkit on its own (with core/base's util.c, xxh64.c, rng.c, fileio.c).
ane_test_ldadd = backends/libane.la $(OPENBLAS_LIBS) -lm
ane_test_core = core/base/util.c core/base/xxh64.c core/base/rng.c core/base/fileio.c
ane_tests = tests/test_ane_fp16 tests/test_ane_fp16_simd tests/test_ane_blob tests/test_ane_mil tests/test_ane_parse \
	tests/test_ane_ops tests/test_ane_layers tests/test_ane_device tests/test_ane_apple_logic \
	tests/test_ane_tool tests/test_ane_quant tests/test_ane_kcache
check_PROGRAMS += $(ane_tests)
TESTS += $(ane_tests)
tests_test_ane_fp16_SOURCES = tests/test_ane_fp16.c $(ane_test_core)
tests_test_ane_fp16_LDADD = $(ane_test_ldadd)
tests_test_ane_fp16_simd_SOURCES = tests/test_ane_fp16_simd.c tests/test_ane_util.h $(ane_test_core)
tests_test_ane_fp16_simd_LDADD = $(ane_test_ldadd)
tests_test_ane_blob_SOURCES = tests/test_ane_blob.c $(ane_test_core)
tests_test_ane_blob_LDADD = $(ane_test_ldadd)
tests_test_ane_mil_SOURCES = tests/test_ane_mil.c tests/test_ane_util.h $(ane_test_core)
tests_test_ane_mil_LDADD = $(ane_test_ldadd)
tests_test_ane_parse_SOURCES = tests/test_ane_parse.c tests/test_ane_util.h tests/test_util.h $(ane_test_core)
tests_test_ane_parse_LDADD = $(ane_test_ldadd)
tests_test_ane_ops_SOURCES = tests/test_ane_ops.c tests/test_ane_util.h $(ane_test_core)
tests_test_ane_ops_LDADD = $(ane_test_ldadd)
tests_test_ane_quant_SOURCES = tests/test_ane_quant.c tests/test_ane_util.h $(ane_test_core)
tests_test_ane_quant_LDADD = $(ane_test_ldadd)
tests_test_ane_layers_SOURCES = tests/test_ane_layers.c tests/test_ane_util.h $(ane_test_core)
tests_test_ane_layers_LDADD = backends/libantops.la $(ane_test_ldadd)
tests_test_ane_device_SOURCES = tests/test_ane_device.c tests/test_ane_util.h $(ane_test_core)
tests_test_ane_device_LDADD = $(ane_test_ldadd)
tests_test_ane_apple_logic_SOURCES = tests/test_ane_apple_logic.c tests/test_ane_util.h $(ane_test_core)
tests_test_ane_apple_logic_LDADD = $(ane_test_ldadd)
tests_test_ane_kcache_SOURCES = tests/test_ane_kcache.c tests/test_ane_util.h tests/test_util.h $(ane_test_core)
tests_test_ane_kcache_LDADD = $(ane_test_ldadd)
# the tool with the real chip profiles (core/dispatch/chip.c and the embedded
# configs/chips.cfg)
tests_test_ane_tool_SOURCES = tests/test_ane_tool.c tests/test_ane_util.h \
	core/dispatch/chip.c core/dispatch/chipprof.c core/dispatch/chipos.c core/dispatch/cpufeat.c \
	$(ane_test_core)
nodist_tests_test_ane_tool_SOURCES = core/dispatch/chips_cfg.c
tests_test_ane_tool_LDADD = backends/libanetool.la $(ane_test_ldadd) $(LIBCONFIG_LIBS)

# The M1 rules of docs/ane.md §7.3 on the emulator with the real profiles by OS: the
# silent-zero rules against float64 references and zeros, refusals, `mil check`.
check_PROGRAMS += tests/test_ane_m1rules
TESTS += tests/test_ane_m1rules
tests_test_ane_m1rules_SOURCES = tests/test_ane_m1rules.c tests/test_ane_util.h \
	core/dispatch/chip.c core/dispatch/chipprof.c core/dispatch/chipos.c \
	core/dispatch/cpufeat.c $(ane_test_core)
nodist_tests_test_ane_m1rules_SOURCES = core/dispatch/chips_cfg.c
tests_test_ane_m1rules_LDADD = backends/libanetool.la $(ane_test_ldadd) $(LIBCONFIG_LIBS)

# The corpus of MIL programs the parser test reads (tests/mil/corpus.txt lists them).
ane_mil_corpus = \
	tests/mil/bad_blob_offset.mil tests/mil/bad_char.mil tests/mil/bad_dtype.mil \
	tests/mil/bad_perm.mil tests/mil/blob_too_short.mil \
	tests/mil/blob_unknown_key.mil tests/mil/broadcast_mismatch.mil \
	tests/mil/empty.mil tests/mil/extra_arg.mil tests/mil/fp32_compute.mil \
	tests/mil/matmul_inner.mil tests/mil/missing_arg.mil tests/mil/missing_name.mil \
	tests/mil/offset_past_blob.mil tests/mil/output_undefined.mil \
	tests/mil/param_not_const.mil tests/mil/redefined.mil \
	tests/mil/reshape_count.mil tests/mil/shape_mismatch.mil \
	tests/mil/trailing_garbage.mil tests/mil/truncated.mil \
	tests/mil/undefined_var.mil tests/mil/unknown_op.mil \
	tests/mil/unterminated_string.mil tests/mil/valid.mil \
	tests/mil/valid_verbose.mil tests/mil/wrong_literal_count.mil \
	tests/mil/w8a8.mil tests/mil/sdpa_mask.mil tests/mil/sdpa_verbose.mil \
	tests/mil/bare_bools.mil tests/mil/int8_output.mil tests/mil/constexpr_in_call.mil \
	tests/mil/quant_vector_scale.mil tests/mil/dequant_fp16_input.mil
EXTRA_DIST += tests/mil/corpus.txt $(ane_mil_corpus)

# Emulator speed against the CPU work (prints figures, never fails on time); built on
# request: make bench/bench_emu.
EXTRA_PROGRAMS += bench/bench_emu
bench_bench_emu_SOURCES = bench/bench_emu.c $(ane_test_core)
bench_bench_emu_LDADD = backends/libantops.la $(ane_test_ldadd)
