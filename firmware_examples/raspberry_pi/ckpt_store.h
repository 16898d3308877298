/*
 * ckpt_store: checkpoint files that survive power cuts and crashes. A save writes PATH.tmp,
 * fsyncs it, keeps the previous checkpoint as PATH.prev, renames PATH.tmp to PATH and fsyncs the
 * directory: each rename is atomic, so at every instant PATH or PATH.prev holds a complete
 * checkpoint. A load takes PATH.tmp first if a save was cut short after writing it (the newest
 * checkpoint, complete if the caller accepts it: it is then renamed to PATH, finishing the save;
 * else it is removed), then PATH, or PATH.prev when PATH is missing or refused.
 *
 * The store moves bytes; what they mean is the caller's (ckpt_store_load hands them to a callback
 * that accepts or refuses them). C99 + POSIX; messages go to stderr, prefixed "rtu_pi: ".
 */
#ifndef RTU_PI_CKPT_STORE_H
#define RTU_PI_CKPT_STORE_H

#include <stddef.h>

#define CKPT_STORE_PATH_BYTES 1024 /* longest path (with ".prev") the store handles, and its NUL */

/* Save n bytes at data as the checkpoint at path. rotate: PATH holds a good checkpoint, to be kept
 * as PATH.prev (else PATH.prev is left alone and PATH is overwritten). 0, or -1 with a message. */
int ckpt_store_save(const char *path, const void *data, size_t n, int rotate);

/* A file's bytes (n at data) for the caller: 1 if it took them, 0 if it refused them, having
 * printed why ("rtu_pi: <what> refused: ..."). what names the file ("checkpoint PATH"). */
typedef int (*ckpt_store_accept)(void *ctx, const unsigned char *data, size_t n,
                                 const char *what);

typedef enum {
    CKPT_STORE_NONE = 0,    /* neither file exists */
    CKPT_STORE_PATH = 1,    /* PATH was accepted */
    CKPT_STORE_PREV = 2,    /* PATH was missing or refused; PATH.prev was accepted */
    CKPT_STORE_TMP = 3,     /* PATH.tmp, left by a save cut short, was accepted and is now PATH */
    CKPT_STORE_REFUSED = -1 /* nothing accepted, and at least one file was refused or unreadable */
} ckpt_store_result;

/* If PATH.tmp exists (a save was cut short: it is newer than PATH), read it into buf (cap bytes,
 * the largest checkpoint the caller takes) and offer it to accept: accepted, it is renamed over
 * PATH (PATH.prev is left as it is) and the result is CKPT_STORE_TMP; refused (incomplete or
 * corrupt), it is removed. Else, or then, offer PATH; if it is missing or refused, PATH.prev.
 * *path_refused (may be NULL) receives 1 if PATH.tmp was not accepted and PATH exists and was
 * refused or could not be read. */
ckpt_store_result ckpt_store_load(const char *path, unsigned char *buf, size_t cap,
                                  ckpt_store_accept accept, void *ctx, int *path_refused);

#endif /* RTU_PI_CKPT_STORE_H */
