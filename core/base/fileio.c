#include "base/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int file_open_regular(const char *path, uint64_t *size, struct ant_err *e)
{
    /* O_NONBLOCK: opening a FIFO for reading would wait for a writer forever. */
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT) ant_errf(e, "%s: no such file", path);
        else ant_errf(e, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    memset(&st, 0, sizeof st);
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ant_errf(e, "%s: %s", path, S_ISDIR(st.st_mode) ? "is a directory"
                                                         : "not a regular file");
        close(fd);
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        ant_errf(e, "%s: cannot open: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    *size = (uint64_t)st.st_size;
    return fd;
}

FILE *file_open_read(const char *path, uint64_t *size, struct ant_err *e)
{
    int fd = file_open_regular(path, size, e);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        ant_errf(e, "%s: cannot open: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

int file_check_output(const char *path, const char *what, struct ant_err *e)
{
    size_t n = strlen(path);
    if (n == 0) return ant_errf(e, "%s: empty path", what);
    if (path[n - 1] == '/') return ant_errf(e, "%s: %s names a folder (ends with '/')", what, path);
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return ant_errf(e, "%s: %s %s", what, path,
                        S_ISDIR(st.st_mode) ? "is a folder" : "exists and is not a regular file");
    return 0;
}

int file_make_dirs(const char *dir, int mode, struct ant_err *e)
{
    char p[ANT_PATH_MAX];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p) return ant_errf(e, "%s: path too long", dir);
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != 0) continue;
        char c = *s;
        *s = 0;
        struct stat st;
        if (mkdir(p, (mode_t)mode) != 0 && (errno != EEXIST || stat(p, &st) != 0 || !S_ISDIR(st.st_mode)))
            return ant_errf(e, "%s: cannot make the folder: %s", p, errno == EEXIST ? "a file is in the way" : strerror(errno));
        *s = c;
        if (!c) return 0;
    }
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

/* src -> dst by copying, for file systems without hard links. */
static int copy_file(const char *src, const char *dst, struct ant_err *e)
{
    uint64_t size;
    FILE *in = file_open_read(src, &size, e);
    if (!in) return -1;
    struct ant_atomic_file a;
    if (atomic_open(&a, dst, e) < 0) {
        fclose(in);
        return -1;
    }
    char buf[1 << 16];
    size_t k;
    int rc = 0;
    while (rc == 0 && (k = fread(buf, 1, sizeof buf, in)) > 0) rc = atomic_write(&a, buf, k, e);
    if (rc == 0 && ferror(in)) rc = ant_errf(e, "%s: read failed: %s", src, strerror(errno));
    fclose(in);
    if (rc < 0) {
        atomic_abort(&a);
        return -1;
    }
    return atomic_commit(&a, 0, e);
}

/* A hard link made under a temp name and renamed over dst, so src is never absent and
 * a dst that appears meanwhile is simply replaced (no EEXIST); a copy where the file
 * system has no hard links. */
int file_keep_copy(const char *src, const char *dst, struct ant_err *e)
{
    char tmp[ANT_PATH_MAX + 40];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", dst, (long)getpid());
    unlink(tmp);
    if (link(src, tmp) == 0) {
        if (rename(tmp, dst) == 0) return 0;
        int err = errno;
        unlink(tmp);
        return ant_errf(e, "%s: cannot replace it: %s", dst, strerror(err));
    }
    struct ant_err inner;
    if (copy_file(src, dst, &inner) < 0) return ant_errf(e, "%s: %s", dst, inner.msg);
    return 0;
}

/* Keep the current file as PATH.prev, PATH present at every moment. */
static int keep_previous(const char *path, struct ant_err *e)
{
    char prev[ANT_PATH_MAX + 8];
    struct ant_err inner;
    snprintf(prev, sizeof prev, "%s.prev", path);
    if (file_keep_copy(path, prev, &inner) < 0)
        return ant_errf(e, "cannot keep the previous copy: %s", inner.msg);
    return 0;
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
