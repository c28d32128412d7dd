/*
 * part_exchange.c - one HTTP/1.1 request with a file range as its body, and the
 * head of its reply, in one call without the GIL.
 *
 * Guarantees:
 *  - Nothing is sent on a connection that is readable before the request (the
 *    server closed it while idle, or sent stray bytes): OSR_EXCH_STALE, and the
 *    caller opens a new one.
 *  - The request head is copied in front of the first chunk of the body so a
 *    small part goes out in one send(); every chunk is read with pread into the
 *    caller's reused buffer (at its first page boundary after the head when the
 *    buffer is page-aligned and has a page to spare) and added to the CRC-64 (of the body only) while it
 *    is in cache, as osr_send_range does.  File and socket outcomes are those of
 *    osr_send_range (OSR_SEND_SHORT/FILE/SOCKET/TIMEOUT) with res->sent_all 0.
 *  - After the whole body went out, the reply is received into the caller's
 *    reply buffer until its head is complete and then parsed by
 *    osr_parse_reply_head.  OSR_EXCH_DONE only when the parser is sure of every
 *    field and the whole body (Content-Length bytes, nothing more) is in the
 *    buffer; anything else is OSR_EXCH_RAW: res->reply_len bytes were received
 *    and the caller's own reader goes on from there (it never guesses here).
 *    A reply that does not come within timeout_ms is OSR_SEND_TIMEOUT with
 *    res->sent_all 1.
 *  - No allocation, no global state, positioned reads only.
 */
#include "ossresume.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#ifndef _WIN32
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

/* ---- the reply head parser (portable) ----------------------------------- */

