#include "base/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

FILE *file_open_read(const char *path, uint64_t *size, struct ant_err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) ant_errf(e, "%s: no such file", path);
        else ant_errf(e, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        ant_errf(e, "%s: not a regular file", path);
        return NULL;
    }
    *size = (uint64_t)st.st_size;
    return f;
}

int atomic_open(struct ant_atomic_file *a, const char *path, struct ant_err *e)
{
    memset(a, 0, sizeof *a);
    if (strlen(path) >= sizeof a->path) return ant_errf(e, "%s: path too long", path);
    strcpy(a->path, path);
    snprintf(a->tmp, sizeof a->tmp, "%s.tmp.%ld", path, (long)getpid());
    a->f = fopen(a->tmp, "wb");
    if (!a->f) return ant_errf(e, "%s: cannot write here: %s", path, strerror(errno));
    return 0;
}

int atomic_write(struct ant_atomic_file *a, const void *p, size_t n, struct ant_err *e)
{
    if (n && fwrite(p, 1, n, a->f) != n)
        return ant_errf(e, "%s: write failed: %s", a->tmp, strerror(errno));
    return 0;
}

static int fsync_dir_of(const char *path)
{
    char dir[ANT_PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash) strcpy(dir, ".");
    else if (slash == path) strcpy(dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Keep the current file as PATH.prev. A hard link, not a rename, so that PATH exists at
 * every moment: a crash between renaming PATH away and renaming the new file in would
 * leave nothing to resume from. File systems without hard links get the rename. */
static int keep_previous(const char *path, struct ant_err *e)
{
    char prev[ANT_PATH_MAX + 8];
    snprintf(prev, sizeof prev, "%s.prev", path);
    if (unlink(prev) != 0 && errno != ENOENT)
        return ant_errf(e, "%s: cannot replace the previous copy: %s", prev, strerror(errno));
    if (link(path, prev) == 0 || rename(path, prev) == 0) return 0;
    return ant_errf(e, "%s: cannot keep the previous copy as %s: %s", path, prev,
                    strerror(errno));
}

int atomic_commit(struct ant_atomic_file *a, int keep_prev, struct ant_err *e)
{
    FILE *f = a->f;
    a->f = NULL;
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        ant_errf(e, "%s: write failed: %s", a->tmp, strerror(errno));
        fclose(f);
        unlink(a->tmp);
        return -1;
    }
    if (fclose(f) != 0) {
        ant_errf(e, "%s: close failed: %s", a->tmp, strerror(errno));
        unlink(a->tmp);
        return -1;
    }
    if (keep_prev && access(a->path, F_OK) == 0 && keep_previous(a->path, e) < 0) {
        unlink(a->tmp);
        return -1;
    }
    if (rename(a->tmp, a->path) != 0) {
        ant_errf(e, "%s: cannot rename into place: %s", a->path, strerror(errno));
        unlink(a->tmp);
        return -1;
    }
    if (fsync_dir_of(a->path) != 0)
        return ant_errf(e, "%s: fsync of its folder failed: %s", a->path, strerror(errno));
    return 0;
}

void atomic_abort(struct ant_atomic_file *a)
{
    if (a->f) {
        fclose(a->f);
        a->f = NULL;
        unlink(a->tmp);
    }
}
