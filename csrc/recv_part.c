/*
 * recv_part.c - receive one response body from a socket straight into a file.
 *
 * The download path's hot loop: the body of a ranged GET goes from the socket
 * into a small reused buffer (recv), then to its place in the file (pwrite,
 * through osr_write_part, which hashes it in the same pass).  No Python object
 * per chunk, no copy besides the kernel's two; called by cffi without the GIL.
 *
 * Guarantees:
 *  - Exactly `length` bytes are consumed from the socket on success, never
 *    more (the next response on a keep-alive connection stays unread).
 *  - A socket in non-blocking mode (Python's sockets with a timeout) is waited
 *    for with poll, at most timeout_ms per wait, like socket.recv_into with
 *    that timeout; EINTR is retried.
 *  - On any failure, *received and *crc_out cover the bytes received, written
 *    and hashed so far (the caller discards them: a part is fetched again).
 */
#include "ossresume.h"

#include <errno.h>
#include <stdint.h>

#ifdef _WIN32

int osr_recv_part(int sock, int timeout_ms, int fd, int64_t offset, int64_t length,
                  void *buf, int64_t buf_len, uint64_t crc_seed,
                  int64_t *received, uint64_t *crc_out, int *err_out)
{
    (void)sock;
    (void)timeout_ms;
    (void)fd;
    (void)offset;
    (void)length;
    (void)buf;
    (void)buf_len;
    *received = 0;
    *crc_out = crc_seed;
    *err_out = ENOSYS;
    return OSR_RECV_UNSUPPORTED;
}

#else

#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>

/* 0 when sock is readable (or has an error or hang-up to report), else an errno */
static int wait_readable(int sock, int timeout_ms)
{
    struct pollfd p;

    p.fd = sock;
    p.events = POLLIN;
    p.revents = 0;
    for (;;) {
        int r = poll(&p, 1, timeout_ms);
        if (r > 0)
            return 0;
        if (r == 0)
            return ETIMEDOUT;
        if (errno != EINTR)
            return errno;
    }
}

/* Fills buf[0..want) from sock; returns OSR_RECV_OK or the failure, *got = bytes in buf. */
static int recv_exact(int sock, int timeout_ms, unsigned char *buf, int64_t want,
                      int64_t *got, int *err_out)
{
    int64_t have = 0;
    int rc = OSR_RECV_OK;

    while (have < want) {
        ssize_t r = recv(sock, buf + have, (size_t)(want - have), 0);
        if (r > 0) {
            have += (int64_t)r;
        } else if (r == 0) {
            rc = OSR_RECV_EOF;
            break;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int e = wait_readable(sock, timeout_ms);
            if (e != 0) {
                *err_out = e;
                rc = OSR_RECV_SOCKET;
                break;
            }
        } else {
            *err_out = errno;
            rc = OSR_RECV_SOCKET;
            break;
        }
    }
    *got = have;
    return rc;
}

int osr_recv_part(int sock, int timeout_ms, int fd, int64_t offset, int64_t length,
                  void *buf, int64_t buf_len, uint64_t crc_seed,
                  int64_t *received, uint64_t *crc_out, int *err_out)
{
    unsigned char *base = (unsigned char *)buf;
    int64_t done = 0;
    uint64_t crc = crc_seed;
    int rc = OSR_RECV_OK;

    *received = 0;
    *crc_out = crc_seed;
    *err_out = 0;
    if (sock < 0 || offset < 0 || length < 0 || length > INT64_MAX - offset ||
        (length > 0 && (buf == NULL || buf_len <= 0))) {
        *err_out = EINVAL;
        return OSR_RECV_ARGS;
    }
    while (done < length && rc == OSR_RECV_OK) {
        int64_t want = length - done < buf_len ? length - done : buf_len;
        int64_t got = 0;
        uint64_t next = crc;
        int e;

        rc = recv_exact(sock, timeout_ms, base, want, &got, err_out);
        if (got == 0)
            break;
        /* what arrived is written even when the stream then failed */
        e = osr_write_part(fd, offset + done, base, got, crc, &next);
        if (e != 0) {  /* *received and *crc_out stay at the chunks before this one */
            *err_out = e;
            rc = OSR_RECV_FILE;
            break;
        }
        crc = next;
        done += got;
    }
    *received = done;
    *crc_out = crc;
    return rc;
}

#endif
