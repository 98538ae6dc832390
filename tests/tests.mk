EXTRA_DIST += %reldir%/tap.h
