/* ckpt_store: see ckpt_store.h. */
#define _XOPEN_SOURCE 700 /* POSIX 2008 (fsync) */

#include "ckpt_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fd_io.h"

/* dir of path into out ("." when it has none). */
static void dir_of(const char *path, char *out, size_t n)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        snprintf(out, n, ".");
    } else if (slash == path) {
        snprintf(out, n, "/");
    } else {
        snprintf(out, n, "%.*s", (int)(slash - path), path);
    }
}

static int fsync_dir(const char *path)
{
    char dir[CKPT_STORE_PATH_BYTES];
    int fd, rc;
    dir_of(path, dir, sizeof dir);
    fd = open(dir, O_RDONLY);
    if (fd < 0) {
        return -1;
    }
    rc = fsync(fd);
    close(fd);
    return rc;
}

/* path with suffix into out; 0, or -1 if it does not fit. */
static int with_suffix(const char *path, const char *suffix, char *out)
{
    return (size_t)snprintf(out, CKPT_STORE_PATH_BYTES, "%s%s", path, suffix) <
                   CKPT_STORE_PATH_BYTES
               ? 0
               : -1;
}

int ckpt_store_save(const char *path, const void *data, size_t n, int rotate)
{
    char tmp[CKPT_STORE_PATH_BYTES], prev[CKPT_STORE_PATH_BYTES];
    int fd;
    if (with_suffix(path, ".tmp", tmp) != 0 || with_suffix(path, ".prev", prev) != 0) {
        fprintf(stderr, "rtu_pi: checkpoint path too long\n");
        return -1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || fd_write_all(fd, data, n) != 0 || fsync(fd) != 0) {
        fprintf(stderr, "rtu_pi: cannot write %s: %s\n", tmp, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        unlink(tmp);
        return -1;
    }
    if (close(fd) != 0) {
        fprintf(stderr, "rtu_pi: cannot write %s: %s\n", tmp, strerror(errno));
        unlink(tmp);
        return -1;
    }
    if (rotate && rename(path, prev) != 0 && errno != ENOENT) {
        fprintf(stderr, "rtu_pi: cannot rename %s to %s: %s\n", path, prev, strerror(errno));
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "rtu_pi: cannot rename %s to %s: %s\n", tmp, path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    if (fsync_dir(path) != 0) {
        fprintf(stderr, "rtu_pi: cannot fsync the directory of %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Offer the file at path; 1 accepted, 0 missing, -1 refused or unreadable (message printed). */
static int offer(const char *path, const char *label, unsigned char *buf, size_t cap,
                 ckpt_store_accept accept, void *ctx)
{
    char what[CKPT_STORE_PATH_BYTES + 32];
    long bytes = fd_read_file(path, buf, cap);
    snprintf(what, sizeof what, "%s %s", label, path);
    if (bytes < 0) {
        if (errno == ENOENT) {
            return 0;
        }
        fprintf(stderr, "rtu_pi: %s refused: %s\n", what,
                errno == EFBIG ? "larger than any checkpoint this build holds" : strerror(errno));
        return -1;
    }
    return accept(ctx, buf, (size_t)bytes, what) ? 1 : -1;
}

/* A save of path cut short after its PATH.tmp was written: offer PATH.tmp; accepted, finish the
 * save (rename it over path; PATH.prev stays, whatever path held); refused, remove it. 1 if it was
 * accepted, 0 if there was none or it was refused, -1 if the path is too long. */
static int finish_save(const char *path, unsigned char *buf, size_t cap,
                       ckpt_store_accept accept, void *ctx)
{
    char tmp[CKPT_STORE_PATH_BYTES];
    int got;
    if (with_suffix(path, ".tmp", tmp) != 0) {
        fprintf(stderr, "rtu_pi: checkpoint path too long\n");
        return -1;
    }
    got = offer(tmp, "unfinished checkpoint", buf, cap, accept, ctx);
    if (got < 0) {
        if (unlink(tmp) == 0) {
            fprintf(stderr, "rtu_pi: removed %s (a save cut short before it was complete)\n", tmp);
        }
        return 0;
    }
    if (got == 1) {
        if (rename(tmp, path) != 0) {
            fprintf(stderr, "rtu_pi: cannot rename %s to %s: %s\n", tmp, path, strerror(errno));
        } else if (fsync_dir(path) != 0) {
            fprintf(stderr, "rtu_pi: cannot fsync the directory of %s: %s\n", path,
                    strerror(errno));
        }
    }
    return got;
}

ckpt_store_result ckpt_store_load(const char *path, unsigned char *buf, size_t cap,
                                  ckpt_store_accept accept, void *ctx, int *path_refused)
{
    char prev[CKPT_STORE_PATH_BYTES];
    int got, got_prev;
    if (path_refused != NULL) {
        *path_refused = 0;
    }
    got = finish_save(path, buf, cap, accept, ctx);
    if (got != 0) {
        return got == 1 ? CKPT_STORE_TMP : CKPT_STORE_REFUSED;
    }
    got = offer(path, "checkpoint", buf, cap, accept, ctx);
    if (path_refused != NULL) {
        *path_refused = got < 0;
    }
    if (got == 1) {
        return CKPT_STORE_PATH;
    }
    if (with_suffix(path, ".prev", prev) != 0) {
        fprintf(stderr, "rtu_pi: checkpoint path too long\n");
        return CKPT_STORE_REFUSED;
    }
    got_prev = offer(prev, "previous checkpoint", buf, cap, accept, ctx);
    if (got_prev == 1) {
        return CKPT_STORE_PREV;
    }
    return got < 0 || got_prev < 0 ? CKPT_STORE_REFUSED : CKPT_STORE_NONE;
}
