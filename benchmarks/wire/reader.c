/*
 * reader.c - the minimal downloader bench_wire_download.py measures ossresume_c against.
 *
 * Usage: reader PORT FILE SIZE PART_SIZE THREADS FSYNC [tls]
 * THREADS keep-alive connections to 127.0.0.1:PORT (TLS through OpenSSL with "tls",
 * when built with -DREADER_TLS -lssl -lcrypto; the certificate is not checked), each
 * taking the next part: GET with Range: bytes=.., the reply head checked for 206,
 * then the body received (recv, or SSL_read) into a 1 MiB buffer and written with
 * pwrite at its offset, 1 MiB at a time.  The file is created and sized first (as
 * ossresume_c sizes its .tmp) and, with FSYNC=1, fsync'ed at the end (as ossresume_c
 * does before its rename).  No HTTP library, no hashing, no signing.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef READER_TLS
#include <openssl/ssl.h>
static SSL_CTX *tls_ctx;
#endif

#define CHUNK ((size_t)1 << 20)

/* A buffer that starts on a page boundary: the kernel's copies between it and the
 * page cache (pread/pwrite) then avoid 4 KiB aliasing, which malloc's blocks of
 * 128 KiB and more (16 bytes into a fresh mapping) always hit. */
static char *page_buffer(size_t n)
{
    void *p = NULL;
    return posix_memalign(&p, 4096, n) == 0 ? p : NULL;
}

static int port, file_fd, use_tls;
static long long size, part_size, parts;
static long long next_part; /* shared: __atomic_fetch_add */

struct conn {
    int fd;
#ifdef READER_TLS
    SSL *ssl;
#endif
};

static long conn_recv(struct conn *c, void *buf, size_t n)
{
#ifdef READER_TLS
    if (c->ssl != NULL) {
        int r = SSL_read(c->ssl, buf, n > 1 << 30 ? 1 << 30 : (int)n);
        return r > 0 ? r : -1;
    }
#endif
    return recv(c->fd, buf, n, 0);
}

static int conn_send(struct conn *c, const char *p, size_t n)
{
    while (n > 0) {
        long w;
#ifdef READER_TLS
        if (c->ssl != NULL)
            w = SSL_write(c->ssl, p, (int)n);
        else
#endif
            w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

/* Reads a reply head into head; the bytes after it stay in head[len..*have). */
static long read_head(struct conn *c, char *head, size_t cap, size_t *have)
{
    *have = 0;
    for (;;) {
        char *end;
        long r = conn_recv(c, head + *have, cap - 1 - *have);
        if (r <= 0)
            return -1;
        *have += (size_t)r;
        head[*have] = '\0';
        end = strstr(head, "\r\n\r\n");
        if (end != NULL)
            return end + 4 - head;
        if (*have >= cap - 1)
            return -1;
    }
}

static void *worker(void *arg)
{
    struct sockaddr_in addr;
    struct conn c = {0};
    char head[8192], req[512];
    char *buf = page_buffer(CHUNK);
    int one = 1;
    long long part;
    (void)arg;

    c.fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (buf == NULL || connect(c.fd, (struct sockaddr *)&addr, sizeof addr) != 0)
        die("reader: connect");
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
#ifdef READER_TLS
    if (use_tls) {
        c.ssl = SSL_new(tls_ctx);
        SSL_set_fd(c.ssl, c.fd);
        if (SSL_connect(c.ssl) != 1) {
            fprintf(stderr, "reader: TLS handshake failed\n");
            exit(1);
        }
    }
#endif
    while ((part = __atomic_fetch_add(&next_part, 1, __ATOMIC_RELAXED)) < parts) {
        long long off = part * part_size;
        size_t n = (size_t)(off + part_size > size ? size - off : part_size), have, got;
        long head_len;
        int len = snprintf(req, sizeof req,
                           "GET /bench/object HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "Range: bytes=%lld-%lld\r\n\r\n", off, off + (long long)n - 1);

        if (conn_send(&c, req, (size_t)len) != 0)
            die("reader: send");
        head_len = read_head(&c, head, sizeof head, &have);
        if (head_len < 0 || strncmp(head, "HTTP/1.1 206", 12) != 0) {
            fprintf(stderr, "reader: part %lld failed\n", part + 1);
            exit(1);
        }
        got = have - (size_t)head_len;
        memcpy(buf, head + head_len, got);
        for (size_t done = 0; done < n;) {
            size_t want = n - done < CHUNK ? n - done : CHUNK;
            while (got < want) {
                long r = conn_recv(&c, buf + got, want - got);
                if (r <= 0)
                    die("reader: recv");
                got += (size_t)r;
            }
            if (pwrite(file_fd, buf, want, off + (long long)done) != (ssize_t)want)
                die("reader: pwrite");
            done += want;
            got = 0;
        }
    }
#ifdef READER_TLS
    if (c.ssl != NULL)
        SSL_free(c.ssl);
#endif
    close(c.fd);
    free(buf);
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t threads[256];
    int i, n_threads, do_fsync;

    if (argc != 7 && argc != 8) {
        fprintf(stderr, "usage: reader PORT FILE SIZE PART_SIZE THREADS FSYNC [tls]\n");
        return 2;
    }
    port = atoi(argv[1]);
    size = atoll(argv[3]);
    part_size = atoll(argv[4]);
    n_threads = atoi(argv[5]);
    do_fsync = atoi(argv[6]);
    use_tls = argc == 8 && strcmp(argv[7], "tls") == 0;
    if (size <= 0 || part_size <= 0 || n_threads < 1 || n_threads > 256)
        return 2;
#ifdef READER_TLS
    if (use_tls) {
        tls_ctx = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_NONE, NULL);
    }
#else
    if (use_tls) {
        fprintf(stderr, "reader: built without TLS\n");
        return 2;
    }
#endif
    parts = (size + part_size - 1) / part_size;
    file_fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (file_fd < 0)
        die(argv[2]);
    if (ftruncate(file_fd, size) != 0)
        die("reader: ftruncate");
    for (i = 0; i < n_threads; i++)
        pthread_create(&threads[i], NULL, worker, NULL);
    for (i = 0; i < n_threads; i++)
        pthread_join(threads[i], NULL);
    if (do_fsync && fsync(file_fd) != 0)
        die("reader: fsync");
    close(file_fd);
    return 0;
}
