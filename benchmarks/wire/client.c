/*
 * client.c - the minimal client bench_wire.py measures ossresume_c against.
 *
 * Usage: client put|get PORT FILE SIZE PART_SIZE THREADS
 * put: THREADS keep-alive connections to 127.0.0.1:PORT, each taking the next
 *      part, pread() into one buffer, one HTTP/1.1 PUT ?partNumber=N&uploadId=..
 *      (head, then the body with send()), the reply read and checked for 200.
 * get: the same with GET and Range: bytes=..; recv() into a 1 MiB buffer, pwrite()
 *      at its offset in the part, until the part is done (the file sized first).  No HTTP library, no hashing, no signing.
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

/* Download chunk: what stays in cache between recv and pwrite (ossresume_c uses 1 MiB too). */
#define READ_CHUNK ((size_t)1 << 20)

static int port, file_fd, do_put;
static long long size, part_size, parts;
static long long next_part;  /* shared: __atomic_fetch_add */

/* A buffer that starts on a page boundary: the kernel's copies between it and the
 * page cache (pread/pwrite) then avoid 4 KiB aliasing, which malloc's blocks of
 * 128 KiB and more (16 bytes into a fresh mapping) always hit. */
static char *page_buffer(size_t n)
{
    void *p = NULL;
    return posix_memalign(&p, 4096, n) == 0 ? p : NULL;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads a reply head into head (the bytes after it stay in head+len..have). */
static long read_head(int fd, char *head, size_t cap, size_t *have)
{
    *have = 0;
    for (;;) {
        char *end;
        ssize_t r = recv(fd, head + *have, cap - 1 - *have, 0);
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
    char head[8192], req[512];
    char *buf = page_buffer((size_t)part_size);
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
    long long part;
    (void)arg;

    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (buf == NULL || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        perror("client: connect");
        exit(1);
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    while ((part = __atomic_fetch_add(&next_part, 1, __ATOMIC_RELAXED)) < parts) {
        long long off = part * part_size;
        size_t n = (size_t)(off + part_size > size ? size - off : part_size), have, got;
        long head_len;
        int len;

        if (do_put) {
            if (pread(file_fd, buf, n, off) != (ssize_t)n) {
                perror("client: pread");
                exit(1);
            }
            len = snprintf(req, sizeof req,
                           "PUT /bench/object?partNumber=%lld&uploadId=SINKUPLOAD HTTP/1.1\r\n"
                           "Host: 127.0.0.1\r\nContent-Length: %zu\r\n\r\n", part + 1, n);
            if (send_all(fd, req, (size_t)len) || send_all(fd, buf, n)) {
                perror("client: send");
                exit(1);
            }
            head_len = read_head(fd, head, sizeof head, &have);
            if (head_len < 0 || strncmp(head, "HTTP/1.1 200", 12) != 0) {
                fprintf(stderr, "client: part %lld failed\n", part + 1);
                exit(1);
            }
        } else {
            len = snprintf(req, sizeof req,
                           "GET /bench/object HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "Range: bytes=%lld-%lld\r\n\r\n", off, off + (long long)n - 1);
            if (send_all(fd, req, (size_t)len)) {
                perror("client: send");
                exit(1);
            }
            head_len = read_head(fd, head, sizeof head, &have);
            if (head_len < 0 || strncmp(head, "HTTP/1.1 206", 12) != 0) {
                fprintf(stderr, "client: part %lld failed\n", part + 1);
                exit(1);
            }
            /* the body in chunks of at most READ_CHUNK: recv into the buffer, pwrite it */
            got = have - (size_t)head_len;
            memcpy(buf, head + head_len, got);
            for (size_t done = 0; done < n;) {
                size_t want = n - done < READ_CHUNK ? n - done : READ_CHUNK;
                while (got < want) {
                    ssize_t r = recv(fd, buf + got, want - got, 0);
                    if (r <= 0) {
                        perror("client: recv");
                        exit(1);
                    }
                    got += (size_t)r;
                }
                if (pwrite(file_fd, buf, want, off + (long long)done) != (ssize_t)want) {
                    perror("client: pwrite");
                    exit(1);
                }
                done += want;
                got = 0;
            }
        }
    }
    close(fd);
    free(buf);
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t threads[256];
    int i, n_threads;

    if (argc != 7 || (strcmp(argv[1], "put") != 0 && strcmp(argv[1], "get") != 0)) {
        fprintf(stderr, "usage: client put|get PORT FILE SIZE PART_SIZE THREADS\n");
        return 2;
    }
    do_put = argv[1][0] == 'p';
    port = atoi(argv[2]);
    size = atoll(argv[4]);
    part_size = atoll(argv[5]);
    n_threads = atoi(argv[6]);
    if (size <= 0 || part_size <= 0 || n_threads < 1 || n_threads > 256)
        return 2;
    parts = (size + part_size - 1) / part_size;
    file_fd = open(argv[3], do_put ? O_RDONLY : O_WRONLY | O_CREAT, 0644);
    if (file_fd < 0) {
        perror(argv[3]);
        return 1;
    }
    /* sized up front, as ossresume_c sizes its .tmp: parallel pwrites do not extend the file */
    if (!do_put && ftruncate(file_fd, size) != 0) {
        perror("client: ftruncate");
        return 1;
    }
    for (i = 0; i < n_threads; i++)
        pthread_create(&threads[i], NULL, worker, NULL);
    for (i = 0; i < n_threads; i++)
        pthread_join(threads[i], NULL);
    close(file_fd);
    return 0;
}
