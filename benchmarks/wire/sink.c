/*
 * sink.c - an OSS-shaped HTTP/1.1 server that costs next to nothing, for bench_wire.py.
 *
 * Usage: sink PORT_FILE OBJECT_SIZE [CERT KEY]
 * Listens on 127.0.0.1 (an ephemeral port, written to PORT_FILE), one thread per
 * keep-alive connection.  PUT and POST bodies are read and dropped; POST ?uploads
 * answers an upload id, POST ?uploadId= a completion; HEAD reports an object of
 * OBJECT_SIZE bytes; GET (with or without Range) sends zero bytes of that object.
 * No checksums, no signature checks: the client is the only thing measured.
 * With CERT and KEY (and built with -DSINK_TLS -lssl -lcrypto) it speaks TLS.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef SINK_TLS
#include <openssl/ssl.h>
static SSL_CTX *tls_ctx;
#endif

#define BUF_SIZE (1 << 20)
static long long object_size;
static const char zeros[BUF_SIZE];

struct conn {
    int fd;
#ifdef SINK_TLS
    SSL *ssl;
#endif
    char head[16384];
    size_t have;   /* bytes in head */
};

static long conn_read(struct conn *c, void *buf, size_t n)
{
#ifdef SINK_TLS
    if (c->ssl) {
        int r = SSL_read(c->ssl, buf, n > 1 << 30 ? 1 << 30 : (int)n);
        return r > 0 ? r : -1;
    }
#endif
    return recv(c->fd, buf, n, 0);
}

