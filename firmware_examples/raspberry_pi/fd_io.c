/* fd_io: see fd_io.h. */
#define _XOPEN_SOURCE 700 /* POSIX 2008 */

#include "fd_io.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int fd_write_all(int fd, const void *data, size_t n)
{
    const unsigned char *p = (const unsigned char *)data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

long fd_read_file(const char *path, unsigned char *buf, size_t cap)
{
    size_t n = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        return -1;
    }
    for (;;) {
        ssize_t got;
        if (n == cap) { /* full: one more byte means the file is too large */
            unsigned char extra;
            got = read(fd, &extra, 1);
            if (got > 0) {
                close(fd);
                errno = EFBIG;
                return -1;
            }
        } else {
            got = read(fd, buf + n, cap - n);
        }
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            close(fd);
            return -1;
        }
        if (got == 0) {
            break;
        }
        n += (size_t)got;
    }
    close(fd);
    return (long)n;
}
