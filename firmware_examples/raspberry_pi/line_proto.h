/*
 * line_proto: the text line protocol between rtu_pi and a device (README.md, "Line protocol"),
 * over a pair of POSIX file descriptors: stdin/stdout, or a serial device opened raw.
 *
 *   device -> rtu_pi:  obs <v1> ... <vn> [reward <r> terminated <0|1> truncated <0|1>]
 *   rtu_pi -> device:  act <a> | act <a1> ... <am> | reset | bye | error <why>
 *
 * C99 + POSIX. No heap: a line_io holds its read buffer.
 */
#ifndef RTU_PI_LINE_PROTO_H
#define RTU_PI_LINE_PROTO_H

#include <signal.h>
#include <stddef.h>

#include "rtu.h"

#define LINE_MAX_BYTES 4096 /* longest line, with its end */

typedef struct {
    int in_fd, out_fd;
    const volatile sig_atomic_t *stop; /* set by a signal handler: reading gives up */
    char buf[LINE_MAX_BYTES];
    size_t len;   /* bytes in buf */
    int skipping; /* inside an over-long line */
} line_io;

void line_io_init(line_io *io, int in_fd, int out_fd, const volatile sig_atomic_t *stop);

/* The next line (without its end, \r stripped) into line (cap bytes). 1 a line, 0 end of input,
 * -1 interrupted (*io->stop set), -2 a read error (errno set), -3 an over-long line (skipped). */
int line_read(line_io *io, char *line, size_t cap);

/* Write text. 0, or -1 with errno set. */
int line_send(line_io *io, const char *text);

/* A device's message: the observation and, after an act, the outcome of that act. */
typedef struct {
    rtu_real *obs; /* n_in reals, the caller's array */
    int has_outcome; /* reward, terminated and truncated were given */
    rtu_real reward;
    int terminated, truncated;
} line_message;

/* Parse an obs line with n_in observation values into m (line is modified). 1, or 0 with *why
 * the reason (for an "error" reply). */
int line_parse(char *line, size_t n_in, line_message *m, const char **why);

/* Open a serial device raw: 8N1, no flow control, no echo, no line editing or translation,
 * blocking reads of at least one byte; a FIFO or plain file is used as it is. The descriptor, or
 * -1 (message printed). */
int line_open_serial(const char *path, long baud);

#endif /* RTU_PI_LINE_PROTO_H */
