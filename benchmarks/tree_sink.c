/* tree_sink: a minimal OSS-shaped HTTP sink for bench_tree.py, so that the server is
 * never what limits a many-small-files benchmark.
 *
 * One thread, epoll, keep-alive and pipelined HTTP/1.1.  PUT: the body is read,
 * its CRC-64 computed (the project's own osr_crc64_update) and dropped; the reply
 * carries ETag and x-oss-hash-crc64ecma as OSS does, and the key is remembered with its
 * size and CRC-64 (bodies are not).  GET with list-type=2: ListObjectsV2 over the
 * remembered keys (prefix, continuation-token, max-keys, URL-encoded keys), so that a
 * re-run can be measured without a store behind it.  GET /_count: requests answered so far.  HEAD: 404.  POST ?uploads: an upload id; POST
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

/* Remembered objects: appended on PUT, sorted (byte order, last PUT wins) before a list. */
typedef struct { char *key; uint64_t size, crc, seq; } obj_t;
static obj_t *objs;
static size_t n_objs, cap_objs, n_sorted;
static uint64_t seq_no;

static int obj_cmp(const void *a, const void *b) {
    const obj_t *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->seq < y->seq ? 1 : -1);   /* newest first among equals */
}

static void remember(const char *key, uint64_t size, uint64_t crc) {
    if (n_objs == cap_objs) {
        cap_objs = cap_objs * 2 + 1024;
        objs = realloc(objs, cap_objs * sizeof *objs);
        if (!objs) { perror("realloc"); exit(1); }
    }
    objs[n_objs++] = (obj_t){strdup(key), size, crc, ++seq_no};
}

static void sort_objects(void) {
    if (n_sorted == n_objs) return;
    qsort(objs, n_objs, sizeof *objs, obj_cmp);
    size_t w = 0;
    for (size_t r = 0; r < n_objs; r++) {
        if (w && strcmp(objs[w - 1].key, objs[r].key) == 0) { free(objs[r].key); continue; }
        objs[w++] = objs[r];
    }
    n_objs = n_sorted = w;
}

static int hexval(int ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* Percent-decode src[0..len) into dst (NUL-terminated); '+' stays '+'. */
static void url_decode(const char *src, size_t len, char *dst) {
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '%' && i + 2 < len && hexval(src[i + 1]) >= 0 && hexval(src[i + 2]) >= 0) {
            dst[o++] = (char)(hexval(src[i + 1]) * 16 + hexval(src[i + 2]));
            i += 2;
        } else {
            dst[o++] = src[i];
        }
    }
    dst[o] = 0;
}

static void url_encode(const char *src, char **b, size_t *len, size_t *cap) {
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)src; *p; p++) {
        char e[3];
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            append(b, len, cap, (const char *)p, 1);
        } else {
            e[0] = '%'; e[1] = hex[*p >> 4]; e[2] = hex[*p & 15];
            append(b, len, cap, e, 3);
        }
    }
}

/* The decoded value of query parameter `name` in `target`, or "" (out has room for 2048). */
static void query_param(const char *target, const char *name, char *out) {
    const char *q = strchr(target, '?');
    size_t nlen = strlen(name);
    out[0] = 0;
    while (q && *q) {
        q++;
        const char *end = strchr(q, '&');
        size_t plen = end ? (size_t)(end - q) : strlen(q);
        if (plen > nlen && strncmp(q, name, nlen) == 0 && q[nlen] == '=' && plen - nlen - 1 < 2048) {
            url_decode(q + nlen + 1, plen - nlen - 1, out);
            return;
        }
        q = end;
    }
}

