/* tree_sink: a minimal OSS-shaped HTTP sink for bench_tree.py, so that the server is
 * never what limits a many-small-files benchmark.
 *
 * One thread, epoll, keep-alive and pipelined HTTP/1.1.  PUT: the body is read,
 * its CRC-64 computed (the project's own osr_crc64_update) and dropped; the reply
 * carries ETag and x-oss-hash-crc64ecma as OSS does.  GET with list-type=2: an
 * empty, untruncated ListBucketResult.  HEAD: 404.  POST ?uploads: an upload id; POST
 * ?uploadId: a Complete result (no object CRC-64: parts were checked one by one).
 * Anything else: 200, empty.
 * Signatures are not checked.  Listens on 127.0.0.1 only; prints its port. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ossresume.h"

#define MAX_HEAD 65536

typedef struct {
    int fd;
    char *buf;          /* unparsed input */
    size_t len, cap;
    char *out;          /* replies not yet written */
    size_t out_len, out_cap, out_off;
} conn_t;

static void append(char **b, size_t *len, size_t *cap, const char *data, size_t n) {
    if (*len + n > *cap) {
        *cap = (*len + n) * 2 + 4096;
        *b = realloc(*b, *cap);
        if (!*b) { perror("realloc"); exit(1); }
    }
    memcpy(*b + *len, data, n);
    *len += n;
}

static const char LIST_BODY[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult><Name>b</Name><Prefix></Prefix>"
    "<MaxKeys>1000</MaxKeys><Delimiter></Delimiter><IsTruncated>false</IsTruncated><KeyCount>0"
    "</KeyCount></ListBucketResult>";

static void reply(conn_t *c, const char *method, const char *target, const char *body, size_t blen) {
    char head[512];
    int n;
    if (strcmp(method, "PUT") == 0) {
        uint64_t crc = osr_crc64_update(0, body, blen);
        n = snprintf(head, sizeof head,
                     "HTTP/1.1 200 OK\r\nServer: AliyunOSS\r\nContent-Length: 0\r\n"
                     "ETag: \"%016llX%016llX\"\r\nx-oss-hash-crc64ecma: %llu\r\n"
                     "x-oss-request-id: 5C0000000000000000000000\r\n\r\n",
                     (unsigned long long)crc, (unsigned long long)blen, (unsigned long long)crc);
    } else if (strcmp(method, "GET") == 0 && strstr(target, "list-type=2")) {
        n = snprintf(head, sizeof head,
                     "HTTP/1.1 200 OK\r\nServer: AliyunOSS\r\nContent-Type: application/xml\r\n"
                     "Content-Length: %zu\r\nx-oss-request-id: 5C0000000000000000000001\r\n\r\n",
                     sizeof LIST_BODY - 1);
        append(&c->out, &c->out_len, &c->out_cap, head, (size_t)n);
        append(&c->out, &c->out_len, &c->out_cap, LIST_BODY, sizeof LIST_BODY - 1);
        return;
    } else if (strcmp(method, "POST") == 0) {
        const char *xml = strstr(target, "uploadId=")
            ? "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUploadResult><Bucket>b"
              "</Bucket><Key>k</Key><ETag>\"00000000000000000000000000000000-1\"</ETag>"
              "</CompleteMultipartUploadResult>"
            : "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<InitiateMultipartUploadResult><Bucket>b"
              "</Bucket><Key>k</Key><UploadId>0004B9894A22E5B1888A1E29F8236E2D</UploadId>"
              "</InitiateMultipartUploadResult>";
        size_t xlen = strlen(xml);
        n = snprintf(head, sizeof head,
                     "HTTP/1.1 200 OK\r\nServer: AliyunOSS\r\nContent-Type: application/xml\r\n"
                     "Content-Length: %zu\r\nETag: \"00000000000000000000000000000000-1\"\r\n"
                     "x-oss-request-id: 5C0000000000000000000004\r\n\r\n", xlen);
        append(&c->out, &c->out_len, &c->out_cap, head, (size_t)n);
        append(&c->out, &c->out_len, &c->out_cap, xml, xlen);
        return;
    } else if (strcmp(method, "HEAD") == 0) {
        n = snprintf(head, sizeof head,
                     "HTTP/1.1 404 Not Found\r\nServer: AliyunOSS\r\nContent-Length: 0\r\n"
                     "x-oss-request-id: 5C0000000000000000000002\r\n\r\n");
    } else {
        n = snprintf(head, sizeof head,
                     "HTTP/1.1 200 OK\r\nServer: AliyunOSS\r\nContent-Length: 0\r\n"
                     "x-oss-request-id: 5C0000000000000000000003\r\n\r\n");
    }
    append(&c->out, &c->out_len, &c->out_cap, head, (size_t)n);
}

/* Answer every complete request in c->buf; 0 on success, -1 on a malformed one. */
static int serve(conn_t *c) {
    size_t off = 0;
    for (;;) {
        char *start = c->buf + off;
        size_t avail = c->len - off;
        char *end = memmem(start, avail, "\r\n\r\n", 4);
        if (!end) {
            if (avail > MAX_HEAD) return -1;
            break;
        }
        size_t head_len = (size_t)(end - start) + 4;
        size_t body_len = 0;
        char method[16] = {0}, target[2048] = {0};
        if (sscanf(start, "%15s %2047s", method, target) != 2) return -1;
        for (char *line = start; line < end; ) {
            char *eol = memmem(line, (size_t)(end - line) + 2, "\r\n", 2);
            if (!eol) break;
            if ((size_t)(eol - line) > 15 && strncasecmp(line, "Content-Length:", 15) == 0)
                body_len = strtoull(line + 15, NULL, 10);
            line = eol + 2;
        }
        if (avail < head_len + body_len) break;
        reply(c, method, target, start + head_len, body_len);
        off += head_len + body_len;
    }
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
    return 0;
}

static int flush_out(conn_t *c) {
    while (c->out_off < c->out_len) {
        ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 1 : -1;
        c->out_off += (size_t)n;
    }
    c->out_len = c->out_off = 0;
    return 0;
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 0;
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&addr, sizeof addr) || listen(ls, 512)) { perror("bind"); return 1; }
    socklen_t alen = sizeof addr;
    getsockname(ls, (struct sockaddr *)&addr, &alen);
    printf("tree_sink listening on http://127.0.0.1:%d\n", ntohs(addr.sin_port));
    fflush(stdout);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    struct epoll_event events[256];
    char chunk[1 << 16];
    for (;;) {
        int n = epoll_wait(ep, events, 256, -1);
        for (int i = 0; i < n; i++) {
            conn_t *c = events[i].data.ptr;
            if (!c) {
                int fd = accept(ls, NULL, NULL);
                if (fd < 0) continue;
                fcntl(fd, F_SETFL, O_NONBLOCK);
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                c = calloc(1, sizeof *c);
                c->fd = fd;
                struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                continue;
            }
            int dead = 0;
            for (;;) {
                ssize_t got = read(c->fd, chunk, sizeof chunk);
                if (got > 0) { append(&c->buf, &c->len, &c->cap, chunk, (size_t)got); continue; }
                if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) dead = 1;
                break;
            }
            if (!dead && serve(c) != 0) dead = 1;
            if (!dead) {
                int r = flush_out(c);
                if (r < 0) dead = 1;
                struct epoll_event cev = {.events = EPOLLIN | (r == 1 ? EPOLLOUT : 0), .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &cev);
            }
            if (dead) {
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                free(c->buf);
                free(c->out);
                free(c);
            }
        }
    }
}
