/*
 * part_io.c - read or write one part of a file while hashing it.
 *
 * Guarantees:
 *  - One pass: each chunk (about 1 MiB, small enough to still be in cache
 *    when it is hashed) is hashed right after it is read or written.
 *  - Positioned I/O only (pread/pwrite): the file offset of fd is not used,
 *    so several threads may read or write parts of one fd at once (POSIX).
 *  - EINTR is retried; a range past EOF is a short read, not an error; any
 *    other failure returns its positive errno, with *bytes_read and *crc_out
 *    describing what was done before it.
 *  - No allocation, no global state.  Called by cffi without the GIL.
 */
#include "ossresume.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#include <io.h>
#include <stdlib.h>
#else
#include <unistd.h>
#endif

/* bytes per pread/pwrite: big enough to amortise the system call, small enough
 * for the chunk to still be in L2 when it is hashed */
#ifndef OSR_PART_CHUNK
#define OSR_PART_CHUNK (1 << 20)
#endif
#define CHUNK ((int64_t)OSR_PART_CHUNK)

#ifdef _WIN32

/* Windows has no pread: ReadFile/WriteFile with an OVERLAPPED offset on the
 * CRT descriptor's handle do the same (they also move the handle's file
 * pointer, which callers of these functions never rely on). */

#if defined(_MSC_VER)
static void __cdecl ignore_invalid_parameter(const wchar_t *e, const wchar_t *f,
                                             const wchar_t *file, unsigned int line,
                                             uintptr_t reserved)
{
    (void)e;
    (void)f;
    (void)file;
    (void)line;
    (void)reserved;
}
#endif

static HANDLE fd_handle(int fd)
{
    intptr_t h;
#if defined(_MSC_VER)
    /* a bad fd must give EBADF, not the CRT's invalid-parameter abort */
    _invalid_parameter_handler old =
        _set_thread_local_invalid_parameter_handler(ignore_invalid_parameter);
    h = _get_osfhandle(fd);
    _set_thread_local_invalid_parameter_handler(old);
#else
    h = _get_osfhandle(fd);
#endif
    return (HANDLE)h;
}

static int win_errno(DWORD e)
{
    switch (e) {
    case ERROR_INVALID_HANDLE:
        return EBADF;
    case ERROR_ACCESS_DENIED:
    case ERROR_LOCK_VIOLATION:
    case ERROR_SHARING_VIOLATION:
        return EACCES;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL:
        return ENOSPC;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
        return ENOMEM;
    default:
        return EIO;
    }
}

/* >= 0 bytes moved, or -errno */
static int64_t positioned_io(int fd, void *buf, int64_t n, int64_t offset, int write)
{
    HANDLE h = fd_handle(fd);
    OVERLAPPED ov;
    DWORD done = 0;
    BOOL ok;

    if (h == INVALID_HANDLE_VALUE)
        return -EBADF;
    memset(&ov, 0, sizeof ov);
    ov.Offset = (DWORD)((uint64_t)offset & 0xffffffffu);
    ov.OffsetHigh = (DWORD)((uint64_t)offset >> 32);
    if (write)
        ok = WriteFile(h, buf, (DWORD)n, &done, &ov);
    else
        ok = ReadFile(h, buf, (DWORD)n, &done, &ov);
    if (!ok) {
        DWORD e = GetLastError();
        if (!write && e == ERROR_HANDLE_EOF)
            return 0;
        return -(int64_t)win_errno(e);
    }
    return (int64_t)done;
}

#else

static int64_t positioned_io(int fd, void *buf, int64_t n, int64_t offset, int write)
{
    for (;;) {
        ssize_t r = write ? pwrite(fd, buf, (size_t)n, (off_t)offset)
                          : pread(fd, buf, (size_t)n, (off_t)offset);
        if (r >= 0)
            return (int64_t)r;
        if (errno != EINTR)
            return -(int64_t)errno;
    }
}

#endif

int osr_read_part(int fd, int64_t offset, int64_t length,
                  void *buf, int64_t buf_len, uint64_t crc_seed,
                  osr_md5_ctx *md5, int64_t *bytes_read, uint64_t *crc_out)
{
    unsigned char *base = (unsigned char *)buf;
    int hash_only = buf_len < length;
    int64_t done = 0;
    uint64_t crc = crc_seed;
    int err = 0;

    *bytes_read = 0;
    *crc_out = crc_seed;
    if (offset < 0 || length < 0 || buf_len < 0 || length > INT64_MAX - offset)
        return EINVAL;
    if (length > 0 && (buf == NULL || buf_len == 0))
        return EINVAL;

    while (done < length) {
        int64_t want = length - done;
        unsigned char *dst = hash_only ? base : base + done;
        int64_t got;

        if (want > CHUNK)
            want = CHUNK;
        if (hash_only && want > buf_len)
            want = buf_len;
        got = positioned_io(fd, dst, want, offset + done, 0);
        if (got < 0) {
            err = (int)-got;
            break;
        }
        if (got == 0)
            break;  /* EOF: a short read, the caller decides */
        crc = osr_crc64_update(crc, dst, (size_t)got);
        if (md5 != NULL)
            osr_md5_update(md5, dst, (size_t)got);
        done += got;
    }
    *bytes_read = done;
    *crc_out = crc;
    return err;
}

int osr_write_part(int fd, int64_t offset, const void *buf, int64_t len,
                   uint64_t crc_seed, uint64_t *crc_out)
{
    const unsigned char *src = (const unsigned char *)buf;
    int64_t done = 0;
    uint64_t crc = crc_seed;
    int err = 0;

    *crc_out = crc_seed;
    if (offset < 0 || len < 0 || len > INT64_MAX - offset)
        return EINVAL;
    if (len > 0 && buf == NULL)
        return EINVAL;

    while (done < len) {
        int64_t want = len - done;
        int64_t put;

        if (want > CHUNK)
            want = CHUNK;
        put = positioned_io(fd, (void *)(src + done), want, offset + done, 1);
        if (put < 0) {
            err = (int)-put;
            break;
        }
        if (put == 0) {  /* no progress and no error: do not spin */
            err = EIO;
            break;
        }
        crc = osr_crc64_update(crc, src + done, (size_t)put);
        done += put;
    }
    *crc_out = crc;
    return err;
}