static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int name_is(const unsigned char *name, int64_t len, const char *want)
{
    int64_t i;
    if ((int64_t)strlen(want) != len)
        return 0;
    for (i = 0; i < len; i++) {
        unsigned char c = name[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if (c != (unsigned char)want[i])
            return 0;
    }
    return 1;
}

/* Value bytes are printable ASCII; the leading/trailing SP/HT are trimmed. */
static int trim_value(const unsigned char *v, int64_t len, int64_t *start, int64_t *vlen)
{
    int64_t a = 0, b = len, i;
    while (a < b && (v[a] == ' ' || v[a] == '\t'))
        a++;
    while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
        b--;
    for (i = a; i < b; i++)
        if (v[i] < 0x20 || v[i] > 0x7e)
            return 0;
    *start = a;
    *vlen = b - a;
    return 1;
}

int osr_parse_reply_head(const void *data, int64_t len, osr_reply_head *out)
{
    const unsigned char *p = (const unsigned char *)data;
    int64_t end = -1, i, line;
    int seen_cl = 0;

    memset(out, 0, sizeof *out);
    out->content_length = -1;
    out->etag_off = out->crc_off = -1;
    for (i = 0; i + 3 < len; i++) {
        if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' && p[i + 3] == '\n') {
            end = i;
            break;
        }
    }
    if (end < 0)
        return OSR_HEAD_INCOMPLETE;
    out->head_len = end + 4;
    /* status line: HTTP/1.0 or HTTP/1.1, three digits, then the end or a space */
    if (end < 12 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') || p[8] != ' ')
        return OSR_HEAD_UNSURE;
    for (i = 9; i < 12; i++)
        if (p[i] < '0' || p[i] > '9')
            return OSR_HEAD_UNSURE;
    if (end > 12 && p[12] != ' ' && p[12] != '\r')
        return OSR_HEAD_UNSURE;
    out->code = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    out->keep = p[7] == '1';
    if (out->code < 200 || out->code == 204 || out->code == 304)
        return OSR_HEAD_UNSURE;   /* interim replies and bodiless codes: the caller's reader */
    for (i = 9; i < end; i++)
        if (p[i] == '\r' || p[i] == '\n')
            break;
    if (i < end && (p[i] != '\r' || p[i + 1] != '\n'))
        return OSR_HEAD_UNSURE;
    line = i + 2;
    while (line < end + 2 && i < end) {
        int64_t eol = line, colon = -1, vs, vl;
        const unsigned char *v;
        while (eol < end && p[eol] != '\r' && p[eol] != '\n')
            eol++;
        if (eol < end && (p[eol] != '\r' || p[eol + 1] != '\n'))
            return OSR_HEAD_UNSURE;   /* a bare CR or LF inside the head */
        for (i = line; i < eol; i++) {
            if (p[i] == ':') {
                colon = i;
                break;
            }
            if (!is_tchar(p[i]))
                return OSR_HEAD_UNSURE;
        }
        if (colon <= line)
            return OSR_HEAD_UNSURE;   /* no name, or no colon */
        v = p + colon + 1;
        if (name_is(p + line, colon - line, "content-length")) {
            int64_t n = 0;
            if (seen_cl++ || !trim_value(v, eol - colon - 1, &vs, &vl) || vl < 1 || vl > 18)
                return OSR_HEAD_UNSURE;
            for (i = 0; i < vl; i++) {
                if (v[vs + i] < '0' || v[vs + i] > '9')
                    return OSR_HEAD_UNSURE;
                n = n * 10 + (v[vs + i] - '0');
            }
            out->content_length = n;
        } else if (name_is(p + line, colon - line, "etag")) {
            if (out->etag_off >= 0 || !trim_value(v, eol - colon - 1, &vs, &vl))
                return OSR_HEAD_UNSURE;
            out->etag_off = (colon + 1) + vs;
            out->etag_len = vl;
        } else if (name_is(p + line, colon - line, "x-oss-hash-crc64ecma")) {
            if (out->crc_off >= 0 || !trim_value(v, eol - colon - 1, &vs, &vl))
                return OSR_HEAD_UNSURE;
            out->crc_off = (colon + 1) + vs;
            out->crc_len = vl;
        } else if (name_is(p + line, colon - line, "connection")) {
            if (out->saw_connection++ || !trim_value(v, eol - colon - 1, &vs, &vl))
                return OSR_HEAD_UNSURE;
            if (name_is(v + vs, vl, "close"))
                out->keep = 0;
            else if (!name_is(v + vs, vl, "keep-alive"))
                return OSR_HEAD_UNSURE;
        } else if (name_is(p + line, colon - line, "transfer-encoding")) {
            return OSR_HEAD_UNSURE;
        }
        i = eol;
        line = eol + 2;
    }
    if (out->content_length < 0)
        return OSR_HEAD_UNSURE;
    return OSR_HEAD_OK;
}

/* ---- the exchange --------------------------------------------------------- */

#ifdef _WIN32

int osr_part_exchange(int sock, const void *head, int64_t head_len, int fd, int64_t offset,
                      int64_t length, void *buf, int64_t buf_len, void *reply, int64_t reply_cap,
                      int timeout_ms, osr_exchange_result *res)
{
    (void)sock;
    (void)head;
    (void)head_len;
    (void)fd;
    (void)offset;
    (void)length;
    (void)buf;
    (void)buf_len;
    (void)reply;
    (void)reply_cap;
    (void)timeout_ms;
    memset(res, 0, sizeof *res);
    res->err = ENOSYS;
    return OSR_SEND_SOCKET;
}

#else

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

static int send_all(int sock, const unsigned char *data, int64_t n, int timeout_ms,
                    int64_t *sent, int *err)
{
    int64_t done = 0;
    while (done < n) {
        ssize_t w = send(sock, data + done, (size_t)(n - done), MSG_NOSIGNAL);
        if (w > 0) {
            done += w;
            *sent += w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int rc = osr_poll_wait(sock, POLLOUT, timeout_ms, err);
            if (rc != 0)
                return rc;
            continue;
        }
        *err = w < 0 ? errno : EPIPE;
        return OSR_SEND_SOCKET;
    }
    return 0;
}

/* a connection with something (an EOF, stray bytes, an error) to read while idle */
static int stale(int sock)
{
    struct pollfd p;
    int r;
    p.fd = sock;
    p.events = POLLIN;
    p.revents = 0;
    do
        r = poll(&p, 1, 0);
    while (r < 0 && errno == EINTR);
    return r != 0;
}

int osr_part_exchange(int sock, const void *head, int64_t head_len, int fd, int64_t offset,
                      int64_t length, void *buf, int64_t buf_len, void *reply, int64_t reply_cap,
                      int timeout_ms, osr_exchange_result *res)
{
    unsigned char *chunk = (unsigned char *)buf, *data;
    unsigned char *in = (unsigned char *)reply;
    int64_t done = 0, lead = head_len, room, cap;
    int rc;

    memset(res, 0, sizeof *res);
    res->head.content_length = -1;
    res->head.etag_off = res->head.crc_off = -1;
    if (offset < 0 || length < 0 || head_len < 0 || buf == NULL || buf_len <= head_len ||
        reply == NULL || reply_cap <= 0 || length > INT64_MAX - offset) {
        res->err = EINVAL;
        return OSR_SEND_FILE;
    }
    if (stale(sock))
        return OSR_EXCH_STALE;
    /* The file's bytes go to a page boundary of the buffer (when it has room for a
     * whole page after the head): page-cache pages copied to a page-aligned buffer
     * dodge the 4 KiB aliasing stall (see ossresume_c/aligned.py).  The head sits
     * just before them, so the first send still carries both. */
    room = (head_len + 4095) & ~(int64_t)4095;
    if (((uintptr_t)chunk & 4095) != 0 || buf_len - room < 4096)
        room = head_len;
    data = chunk + room;
    cap = buf_len - room;
    memcpy(data - head_len, head, (size_t)head_len);
    for (;;) {
        int64_t want = length - done;
        ssize_t got = 0;
        if (want > cap)
            want = cap;
        if (want > 0) {
            do
                got = pread(fd, data, (size_t)want, (off_t)(offset + done));
            while (got < 0 && errno == EINTR);
            if (got < 0) {
                res->err = errno;
                return OSR_SEND_FILE;
            }
            if (got == 0)
                return OSR_SEND_SHORT;   /* the file ended before the range did */
            res->bytes_read += got;
            res->crc = osr_crc64_update(res->crc, data, (size_t)got);
        }
        rc = send_all(sock, data - lead, lead + got, timeout_ms, &res->bytes_sent, &res->err);
        if (rc != 0)
            return rc;
        done += got;
        lead = 0;
        if (done >= length)
            break;
    }
    res->sent_all = 1;
    for (;;) {
        ssize_t got;
        int parsed;
        if (res->reply_len == reply_cap)
            return OSR_EXCH_RAW;   /* a head (or body) larger than the buffer */
        rc = osr_poll_wait(sock, POLLIN, timeout_ms, &res->err);
        if (rc != 0)
            return rc;
        got = recv(sock, in + res->reply_len, (size_t)(reply_cap - res->reply_len), 0);
        if (got < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (got < 0) {
            res->err = errno;
            return OSR_SEND_SOCKET;
        }
        if (got == 0)
            return OSR_EXCH_RAW;   /* closed mid-reply: the caller's reader says so */
        res->reply_len += got;
        parsed = osr_parse_reply_head(in, res->reply_len, &res->head);
        if (parsed == OSR_HEAD_INCOMPLETE)
            continue;
        if (parsed != OSR_HEAD_OK)
            return OSR_EXCH_RAW;
        if (res->reply_len == res->head.head_len + res->head.content_length)
            return OSR_EXCH_DONE;
        if (res->reply_len > res->head.head_len + res->head.content_length ||
            res->head.head_len + res->head.content_length > reply_cap)
            return OSR_EXCH_RAW;
    }
}

#endif

/* ---- several parts in a row (portable: built on osr_part_exchange) -------- */

int osr_part_exchange_many(int sock, const void *heads, const int64_t *head_ends, int32_t n,
                           int fd, const int64_t *offsets, const int64_t *lengths, void *buf,
                           int64_t buf_len, void *reply, int64_t reply_cap, int timeout_ms,
                           osr_part_done *done, osr_exchange_result *res, int32_t *last)
{
    const unsigned char *text = (const unsigned char *)heads;
    const unsigned char *in = (const unsigned char *)reply;
    int32_t k;
    int64_t start = 0;

    *last = OSR_EXCH_DONE;
    for (k = 0; k < n; k++) {
        int rc = osr_part_exchange(sock, text + start, head_ends[k] - start, fd, offsets[k],
                                   lengths[k], buf, buf_len, reply, reply_cap, timeout_ms, res);
        const osr_reply_head *h = &res->head;
        if (rc != OSR_EXCH_DONE || h->code != 200 || !h->keep || h->etag_off < 0 ||
            h->etag_len > OSR_ETAG_MAX || h->crc_len > OSR_CRC_TEXT_MAX) {
            *last = rc;
            return k;
        }
        done[k].crc = res->crc;
        done[k].etag_len = (int32_t)h->etag_len;
        memcpy(done[k].etag, in + h->etag_off, (size_t)h->etag_len);
        done[k].crc_len = h->crc_off < 0 ? -1 : (int32_t)h->crc_len;
        if (h->crc_off >= 0)
            memcpy(done[k].crc_text, in + h->crc_off, (size_t)h->crc_len);
        start = head_ends[k];
    }
    return n;
}