static int conn_write(struct conn *c, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        long w;
#ifdef SINK_TLS
        if (c->ssl) {
            w = SSL_write(c->ssl, p, n > 1 << 30 ? 1 << 30 : (int)n);
        } else
#endif
            w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One request head into c->head (NUL-terminated); leftover body bytes stay after it.
 * Returns the head length, 0 on a clean close, -1 on error. */
static long read_head(struct conn *c)
{
    for (;;) {
        char *end;
        long r;
        c->head[c->have] = '\0';
        end = strstr(c->head, "\r\n\r\n");
        if (end != NULL)
            return end + 4 - c->head;
        if (c->have >= sizeof c->head - 1)
            return -1;
        r = conn_read(c, c->head + c->have, sizeof c->head - 1 - c->have);
        if (r <= 0)
            return c->have == 0 ? 0 : -1;
        c->have += (size_t)r;
    }
}

static long long header_value(const char *head, const char *name)
{
    const char *p = head;
    size_t len = strlen(name);
    while ((p = strstr(p, "\r\n")) != NULL) {
        p += 2;
        if (strncasecmp(p, name, len) == 0 && p[len] == ':')
            return atoll(p + len + 1);
    }
    return -1;
}

/* A plain connection drops body bytes in the kernel (MSG_TRUNC on TCP: nothing is
 * copied), so the sink's cost per byte does not weigh on the client it measures. */
static long discard(struct conn *c, char *buf, size_t n)
{
#ifdef SINK_TLS
    if (c->ssl)
        return conn_read(c, buf, n);
#endif
#ifdef MSG_TRUNC
    return recv(c->fd, buf, n, MSG_TRUNC);
#else
    return recv(c->fd, buf, n, 0);
#endif
}

static int drain(struct conn *c, long long n, char *buf)
{
    while (n > 0) {
        long r = discard(c, buf, n < BUF_SIZE ? (size_t)n : BUF_SIZE);
        if (r <= 0)
            return -1;
        n -= r;
    }
    return 0;
}

/* Reading after the head: the bytes buffered in c->head[0..have) come first. */
static long buffered_read(struct conn *c, char *buf, size_t n)
{
    if (c->have > 0) {
        size_t k = n < c->have ? n : c->have;
        memcpy(buf, c->head, k);
        memmove(c->head, c->head + k, c->have - k);
        c->have -= k;
        return (long)k;
    }
    return conn_read(c, buf, n);
}

/* One CRLF-terminated line (without it) into line; -1 on error or a line too long. */
static int read_line(struct conn *c, char *line, size_t cap)
{
    for (;;) {
        char *nl = memchr(c->head, '\n', c->have);
        long r;
        if (nl != NULL) {
            size_t len = (size_t)(nl - c->head) + 1;
            if (len > cap)
                return -1;
            memcpy(line, c->head, len - 1);
            line[len - 1 > 0 && line[len - 2] == '\r' ? len - 2 : len - 1] = '\0';
            memmove(c->head, c->head + len, c->have - len);
            c->have -= len;
            return 0;
        }
        if (c->have >= sizeof c->head - 1)
            return -1;
        r = conn_read(c, c->head + c->have, sizeof c->head - 1 - c->have);
        if (r <= 0)
            return -1;
        c->have += (size_t)r;
    }
}

/* A chunked request body (the C SDK sends its bodies so, curl framing them), dropped. */
static int drain_chunked(struct conn *c, char *buf)
{
    char line[256];
    for (;;) {
        long long n;
        if (read_line(c, line, sizeof line) != 0)
            return -1;
        n = strtoll(line, NULL, 16);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        while (n > 0) {
            long r = buffered_read(c, buf, n < BUF_SIZE ? (size_t)n : BUF_SIZE);
            if (r <= 0)
                return -1;
            n -= r;
        }
        if (read_line(c, line, sizeof line) != 0)   /* the CRLF after the data */
            return -1;
    }
    do {   /* trailers, up to the empty line */
        if (read_line(c, line, sizeof line) != 0)
            return -1;
    } while (line[0] != '\0');
    return 0;
}

static int reply(struct conn *c, const char *status, const char *extra, const char *body)
{
    char out[2048];
    int n = snprintf(out, sizeof out,
                     "HTTP/1.1 %s\r\nx-oss-request-id: sink\r\nETag: \"0123456789ABCDEF0123456789ABCDEF\"\r\n"
                     "Last-Modified: Mon, 30 Nov 2026 00:00:00 GMT\r\n%sContent-Length: %zu\r\n\r\n%s",
                     status, extra, strlen(body), body);
    return conn_write(c, out, (size_t)n);
}

static int send_object(struct conn *c, const char *head, int head_only)
{
    long long first = 0, last = object_size - 1;
    const char *range = strcasestr(head, "\r\nRange: bytes=");
    char extra[256], out[1024];
    int n;

    if (range != NULL && sscanf(range + 15, "%lld-%lld", &first, &last) >= 1) {
        if (last >= object_size)
            last = object_size - 1;
        snprintf(extra, sizeof extra, "Content-Range: bytes %lld-%lld/%lld\r\n", first, last,
                 object_size);
    } else {
        extra[0] = '\0';
    }
    n = snprintf(out, sizeof out,
                 "HTTP/1.1 %s\r\nx-oss-request-id: sink\r\nETag: \"0123456789ABCDEF0123456789ABCDEF\"\r\n"
                 "Last-Modified: Mon, 30 Nov 2026 00:00:00 GMT\r\nx-oss-object-type: Normal\r\n"
                 "Content-Type: application/octet-stream\r\n%sContent-Length: %lld\r\n\r\n",
                 extra[0] ? "206 Partial Content" : "200 OK", extra, last - first + 1);
    if (conn_write(c, out, (size_t)n) != 0)
        return -1;
    if (head_only)
        return 0;
    for (long long left = last - first + 1; left > 0;) {
        size_t chunk = left < BUF_SIZE ? (size_t)left : BUF_SIZE;
        if (conn_write(c, zeros, chunk) != 0)
            return -1;
        left -= (long long)chunk;
    }
    return 0;
}

static int serve_one(struct conn *c, char *head, char *buf)
{
    long head_len = read_head(c);
    long long body, extra_bytes;
    char method[16] = "", target[4096] = "";
    int rc;

    if (head_len <= 0)
        return -1;
    sscanf(c->head, "%15s %4095s", method, target);
    body = header_value(c->head, "Content-Length");
    if (body < 0)
        body = 0;
    /* bytes already read past the head belong to the body (or to the next request) */
    memcpy(head, c->head, (size_t)head_len);
    head[head_len] = '\0';
    extra_bytes = (long long)c->have - head_len;
    /* curl (the C SDK) asks before sending a large body; without an answer it waits 1 s */
    if ((extra_bytes < body || strcasestr(head, "\r\nTransfer-Encoding: chunked") != NULL) &&
        strcasestr(head, "\r\nExpect: 100-continue") != NULL &&
        conn_write(c, "HTTP/1.1 100 Continue\r\n\r\n", 25) != 0)
        return -1;
    if (strcasestr(head, "\r\nTransfer-Encoding: chunked") != NULL) {
        memmove(c->head, c->head + head_len, (size_t)extra_bytes);
        c->have = (size_t)extra_bytes;
        if (drain_chunked(c, buf) != 0)
            return -1;
    } else if (extra_bytes > body) {
        size_t keep = (size_t)(extra_bytes - body);
        memmove(c->head, c->head + head_len + body, keep);
        c->have = keep;
    } else {
        c->have = 0;
        if (drain(c, body - extra_bytes, buf) != 0)
            return -1;
    }
    if (strcmp(method, "PUT") == 0) {
        rc = reply(c, "200 OK", "", "");
    } else if (strcmp(method, "POST") == 0 && strstr(target, "?uploads") != NULL) {
        rc = reply(c, "200 OK", "Content-Type: application/xml\r\n",
                   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<InitiateMultipartUploadResult>"
                   "<Bucket>bench</Bucket><Key>object</Key><UploadId>SINKUPLOAD</UploadId>"
                   "</InitiateMultipartUploadResult>");
    } else if (strcmp(method, "POST") == 0) {
        rc = reply(c, "200 OK", "Content-Type: application/xml\r\n",
                   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUploadResult>"
                   "<Location>sink</Location><Bucket>bench</Bucket><Key>object</Key>"
                   "<ETag>\"0123456789ABCDEF0123456789ABCDEF-1\"</ETag>"
                   "</CompleteMultipartUploadResult>");
    } else if (strcmp(method, "HEAD") == 0 || strcmp(method, "GET") == 0) {
        rc = send_object(c, head, method[0] == 'H');
    } else if (strcmp(method, "DELETE") == 0) {
        rc = reply(c, "204 No Content", "", "");
    } else {
        rc = reply(c, "405 Method Not Allowed", "", "");
    }
    return rc;
}

static void *serve(void *arg)
{
    struct conn *c = arg;
    char *buf = malloc(BUF_SIZE), *head = malloc(sizeof c->head);
#ifdef SINK_TLS
    if (tls_ctx != NULL) {
        c->ssl = SSL_new(tls_ctx);
        SSL_set_fd(c->ssl, c->fd);
        if (SSL_accept(c->ssl) != 1)
            goto out;
    }
#endif
    while (buf != NULL && head != NULL && serve_one(c, head, buf) == 0)
        ;
#ifdef SINK_TLS
out:
    if (c->ssl)
        SSL_free(c->ssl);
#endif
    close(c->fd);
    free(buf);
    free(head);
    free(c);
    return NULL;
}

int main(int argc, char **argv)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    int one = 1, lfd;
    FILE *f;

    if (argc != 3 && argc != 5) {
        fprintf(stderr, "usage: sink PORT_FILE OBJECT_SIZE [CERT KEY]\n");
        return 2;
    }
    object_size = atoll(argv[2]);
    signal(SIGPIPE, SIG_IGN);
    if (argc == 5) {
#ifdef SINK_TLS
        tls_ctx = SSL_CTX_new(TLS_server_method());
        if (SSL_CTX_use_certificate_chain_file(tls_ctx, argv[3]) != 1 ||
            SSL_CTX_use_PrivateKey_file(tls_ctx, argv[4], SSL_FILETYPE_PEM) != 1) {
            fprintf(stderr, "sink: cannot load %s / %s\n", argv[3], argv[4]);
            return 1;
        }
#else
        fprintf(stderr, "sink: built without TLS\n");
        return 2;
#endif
    }
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lfd, 64) != 0) {
        perror("sink: bind/listen");
        return 1;
    }
    getsockname(lfd, (struct sockaddr *)&addr, &len);
    f = fopen(argv[1], "w");
    fprintf(f, "%d\n", ntohs(addr.sin_port));
    fclose(f);
    for (;;) {
        pthread_t t;
        struct conn *c = calloc(1, sizeof *c);
        c->fd = accept(lfd, NULL, NULL);
        if (c->fd < 0) {
            free(c);
            if (errno == EINTR)
                continue;
            return 1;
        }
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        pthread_create(&t, NULL, serve, c);
        pthread_detach(t);
    }
}
