/* Training data: a token stream read from a file (memory-mapped) or the embedded corpus,
 * cut into windows for the trainer.
 *
 * Formats:
 *   tokens  flat little-endian uint16 token ids, no header: the pretokenized TinyStories
 *           files (docs/ane.md §9.1). n_tokens = file size / 2.
 *   text    UTF-8 (or any) bytes with the byte-level tokenizer: token = byte value, so the
 *           model needs vocab_size >= 256.
 *   auto    "tokens" when the path ends in ".bin", "text" otherwise.
 * The path "" is the embedded corpus (data/corpus.h), always text.
 *
 * How windows are picked, exactly (so a run can be reproduced outside the program):
 * with x[0..n) the token stream, each of the B rows of a batch takes a start p and
 *     tokens[b*T + t] = x[p + t],  targets[b*T + t] = x[p + t + 1]   for t in [0, T)
 *   sequential: p = cur->position; if p + T + 1 > n then p = 0 (a window never crosses
 *               the end); then cur->position = p + T. Rows are taken in order b = 0..B-1.
 *   random:     p = rng_below(&cur->rng, n - T) (base/rng.h: xoshiro256** with rejection
 *               sampling), one draw per row in order b = 0..B-1, so p is uniform over
 *               every start whose window fits.
 * The cursor is the whole data-order state; checkpointing it resumes bit-exactly. */
#ifndef ANT_DATA_H
#define ANT_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "base/state.h"
#include "base/util.h"

struct ant_data;

/* Open and check the data before training. Each refusal is one line naming the file
 * (with the offset, index and value where relevant): missing, unreadable, empty, odd
 * length (tokens), fewer than seq_len + 1 tokens, a token id >= vocab_size (the whole
 * file is scanned), vocab_size < 256 for text, an unknown format. */
int data_open(struct ant_data **out, const char *path, const char *format, int vocab_size,
              int seq_len, struct ant_err *e);
size_t data_n_tokens(const struct ant_data *d);
int data_is_text(const struct ant_data *d);        /* byte tokens (text or the corpus) */
const char *data_name(const struct ant_data *d);   /* the path, or "<embedded corpus>" */
/* A cheap identity of the data: its size, format and a hash of its first and last 4 KiB.
 * Stored in checkpoints to warn when a run resumes on other data. */
uint64_t data_fingerprint(const struct ant_data *d);
/* Hold out the last `fraction` (0 < fraction < 1) of d's tokens: *tail reads them (it
 * shares d's memory: close it before d) and d keeps the tokens before them for training,
 * so no training window, target included, reaches into the tail. d's name and
 * fingerprint stay those of the whole file. Refused, naming the file, when either part
 * would hold fewer than seq_len + 1 tokens. */
int data_split_tail(struct ant_data *d, double fraction, int seq_len, struct ant_data **tail,
                    struct ant_err *e);
/* Fill B windows of T tokens and their targets (see above). T must not exceed the
 * seq_len given to data_open, so that every window fits. tokens, targets: [B*T]. */
void data_next_batch(struct ant_data *d, struct ant_cursor *cur, int sequential, int B, int T,
                     int32_t *tokens, int32_t *targets);
/* Advance the cursor exactly as n windows of T tokens would, without reading them (a
 * data-parallel rank skipping the other ranks' windows, train/dp.h). */
void data_skip_windows(struct ant_data *d, struct ant_cursor *cur, int sequential, long n, int T);
void data_close(struct ant_data *d);

#endif
