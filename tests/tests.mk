# Whole-program tests of the trainer (areas keep their unit tests in their fragments).
EXTRA_DIST += %reldir%/tap.h %reldir%/tap.sh
TESTS += %reldir%/test_train.sh %reldir%/test_errors.sh %reldir%/test_dp.sh
EXTRA_DIST += %reldir%/test_train.sh %reldir%/test_errors.sh %reldir%/test_dp.sh \
	%reldir%/lsan_mpi.supp
