/*
 * send_range.c - send a range of a file to a connected socket while hashing it.
 *
 * Guarantees:
 *  - The range goes out in chunks of at most buf_len bytes: each is read with
 *    pread into the caller's (small, reused) buffer, added to the CRC-64 while
 *    it is still in cache, then sent.  A 256 KiB buffer stays in L2, where an
 *    8 MiB part buffer would stream through memory once for the read and once
 *    more for the send.
 *  - With use_sendfile the chunk is still read (for the CRC) but the socket
 *    gets it through sendfile() from the page cache.  If the file changes
 *    between the two, the CRC describes the pread bytes: the server's CRC-64
 *    then differs and the caller sends the part again.
 *  - The socket may be non-blocking (Python sockets with a timeout are):
 *    EAGAIN waits in poll() for at most timeout_ms (< 0: forever) with no
 *    progress before giving up with OSR_SEND_TIMEOUT.  EINTR is retried.
 *  - A file shorter than the range (it shrank) stops with OSR_SEND_SHORT;
 *    nothing more than what was read is ever sent, so the request on the
 *    connection is then unfinished and the caller must drop the connection.
 *  - Positioned reads only: several threads may send ranges of one fd at once.
 *  - No allocation, no global state.  Called by cffi without the GIL.
 */
#include "ossresume.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#ifndef _WIN32
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/sendfile.h>
#endif
#endif

#ifdef _WIN32

int osr_send_range(int sock, int fd, int64_t offset, int64_t length, void *buf,
                   int64_t buf_len, int timeout_ms, int use_sendfile, uint64_t crc_seed,
                   osr_send_result *res)
{
    (void)sock;
    (void)fd;
    (void)offset;
    (void)length;
    (void)buf;
    (void)buf_len;
    (void)timeout_ms;
    (void)use_sendfile;
    memset(res, 0, sizeof *res);
    res->crc = crc_seed;
    res->err = ENOSYS;
    return OSR_SEND_SOCKET;
}

#else

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

int osr_poll_wait(int sock, short events, int timeout_ms, int *err)
{
    for (;;) {
        struct pollfd p;
        int r;
        p.fd = sock;
        p.events = events;
        p.revents = 0;
        r = poll(&p, 1, timeout_ms < 0 ? -1 : timeout_ms);
        if (r > 0)
            return 0;   /* ready, or an error the next call reports */
        if (r == 0)
            return OSR_SEND_TIMEOUT;
        if (errno != EINTR) {
            *err = errno;
            return OSR_SEND_SOCKET;
        }
    }
}

/* Send n bytes: from buf, or (use_sendfile) from fd at file_off.  0 or a code. */
static int send_chunk(int sock, int fd, int64_t file_off, const unsigned char *buf, int64_t n,
                      int timeout_ms, int use_sendfile, int64_t *sent, int *err)
{
    int64_t done = 0;
    while (done < n) {
        ssize_t w;
#if defined(__linux__)
        if (use_sendfile) {
            off_t off = (off_t)(file_off + done);
            w = sendfile(sock, fd, &off, (size_t)(n - done));
        } else
#endif
        {
            (void)fd;
            (void)file_off;
            (void)use_sendfile;
            w = send(sock, buf + done, (size_t)(n - done), MSG_NOSIGNAL);
        }
        if (w > 0) {
            done += w;
            *sent += w;
            continue;
        }
        if (w == 0) {   /* sendfile: the file ended under us */
            *err = EIO;
            return OSR_SEND_SHORT;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int rc = osr_poll_wait(sock, POLLOUT, timeout_ms, err);
            if (rc != 0)
                return rc;
            continue;
        }
        *err = errno;
        return OSR_SEND_SOCKET;
    }
    return 0;
}

int osr_send_range(int sock, int fd, int64_t offset, int64_t length, void *buf,
                   int64_t buf_len, int timeout_ms, int use_sendfile, uint64_t crc_seed,
                   osr_send_result *res)
{
    unsigned char *chunk = (unsigned char *)buf;
    int64_t done = 0;

    memset(res, 0, sizeof *res);
    res->crc = crc_seed;
    if (offset < 0 || length < 0 || buf_len <= 0 || buf == NULL || length > INT64_MAX - offset) {
        res->err = EINVAL;
        return OSR_SEND_FILE;
    }
    while (done < length) {
        int64_t want = length - done;
        ssize_t got;
        int rc;

        if (want > buf_len)
            want = buf_len;
        do
            got = pread(fd, chunk, (size_t)want, (off_t)(offset + done));
        while (got < 0 && errno == EINTR);
        if (got < 0) {
            res->err = errno;
            return OSR_SEND_FILE;
        }
        if (got == 0)
            return OSR_SEND_SHORT;   /* the file ended before the range did */
        res->bytes_read += got;
        res->crc = osr_crc64_update(res->crc, chunk, (size_t)got);
        rc = send_chunk(sock, fd, offset + done, chunk, got, timeout_ms, use_sendfile,
                        &res->bytes_sent, &res->err);
        if (rc != 0)
            return rc;
        done += got;
    }
    return OSR_SEND_OK;
}

#endif
