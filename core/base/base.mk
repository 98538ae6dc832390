# core/base: what every area uses: errors, logging and allocation (util), file input
# and atomic output (fileio), XXH64 and little-endian helpers, the random generator,
# and the training state (weights, gradients, optimizer moments) every area passes
# around. Depends on nothing of the project (libc and the public headers only); the
# backends may include it.
anetrain_SOURCES += \
	%reldir%/util.c %reldir%/util.h \
	%reldir%/fileio.c %reldir%/fileio.h \
	%reldir%/xxh64.c %reldir%/xxh64.h %reldir%/le.h %reldir%/blas.h \
	%reldir%/rng.c %reldir%/rng.h \
	%reldir%/state.c %reldir%/state.h
