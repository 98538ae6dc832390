/* The embedded default corpus: about 1.5 MB of short, simple English stories in the
 * style of TinyStories (named characters, animals, places, feelings, small plots,
 * dialogue), made by a template grammar driven by base/rng.h with a fixed seed. No libc
 * rand and no floating point, so every platform produces the same bytes. Plain ASCII;
 * stories are separated by a blank line. It lets the trainer run and visibly learn with
 * no data file at all (byte-level tokens, vocab 256). */
#ifndef ANT_CORPUS_H
#define ANT_CORPUS_H

#include <stddef.h>

/* The corpus, generated on the first call and kept for the life of the process (the
 * first call is not thread-safe: make it from the main thread). NUL-terminated; *len is
 * its length without the NUL. NULL (and *len 0) only if memory ran out. */
const char *corpus_text(size_t *len);

/* A fresh generation of the same text, malloc'd, for the caller to free(): what
 * corpus_text() caches. NULL on out of memory. */
char *corpus_generate(size_t *len);

#endif
