# fragment: see HACKING.md
# backends/ane/train: the ANE training layer every ANE backend shares — the surface
# plan, the kernels as MIL, fp32<->fp16 staging, the dynamic loss scale, the dW worker
# thread, and the forward/backward passes over an ANE device. It may include ane/*,
# cpu/ (the shared CPU math) and core/base. Users link libane_train.la, libane.la,
# libantops.la, OpenBLAS and the thread library.
noinst_LTLIBRARIES += backends/libane_train.la
backends_libane_train_la_SOURCES = \
	%reldir%/plan.c %reldir%/plan.h %reldir%/kernels.c %reldir%/kernels.h \
	%reldir%/stage.c %reldir%/stage.h %reldir%/lscale.c %reldir%/lscale.h \
	%reldir%/dwork.c %reldir%/dwork.h %reldir%/net.c %reldir%/net.h %reldir%/net_impl.h \
	%reldir%/weights.c %reldir%/pass.c %reldir%/wparts.c %reldir%/wparts.h \
	%reldir%/bake.c %reldir%/gemm.c %reldir%/gemm.h
backends_libane_train_la_LIBADD = backends/libane.la backends/libantops.la $(PTHREAD_LIBS)

check_PROGRAMS += tests/test_ane_lscale
TESTS += tests/test_ane_lscale
tests_test_ane_lscale_SOURCES = tests/test_ane_lscale.c
tests_test_ane_lscale_LDADD = backends/libane_train.la
