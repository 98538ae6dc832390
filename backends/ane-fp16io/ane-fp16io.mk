# fragment: see HACKING.md
# backends/ane-fp16io: the M1/M2 ANE backend module — the CPU backend's fp32 model with
# its matrix products on the device as runtime-input matmuls (backends/ane/train/gemm.c).
# May include ane/*, cpu/ and core/base.
ane_fp16io_cppflags = $(AM_CPPFLAGS) -DANT_MODULE_NAME=ant_ane_fp16io

plugin_LTLIBRARIES += backends/ant_ane_fp16io.la
backends_ant_ane_fp16io_la_SOURCES = %reldir%/fp16io.c core/base/util.c core/base/xxh64.c core/base/rng.c core/base/fileio.c
backends_ant_ane_fp16io_la_CPPFLAGS = $(ane_fp16io_cppflags)
backends_ant_ane_fp16io_la_LDFLAGS = $(plugin_ldflags)
backends_ant_ane_fp16io_la_LIBADD = backends/libane_train.la $(OPENBLAS_LIBS) $(PTHREAD_LIBS) -lm

noinst_LTLIBRARIES += backends/builtin/ant_ane_fp16io.la
backends_builtin_ant_ane_fp16io_la_SOURCES = %reldir%/fp16io.c
backends_builtin_ant_ane_fp16io_la_CPPFLAGS = $(ane_fp16io_cppflags)
backends_builtin_ant_ane_fp16io_la_LDFLAGS = -module -static -avoid-version -rpath /nowhere
backends_builtin_ant_ane_fp16io_la_LIBADD = backends/libane_train.la
