/* Files for the test programs: a temp folder made at the start and removed with all it
 * holds at the end, paths in it, whole-file writes and reads, files of the source tree.
 * Header-only like tap.h (include tap.h first); a failed write is a "Bail out!". */
#ifndef ANT_TEST_UTIL_H
#define ANT_TEST_UTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp_dir[256];

static void test_bail(const char *what, const char *path) __attribute__((noreturn, unused));
static void test_bail(const char *what, const char *path)
{
    printf("Bail out! %s %s\n", what, path);
    exit(1);
}

/* $TMPDIR/PREFIX-XXXXXX (or under /tmp) into tmp_dir. */
static void tmp_dir_make(const char *prefix) __attribute__((unused));
static void tmp_dir_make(const char *prefix)
{
    const char *t = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/%s-XXXXXX", t && *t ? t : "/tmp", prefix);
    if (!mkdtemp(tmp_dir)) test_bail("cannot make the temp folder", tmp_dir);
}

/* tmp_dir/NAME. Eight buffers in turn: a path stays valid for the next seven calls. */
static const char *tmp_path(const char *name) __attribute__((unused));
static const char *tmp_path(const char *name)
{
    static char paths[8][512];
    static int k;
    char *p = paths[k++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", tmp_dir, name);
    return p;
}

/* Removes path and, for a folder, all below it; symbolic links are removed, not
 * followed. 0, or -1 if anything stayed. */
static int remove_tree(const char *path) __attribute__((unused));
static int remove_tree(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0) return -1;
    int rc = 0;
    DIR *d = S_ISDIR(sb.st_mode) ? opendir(path) : NULL;
    for (struct dirent *de; d && (de = readdir(d));) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char sub[1024];
        snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
        rc |= remove_tree(sub);
    }
    if (d) closedir(d);
    return remove(path) == 0 ? rc : -1;
}

/* The end of a test: tmp_dir and all it holds go. */
static void tmp_dir_remove(void) __attribute__((unused));
static void tmp_dir_remove(void)
{
    if (remove_tree(tmp_dir) != 0) diag("could not remove %s", tmp_dir);
}

static void write_bytes(const char *path, const void *p, size_t n) __attribute__((unused));
static void write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    int good = f && fwrite(p, 1, n, f) == n;
    if ((f && fclose(f) != 0) || !good) test_bail("cannot write", path);
}

static void write_text(const char *path, const char *text) __attribute__((unused));
static void write_text(const char *path, const char *text)
{
    write_bytes(path, text, strlen(text));
}

/* The whole file with a NUL after it (*n bytes before it, if n), or NULL if it cannot
 * be opened. */
static unsigned char *slurp(const char *path, size_t *n) __attribute__((unused));
static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    unsigned char *p = size >= 0 ? malloc((size_t)size + 1) : NULL;
    if (!p || fseek(f, 0, SEEK_SET) != 0 || fread(p, 1, (size_t)size, f) != (size_t)size)
        test_bail("cannot read", path);
    fclose(f);
    p[size] = 0;
    if (n) *n = (size_t)size;
    return p;
}

/* $ANETRAIN_SRCDIR/REL (make check sets it; "." otherwise), in a buffer of its own. */
static const char *srcdir_path(const char *rel) __attribute__((unused));
static const char *srcdir_path(const char *rel)
{
    static char path[1024];
    const char *top = getenv("ANETRAIN_SRCDIR");
    snprintf(path, sizeof path, "%s/%s", top ? top : ".", rel);
    return path;
}

#endif