static void list_objects(conn_t *c, const char *target) {
    char prefix[2048], token[2048], after[2048], max_text[2048];
    query_param(target, "prefix", prefix);
    query_param(target, "continuation-token", token);
    query_param(target, "max-keys", max_text);
    url_decode(token, strlen(token), after);      /* the token is the last key, URL-encoded */
    size_t max_keys = max_text[0] ? strtoul(max_text, NULL, 10) : 1000;
    sort_objects();
    size_t lo = 0, hi = n_objs;                   /* first key > after (or >= prefix) */
    const char *from = after[0] ? after : prefix;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int cmp = strcmp(objs[mid].key, from);
        if (cmp < 0 || (after[0] && cmp == 0)) lo = mid + 1; else hi = mid;
    }
    char *body = NULL, line[256];
    size_t blen = 0, bcap = 0, count = 0, plen = strlen(prefix);
    const char *head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult><Name>bench</Name>"
                       "<EncodingType>url</EncodingType>";
    append(&body, &blen, &bcap, head, strlen(head));
    size_t i = lo;
    for (; i < n_objs && count < max_keys && strncmp(objs[i].key, prefix, plen) == 0; i++, count++) {
        append(&body, &blen, &bcap, "<Contents><Key>", 15);
        url_encode(objs[i].key, &body, &blen, &bcap);
        int n = snprintf(line, sizeof line, "</Key><Size>%llu</Size><ETag>\"%016llX%016llX\"</ETag>"
                         "</Contents>", (unsigned long long)objs[i].size,
                         (unsigned long long)objs[i].crc, (unsigned long long)objs[i].size);
        append(&body, &blen, &bcap, line, (size_t)n);
    }
    int truncated = i < n_objs && strncmp(objs[i].key, prefix, plen) == 0;
    if (truncated) {
        append(&body, &blen, &bcap, "<IsTruncated>true</IsTruncated><NextContinuationToken>", 54);
        char *tok = NULL;
        size_t tlen = 0, tcap = 0;
        url_encode(objs[i - 1].key, &tok, &tlen, &tcap);
        append(&tok, &tlen, &tcap, "", 1);
        append(&body, &blen, &bcap, tok, tlen - 1);   /* URL-encoded: XML-safe as it is */
        free(tok);
        append(&body, &blen, &bcap, "</NextContinuationToken>", 24);
    } else {
        append(&body, &blen, &bcap, "<IsTruncated>false</IsTruncated>", 32);
    }
    append(&body, &blen, &bcap, "</ListBucketResult>", 19);
    int n = snprintf(line, sizeof line,
                     "HTTP/1.1 200 OK\r\nServer: AliyunOSS\r\nContent-Type: application/xml\r\n"
                     "Content-Length: %zu\r\nx-oss-request-id: 5C0000000000000000000001\r\n\r\n", blen);
    append(&c->out, &c->out_len, &c->out_cap, line, (size_t)n);
    append(&c->out, &c->out_len, &c->out_cap, body, blen);
    free(body);
}

static unsigned long long served;      /* requests answered, reported by GET /_count */

static void reply(conn_t *c, const char *method, const char *target, const char *body, size_t blen) {
    char head[512];
    int n;
    if (strcmp(method, "GET") == 0 && strcmp(target, "/_count") == 0) {
        char num[32];
        int len = snprintf(num, sizeof num, "%llu", served);
        n = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len, num);
        append(&c->out, &c->out_len, &c->out_cap, head, (size_t)n);
        return;
    }
    served++;
    if (strcmp(method, "PUT") == 0) {
        uint64_t crc = osr_crc64_update(0, body, blen);
        const char *path = strchr(target + 1, '/');          /* /bucket/key?query */
        if (path && !strchr(target, '?')) {
            char key[2048];
            size_t klen = strlen(path + 1);
            if (klen < 2048) {
                url_decode(path + 1, klen, key);
                remember(key, blen, crc);
            }
        }
        n = snprintf(head, sizeof head,
                     "HTTP/1.1 200 OK\r\nServer: AliyunOSS\r\nContent-Length: 0\r\n"
                     "ETag: \"%016llX%016llX\"\r\nx-oss-hash-crc64ecma: %llu\r\n"
                     "x-oss-request-id: 5C0000000000000000000000\r\n\r\n",
                     (unsigned long long)crc, (unsigned long long)blen, (unsigned long long)crc);
    } else if (strcmp(method, "GET") == 0 && strstr(target, "list-type=2")) {
        list_objects(c, target);
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
