/*
 * fd_io: whole reads and writes on POSIX file descriptors, retrying short transfers and EINTR.
 */
#ifndef RTU_PI_FD_IO_H
#define RTU_PI_FD_IO_H

#include <stddef.h>

/* Write n bytes of data to fd. 0, or -1 with errno set. */
int fd_write_all(int fd, const void *data, size_t n);

/* Read the whole file at path into buf (cap bytes). Its size, or -1 with errno set (EFBIG when
 * the file is larger than cap). */
long fd_read_file(const char *path, unsigned char *buf, size_t cap);

#endif /* RTU_PI_FD_IO_H */
