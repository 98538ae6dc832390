/* The checkpoint policy (ckpt_policy.h): lock, stale temp files, fresh-run refusal,
 * resume fallback, best checkpoint, divergence tracking. */
#include "train/ckpt_policy.h"

#include <anetrain/backend.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fileio.h"

int policy_check_path(const char *path, struct ant_err *e)
{
    return file_check_output(path, "checkpoint path (--ckpt)", e);
}

/* fcntl locks, not flock: they work on NFS too and on every POSIX system. They belong
 * to the process and end with it, so a killed trainer never leaves a stale lock. The
 * lock file itself stays (removing it would race with a trainer opening it). */
int policy_lock(const char *path, int *fd, struct ant_err *e)
{
    char lock[ANT_PATH_MAX + 8];
    snprintf(lock, sizeof lock, "%s.lock", path);
    *fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (*fd < 0) return ant_errf(e, "%s: cannot open the lock file: %s", lock, strerror(errno));
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(*fd, F_SETLK, &fl) == 0) {
        char pid[32];
        int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
        if (ftruncate(*fd, 0) != 0 || pwrite(*fd, pid, (size_t)n, 0) != n) {
            /* the pid in the file is only a courtesy: the lock is what counts */
        }
        return 0;
    }
    int err = errno;
    struct flock who;
    memset(&who, 0, sizeof who);
    who.l_type = F_WRLCK;
    who.l_whence = SEEK_SET;
    long holder = fcntl(*fd, F_GETLK, &who) == 0 && who.l_type != F_UNLCK ? (long)who.l_pid : 0;
    close(*fd);
    *fd = -1;
    if (err != EACCES && err != EAGAIN)
        return ant_errf(e, "%s: cannot lock: %s", lock, strerror(err));
    if (holder > 0)
        return ant_errf(e, "%s is in use by another trainer (pid %ld holds %s)", path, holder,
                        lock);
    return ant_errf(e, "%s is in use by another trainer (%s is locked)", path, lock);
}

void policy_unlock(int fd)
{
    if (fd >= 0) close(fd);
}

/* "NAME.tmp.<digits>" where NAME is base, base.prev or base.best: the pid, else 0. */
static long stale_pid(const char *entry, const char *base)
{
    size_t n = strlen(base);
    if (strncmp(entry, base, n) != 0) return 0;
    const char *p = entry + n;
    if (!strncmp(p, ".prev", 5) || !strncmp(p, ".best", 5)) p += 5;
    if (strncmp(p, ".tmp.", 5) != 0) return 0;
    p += 5;
    if (!*p || strspn(p, "0123456789") != strlen(p) || strlen(p) > 9) return 0;
    return strtol(p, NULL, 10);
}

int policy_remove_stale(const char *path)
{
    char dir[ANT_PATH_MAX];
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    if (!slash) strcpy(dir, ".");
    else if (slash == path) strcpy(dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    DIR *d = opendir(dir);
    if (!d) return 0;
    int removed = 0;
    for (struct dirent *de; (de = readdir(d));) {
        long pid = stale_pid(de->d_name, base);
        /* Only where the process is gone (ESRCH); EPERM means it lives under another user. */
        if (pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char full[2 * ANT_PATH_MAX + 2];
        snprintf(full, sizeof full, "%s/%s", dir, de->d_name);
        if (unlink(full) == 0) {
            ant_log(ANT_LOG_INFO, NULL, "removed %s, left by process %ld which no longer runs",
                    full, pid);
            removed++;
        }
    }
    closedir(d);
    return removed;
}

static const char *const kept[] = {"", ".prev", ".best"};

int policy_check_fresh(const char *path, int force, struct ant_err *e)
{
    char f[ANT_PATH_MAX + 8];
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
        snprintf(f, sizeof f, "%s%s", path, kept[i]);
        struct stat st;
        if (lstat(f, &st) != 0) continue;
        if (force) {
            if (unlink(f) != 0) return ant_errf(e, "%s: cannot remove it: %s", f, strerror(errno));
            ant_log(ANT_LOG_INFO, NULL, "--force: removed %s", f);
            continue;
        }
        struct ant_ckpt_info info;
        struct ant_err pe;
        if (ckpt_peek(f, &info, &pe) == 0)
            return ant_errf(e, "%s holds step %ld of another run: --resume to continue it, "
                               "or --force to start over and delete it", f, info.step);
        return ant_errf(e, "%s exists (not a checkpoint this run wrote): move it away, or "
                           "--force to delete it", f);
    }
    return 0;
}

/* Load one candidate; 1 when the model does not match (not worth a fallback). */
static int load_one(const char *f, const struct ant_model_config *run, struct ant_train_state *s,
                    struct ant_ckpt_info *info, struct ant_err *e)
{
    if (ckpt_peek(f, info, e) < 0) return -1;
    if (ckpt_check_model(f, &info->model, run, e) < 0) return 1;
    return ckpt_load(f, s, info, e);
}

int policy_resume_load(const char *path, const struct ant_model_config *run,
                       struct ant_train_state *s, struct ant_ckpt_info *info, char *from,
                       size_t from_cap, struct ant_err *e)
{
    struct ant_err first;
    int rc = load_one(path, run, s, info, &first);
    if (rc == 0) {
        snprintf(from, from_cap, "%s", path);
        return 0;
    }
    if (rc > 0) return ant_errf(e, "%s", first.msg);
    char f[ANT_PATH_MAX + 8];
    for (size_t i = 1; i < sizeof kept / sizeof kept[0]; i++) {
        struct ant_err fe;
        snprintf(f, sizeof f, "%s%s", path, kept[i]);
        rc = load_one(f, run, s, info, &fe);
        if (rc > 0) return ant_errf(e, "%s", fe.msg);
        if (rc < 0) {
            if (access(f, F_OK) == 0) ant_log(ANT_LOG_WARN, NULL, "cannot resume from %s either: %s", f, fe.msg);
            continue;
        }
        ant_log(ANT_LOG_WARN, NULL, "cannot resume from %s: %s", path, first.msg);
        char bad[ANT_PATH_MAX + 16];
        snprintf(bad, sizeof bad, "%s.corrupt", path);
        if (access(path, F_OK) == 0) {
            if (rename(path, bad) != 0)
                return ant_errf(e, "%s: cannot move the damaged checkpoint aside to %s: %s", path,
                                bad, strerror(errno));
            ant_log(ANT_LOG_WARN, NULL, "moved the damaged %s to %s", path, bad);
        }
        ant_log(ANT_LOG_WARN, NULL, "falling back to %s (step %ld)", f, info->step);
        snprintf(from, from_cap, "%s", f);
        return 0;
    }
    return ant_errf(e, "%s (and no usable %s.prev or %s.best to fall back to)", first.msg, path,
                    path);
}

int policy_keep_best(const char *path, struct ant_err *e)
{
    char best[ANT_PATH_MAX + 8];
    snprintf(best, sizeof best, "%s.best", path);
    return file_keep_copy(path, best, e);
}

int policy_observe_loss(struct ant_ckpt_run *run, double loss, double factor)
{
    if (isnan(run->smooth_loss)) run->smooth_loss = loss;
    else run->smooth_loss += SMOOTH_ALPHA * (loss - run->smooth_loss);
    if (isnan(run->low_loss) || run->smooth_loss < run->low_loss) run->low_loss = run->smooth_loss;
    return run->smooth_loss > factor * run->low_loss;
}

int policy_is_better(double metric, double best)
{
    return isfinite(metric) && (isnan(best) || metric < best);
}
