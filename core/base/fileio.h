/* File access: input files opened one way, and files written so a crash never leaves
 * a half-written one in place (temp file in the same folder, fsync, rename over the
 * target, fsync the folder). */
#ifndef ANT_FILEIO_H
#define ANT_FILEIO_H

#include <stdint.h>
#include <stdio.h>

#include "base/util.h"

/* Open a regular file for reading and give its size. The one way the core opens its
 * input files, so every reader words a missing or odd file the same way. */
FILE *file_open_read(const char *path, uint64_t *size, struct ant_err *e);
/* The same as a file descriptor (for mmap); -1 on error. A FIFO, a device or a folder
 * is refused at once, never waited on. */
int file_open_regular(const char *path, uint64_t *size, struct ant_err *e);
/* A path an output file may be written to: not empty, not ending with '/', not an
 * existing folder, FIFO or device. what names the option or key ("--ckpt"). */
int file_check_output(const char *path, const char *what, struct ant_err *e);

/* mkdir -p: dir and each missing parent, made with mode (0700 for private caches). */
int file_make_dirs(const char *dir, int mode, struct ant_err *e);

struct ant_atomic_file {
    FILE *f;
    char path[ANT_PATH_MAX];
    char tmp[ANT_PATH_MAX + 32];
};

int atomic_open(struct ant_atomic_file *a, const char *path, struct ant_err *e);
/* Write n bytes; -1 with the reason (disk full, ...) on a short write. */
int atomic_write(struct ant_atomic_file *a, const void *p, size_t n, struct ant_err *e);
/* Flush, fsync, rename into place, fsync the folder. With keep_prev, an existing file
 * at path is first moved to path.prev (the previous good copy). On failure the temp
 * file is removed and the target is untouched. */
int atomic_commit(struct ant_atomic_file *a, int keep_prev, struct ant_err *e);
void atomic_abort(struct ant_atomic_file *a);
/* Make dst hold what src holds now (a hard link, or a copy on file systems without
 * them), replacing dst atomically; src stays in place throughout. */
int file_keep_copy(const char *src, const char *dst, struct ant_err *e);

#endif
