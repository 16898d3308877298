/* line_proto: see line_proto.h. */
#define _XOPEN_SOURCE 700 /* POSIX 2008 (strtok_r, termios) */

#include "line_proto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "fd_io.h"

void line_io_init(line_io *io, int in_fd, int out_fd, const volatile sig_atomic_t *stop)
{
    io->in_fd = in_fd;
    io->out_fd = out_fd;
    io->stop = stop;
    io->len = 0;
    io->skipping = 0;
}

int line_read(line_io *io, char *line, size_t cap)
{
    for (;;) {
        char *nl = memchr(io->buf, '\n', io->len);
        ssize_t got;
        if (nl != NULL) {
            size_t n = (size_t)(nl - io->buf);
            int was_skipping = io->skipping;
            if (!was_skipping) {
                size_t m = n < cap - 1 ? n : cap - 1;
                memcpy(line, io->buf, m);
                line[m] = '\0';
                if (m > 0 && line[m - 1] == '\r') {
                    line[m - 1] = '\0';
                }
            }
            memmove(io->buf, nl + 1, io->len - n - 1);
            io->len -= n + 1;
            io->skipping = 0;
            if (was_skipping) {
                return -3;
            }
            return 1;
        }
        if (io->len == sizeof io->buf) { /* no newline in a full buffer: drop it */
            io->len = 0;
            io->skipping = 1;
        }
        if (*io->stop) {
            return -1;
        }
        got = read(io->in_fd, io->buf + io->len, sizeof io->buf - io->len);
        if (got < 0) {
            if (errno == EINTR) {
                if (*io->stop) {
                    return -1;
                }
                continue;
            }
            return -2;
        }
        if (got == 0) {
            return 0;
        }
        io->len += (size_t)got;
    }
}

int line_send(line_io *io, const char *text)
{
    return fd_write_all(io->out_fd, text, strlen(text));
}

/* The next token, 1 if it is "0" or "1" (its value in *flag), else 0. */
static int next_flag(char **save, int *flag)
{
    char *tok = strtok_r(NULL, " \t", save);
    if (tok == NULL || (strcmp(tok, "0") != 0 && strcmp(tok, "1") != 0)) {
        return 0;
    }
    *flag = tok[0] == '1';
    return 1;
}

/* The next token, 1 if it is word. */
static int next_is(char **save, const char *word)
{
    char *tok = strtok_r(NULL, " \t", save);
    return tok != NULL && strcmp(tok, word) == 0;
}

int line_parse(char *line, size_t n_in, line_message *m, const char **why)
{
    char *tok, *save = NULL, *end;
    size_t i;
    tok = strtok_r(line, " \t", &save);
    if (tok == NULL || strcmp(tok, "obs") != 0) {
        *why = "expected: obs <v1> ... <vn> [reward <r> terminated <0|1> truncated <0|1>]";
        return 0;
    }
    for (i = 0; i < n_in; i++) {
        tok = strtok_r(NULL, " \t", &save);
        if (tok == NULL) {
            *why = "too few observation values";
            return 0;
        }
        m->obs[i] = (rtu_real)strtod(tok, &end);
        if (*end != '\0' || end == tok) {
            *why = "an observation value is not a number";
            return 0;
        }
    }
    m->has_outcome = 0;
    tok = strtok_r(NULL, " \t", &save);
    if (tok == NULL) {
        return 1;
    }
    if (strcmp(tok, "reward") != 0) {
        *why = "too many observation values (or not 'reward')";
        return 0;
    }
    tok = strtok_r(NULL, " \t", &save);
    m->reward = tok ? (rtu_real)strtod(tok, &end) : 0;
    if (tok == NULL || *end != '\0' || end == tok) {
        *why = "reward is not a number";
        return 0;
    }
    if (!next_is(&save, "terminated") || !next_flag(&save, &m->terminated)) {
        *why = "expected terminated <0|1> after the reward";
        return 0;
    }
    if (!next_is(&save, "truncated") || !next_flag(&save, &m->truncated)) {
        *why = "expected truncated <0|1> after terminated";
        return 0;
    }
    if (strtok_r(NULL, " \t", &save) != NULL) {
        *why = "unexpected text after truncated";
        return 0;
    }
    m->has_outcome = 1;
    return 1;
}

static speed_t baud_constant(long baud)
{
    switch (baud) {
    case 9600: return B9600;
    case 19200: return B19200;
    case 38400: return B38400;
    case 57600: return B57600;
    case 115200: return B115200;
    case 230400: return B230400;
#ifdef B460800
    case 460800: return B460800;
#endif
#ifdef B921600
    case 921600: return B921600;
#endif
    default: return (speed_t)0;
    }
}

int line_open_serial(const char *path, long baud)
{
    struct termios t;
    speed_t speed = baud_constant(baud);
    int fd;
    if (speed == (speed_t)0) {
        fprintf(stderr, "rtu_pi: --baud %ld is not a supported speed\n", baud);
        return -1;
    }
    fd = open(path, O_RDWR | O_NOCTTY);
    if (fd < 0) {
        fprintf(stderr, "rtu_pi: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (isatty(fd)) {
        if (tcgetattr(fd, &t) != 0) {
            fprintf(stderr, "rtu_pi: tcgetattr %s: %s\n", path, strerror(errno));
            close(fd);
            return -1;
        }
        t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON |
                                 IXOFF | IXANY);
        t.c_oflag &= ~(tcflag_t)OPOST;
        t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
        t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | CSTOPB);
        t.c_cflag |= CS8 | CLOCAL | CREAD;
        t.c_cc[VMIN] = 1;
        t.c_cc[VTIME] = 0;
        if (cfsetispeed(&t, speed) != 0 || cfsetospeed(&t, speed) != 0 ||
            tcsetattr(fd, TCSANOW, &t) != 0) {
            fprintf(stderr, "rtu_pi: cannot set up %s: %s\n", path, strerror(errno));
            close(fd);
            return -1;
        }
        tcflush(fd, TCIOFLUSH);
    } /* else a FIFO or file: used as it is */
    return fd;
}
