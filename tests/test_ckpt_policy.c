/* The checkpoint policy's parts on their own: the smoothed loss and the divergence rule
 * against hand-computed values, the lock between two processes, and the replacement of
 * PATH on a file system without hard links (link() is replaced below), where PATH must
 * exist at every rename and PATH.prev must hold the previous contents. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "train/ckpt_policy.h"
#include "base/fileio.h"
#include "tap.h"
#include "test_util.h"

/* ---- a file system without hard links, watched at every rename --------------------- */

static int no_links;            /* link() fails with EPERM, as on FAT or some network FS */
static const char *watched;     /* a path that must exist before and after every rename */
static int watched_missing;     /* times it did not */

int link(const char *from, const char *to)
{
    if (no_links) {
        errno = EPERM;
        return -1;
    }
    return linkat(AT_FDCWD, from, AT_FDCWD, to, 0);
}

int rename(const char *from, const char *to)
{
    if (watched && access(watched, F_OK) != 0) watched_missing++;
    int rc = renameat(AT_FDCWD, from, AT_FDCWD, to);
    if (watched && access(watched, F_OK) != 0) watched_missing++;
    return rc;
}

static void write_text_atomic(const char *p, const char *text)
{
    struct ant_atomic_file a;
    struct ant_err e;
    if (atomic_open(&a, p, &e) < 0 || atomic_write(&a, text, strlen(text), &e) < 0 ||
        atomic_commit(&a, 1, &e) < 0)
        test_bail("atomic write failed:", e.msg);
}

static int holds(const char *p, const char *text)
{
    size_t n;
    unsigned char *b = slurp(p, &n);
    int same = b && n == strlen(text) && !memcmp(b, text, n);
    free(b);
    return same;
}

static void test_replace(int links)
{
    const char *p = tmp_path(links ? "l.ckpt" : "nl.ckpt"), *prev = tmp_path(links ? "l.ckpt.prev" : "nl.ckpt.prev");
    no_links = !links;
    write_text_atomic(p, "one");
    watched = p;
    watched_missing = 0;
    write_text_atomic(p, "two");
    write_text_atomic(p, "three");
    watched = NULL;
    const char *how = links ? "with hard links" : "without hard links";
    ok(holds(p, "three") && holds(prev, "two"), "%s: PATH is the newest, PATH.prev the one before", how);
    ok(watched_missing == 0, "%s: PATH existed at every rename (%d misses)", how, watched_missing);
    /* a .prev that appears meanwhile (a concurrent writer) is replaced, not EEXIST */
    write_bytes(prev, "stranger", 8);
    write_text_atomic(p, "four");
    ok(holds(p, "four") && holds(prev, "three"), "%s: an existing PATH.prev is replaced", how);
    struct ant_err e;
    no_links = 1;
    ok(file_keep_copy(p, tmp_path("copy"), &e) == 0 && holds(tmp_path("copy"), "four"),
       "file_keep_copy copies where links fail");
    no_links = 0;
}

/* ---- the smoothed loss and the divergence rule --------------------------------------- */

static void test_observe(void)
{
    struct ant_ckpt_run r;
    ckpt_run_defaults(&r);
    /* alpha 0.1: s1 = 4; s2 = 4 + 0.1 (2 - 4) = 3.8; s3 = 3.8 + 0.1 (10 - 3.8) = 4.42 */
    int above = policy_observe_loss(&r, 4, 1.5);
    ok(r.smooth_loss == 4 && r.low_loss == 4 && !above, "first loss: smoothed = lowest = 4");
    policy_observe_loss(&r, 2, 1.5);
    ok(fabs(r.smooth_loss - 3.8) < 1e-12 && fabs(r.low_loss - 3.8) < 1e-12, "then 2: 3.8");
    above = policy_observe_loss(&r, 10, 1.5);
    ok(fabs(r.smooth_loss - 4.42) < 1e-12 && fabs(r.low_loss - 3.8) < 1e-12 && !above,
       "then 10: 4.42, lowest stays 3.8, not above 1.5 x 3.8 = 5.7");
    /* 4.42 + 0.1 (20 - 4.42) = 5.978 > 5.7 */
    above = policy_observe_loss(&r, 20, 1.5);
    ok(fabs(r.smooth_loss - 5.978) < 1e-12 && above, "then 20: 5.978 > 5.7, above");
    ok(policy_is_better(1, NAN) && policy_is_better(1, 2) && !policy_is_better(2, 1) &&
       !policy_is_better(NAN, 2) && !policy_is_better(INFINITY, NAN), "is_better: finite and lower");
}

/* ---- the lock between two processes -------------------------------------------------- */

static void test_lock(void)
{
    const char *p = tmp_path("locked.ckpt");
    int ready[2], done[2];
    if (pipe(ready) || pipe(done)) test_bail("pipe", "");
    pid_t child = fork();
    if (child == 0) {
        int fd;
        struct ant_err e;
        char c = policy_lock(p, &fd, &e) == 0 ? 'y' : 'n';
        if (write(ready[1], &c, 1) != 1 || read(done[0], &c, 1) < 0) _exit(2);
        _exit(0);
    }
    char c = 0;
    if (read(ready[0], &c, 1) != 1) c = 0;
    ok(c == 'y', "a process takes the lock");
    int fd;
    struct ant_err e = {{0}};
    char want[64];
    snprintf(want, sizeof want, "(pid %ld holds", (long)child);
    ok(policy_lock(p, &fd, &e) < 0 && strstr(e.msg, want) && strstr(e.msg, "in use by another trainer"),
       "a second process is refused, naming the holder: %s", e.msg);
    if (write(done[1], "x", 1) != 1) test_bail("pipe", "");
    waitpid(child, NULL, 0);
    e.msg[0] = 0;
    ok(policy_lock(p, &fd, &e) == 0, "once the holder has exited the lock is free (%s)", e.msg);
    policy_unlock(fd);
}

int main(void)
{
    tmp_dir_make("test_ckpt_policy");
    test_replace(1);
    test_replace(0);
    test_observe();
    test_lock();
    tmp_dir_remove();
    return tap_done();
}
