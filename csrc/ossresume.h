/*
 * ossresume.h - the whole C surface of ossresume_c.
 *
 * The text between the CDEF markers is handed verbatim to cffi's cdef() by
 * ossresume_c/_build_ffi.py, so it must stay plain C declarations (no macros,
 * no #if, no inline bodies).  Every function that touches bulk data is called
 * by cffi with the GIL released.
 */
#ifndef OSSRESUME_H
#define OSSRESUME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* CDEF BEGIN */

/* ---- CRC-64/XZ (ECMA-182, reflected, init and xorout all ones) ----------
 * crc is the finished value of the data seen so far (0 for no data), exactly
 * like zlib's crc32(): osr_crc64_update(osr_crc64_update(0, A), B) ==
 * osr_crc64_update(0, A+B).  The value is what OSS sends in
 * x-oss-hash-crc64ecma. */
uint64_t osr_crc64_update(uint64_t crc, const void *buf, size_t len);
/* crc64(A+B) from crc64(A), crc64(B) and len(B).  combine(c, x, 0) == c. */
uint64_t osr_crc64_combine(uint64_t crc_a, uint64_t crc_b, uint64_t len_b);

/* Implementations, best first.  Index 0..count-1.  The selected one is the
 * best available, unless OSSRESUME_CRC64_IMPL names another available one.
 * Only the paths compiled for this architecture are listed (x86-64:
 * avx512_vpclmulqdq, avx2_vpclmulqdq, pclmulqdq; ARM64: pmull), "portable"
 * always last.  update_with() on an unavailable or out-of-range index runs
 * the portable path instead (never an illegal instruction). */
int osr_crc64_impl_count(void);
const char *osr_crc64_impl_name(int index);  /* NULL when out of range */
int osr_crc64_impl_available(int index);   /* 1 if this CPU/build can run it */
int osr_crc64_impl_selected(void);          /* index of the dispatched one */
int osr_crc64_select(int index);            /* 0 ok, -1 not available */
uint64_t osr_crc64_update_with(int index, uint64_t crc, const void *buf, size_t len);

/* ---- MD5 ---------------------------------------------------------------- */
typedef struct {
    uint32_t state[4];
    uint64_t length;          /* bytes hashed so far */
    unsigned char block[64];  /* pending partial block */
} osr_md5_ctx;

void osr_md5_init(osr_md5_ctx *ctx);
void osr_md5_update(osr_md5_ctx *ctx, const void *buf, size_t len);
void osr_md5_final(osr_md5_ctx *ctx, unsigned char digest[16]);

/* ---- Fused part I/O ------------------------------------------------------
 * osr_read_part reads [offset, offset+length) of fd with pread in chunks of
 * about 1 MiB, updating the CRC-64 (seeded with crc_seed) and, when md5 is not
 * NULL, the MD5 context, in the same pass.
 *   buf_len >= length: the bytes land in buf[0..length).
 *   buf_len <  length: buf is scratch reused chunk by chunk (hash-only read).
 * Returns 0 on success, or a positive errno.  A range running past EOF is a
 * short read: returns 0 with *bytes_read < length (the caller decides).
 * *crc_out is the CRC of the bytes actually read. */
int osr_read_part(int fd, int64_t offset, int64_t length,
                  void *buf, int64_t buf_len, uint64_t crc_seed,
                  osr_md5_ctx *md5, int64_t *bytes_read, uint64_t *crc_out);

/* osr_write_part writes buf[0..len) at offset with pwrite (retrying partial
 * writes) while updating the CRC-64 seeded with crc_seed.  Returns 0 or a
 * positive errno (ENOSPC, EACCES...). */
int osr_write_part(int fd, int64_t offset, const void *buf, int64_t len,
                   uint64_t crc_seed, uint64_t *crc_out);

/* ---- A response body from a socket straight into a file (recv_part.c) -----
 * osr_recv_part receives exactly `length` bytes from the connected stream
 * socket `sock` and writes them at [offset, offset+length) of fd: recv into
 * buf (reused, up to buf_len bytes per round, so that it is still in cache),
 * then pwrite + CRC-64 update (seeded with crc_seed) of what arrived.  A
 * non-blocking socket (EAGAIN) waits with poll for up to timeout_ms per wait
 * (-1: no limit); EINTR is retried.  Returns one of OSR_RECV_*: OK when all
 * `length` bytes were written; SOCKET (recv/poll failed: *err_out = errno,
 * ETIMEDOUT when a wait timed out); EOF (the peer closed the stream early);
 * FILE (pwrite failed: *err_out = errno); ARGS (bad arguments); UNSUPPORTED
 * (Windows).  In every case *received and *crc_out describe the bytes that
 * were received, written and hashed before the return. */
enum {
    OSR_RECV_OK = 0,
    OSR_RECV_SOCKET = 1,
    OSR_RECV_EOF = 2,
    OSR_RECV_FILE = 3,
    OSR_RECV_ARGS = 4,
    OSR_RECV_UNSUPPORTED = 5
};
int osr_recv_part(int sock, int timeout_ms, int fd, int64_t offset, int64_t length,
                  void *buf, int64_t buf_len, uint64_t crc_seed,
                  int64_t *received, uint64_t *crc_out, int *err_out);

/* ---- Checkpoint codec (the OSS C SDK's XML, byte compatible) -------------
 * csrc/checkpoint.c; its top comment gives the accepted language and the MD5
 * definition.  Limits: strings are at most OSR_CP_STR_MAX-1 bytes (the C SDK
 * cuts at 1023), MD5 fields at most 63, part ETags at most OSR_CP_ETAG_MAX-1,
 * at most OSR_CP_MAX_PARTS parts.  Strings are NUL-terminated UTF-8 without
 * control characters.  parts[k] is the part with Index k. */
enum {
    OSR_CP_STR_MAX = 1024,
    OSR_CP_ETAG_MAX = 128,
    OSR_CP_MAX_PARTS = 10000,
    /* return codes */
    OSR_CP_OK = 0,
    OSR_CP_EINVAL = -1,     /* a value out of range / inconsistent, control char or bad UTF-8 given to dump */
    OSR_CP_EPARSE = -2,     /* not well-formed, unknown/missing/duplicate element, unknown entity, control char */
    OSR_CP_EMD5 = -3,       /* MD5 present and wrong (or not 32 hex digits) */
    OSR_CP_ELIMIT = -4      /* string too long, too many parts */
};

typedef struct {
    int64_t index;
    int64_t offset;
    int64_t size;
    int32_t completed;          /* 0 or 1 */
    char etag[128];
    uint64_t crc64;
} osr_cp_part;

typedef struct {
    char md5[64];               /* as read; dump ignores it and writes the computed one or nothing */
    int32_t type;               /* 1 upload, 2 download */
    char file_path[1024];
    int64_t file_size;
    int64_t file_mtime;         /* microseconds; may be negative */
    char file_md5[64];
    char object_key[1024];
    int64_t object_size;
    char object_last_modified[1024];
    char object_etag[1024];
    char upload_id[1024];
    int64_t part_count;         /* CPParts/Number; 0 for an empty file/object */
    int64_t part_size;          /* CPParts/Size, >= 1 */
    osr_cp_part *parts;         /* caller-owned array of part_capacity slots */
    int64_t part_capacity;
} osr_checkpoint;

/* Serialize cp (parts[0..part_count)) as one line + "\n", with <MD5> filled
 * when fill_md5 (MD5 of the document whose MD5 element is empty, lower-case
 * hex) or empty when not (the C SDK's bytes).  cp is validated first (as
 * osr_cp_validate).  Returns the document length; or -(needed length) when cap
 * is too small (needed is always > 4, so this never collides with a code); or
 * OSR_CP_EINVAL / OSR_CP_ELIMIT for a value load would refuse (inconsistent
 * layout, control character, invalid UTF-8 / string over its limit, too many
 * parts), with a one-line reason in err (may be NULL). */
int64_t osr_cp_dump(const osr_checkpoint *cp, int fill_md5, char *out, int64_t cap,
                    char *err, int64_t err_cap);

/* Parse and validate.  cp->parts/part_capacity must be set by the caller
 * (OSR_CP_MAX_PARTS slots always suffice; fewer slots than Part elements gives
 * OSR_CP_ELIMIT).  Every other field of *cp is overwritten.  Returns 0 when the
 * document is a valid checkpoint, else one of the OSR_CP_E* codes with a
 * one-line reason in err (NUL-terminated, truncated to err_cap; may be NULL).
 * Never reads or writes outside data[0..len) and the given buffers, whatever
 * the input.  No allocation, linear time. */
int osr_cp_load(const char *data, int64_t len, osr_checkpoint *cp, char *err, int64_t err_cap);

/* The checks of load that need no XML: type, counts, index/offset/size
 * consistency, sizes summing to the file (type 1) or object (type 2) size,
 * strings NUL-terminated within their arrays, UTF-8, no control characters. */
int osr_cp_validate(const osr_checkpoint *cp, char *err, int64_t err_cap);

/* ---- Sending a file range to a socket (csrc/send_range.c) ----------------
 * osr_send_range sends [offset, offset+length) of fd to the connected socket
 * sock in chunks of at most buf_len bytes (pread into buf, CRC-64 update seeded
 * with crc_seed, then send(); or sendfile() when use_sendfile and the platform
 * has it).  A non-blocking socket waits for at most timeout_ms (< 0: forever)
 * without progress.  res gets the bytes read and sent, the CRC-64 of the bytes
 * read and, for FILE/SOCKET, the errno.  Not available on Windows (SOCKET,
 * ENOSYS). */
enum {
    OSR_SEND_OK = 0,
    OSR_SEND_SHORT = 1,     /* the file ended before the range did (it shrank) */
    OSR_SEND_FILE = 2,      /* pread failed (or invalid arguments: EINVAL) */
    OSR_SEND_SOCKET = 3,    /* send/sendfile/poll failed */
    OSR_SEND_TIMEOUT = 4    /* no progress for timeout_ms */
};

typedef struct {
    int64_t bytes_read;
    int64_t bytes_sent;
    uint64_t crc;
    int32_t err;
} osr_send_result;

int osr_send_range(int sock, int fd, int64_t offset, int64_t length, void *buf,
                   int64_t buf_len, int timeout_ms, int use_sendfile, uint64_t crc_seed,
                   osr_send_result *res);

/* ---- One request with a file range as its body (csrc/part_exchange.c) ------
 * osr_parse_reply_head parses an HTTP/1.x reply head in data[0..len): OK only
 * when it is sure of every field it reports (status 2xx-5xx other than 204/304,
 * HTTP/1.0 or 1.1, names made of token characters, CRLF line ends, exactly one
 * Content-Length of digits, at most one ETag / x-oss-hash-crc64ecma /
 * Connection (close or keep-alive) of printable ASCII, no Transfer-Encoding);
 * INCOMPLETE without the blank line; UNSURE otherwise.  Offsets are from data.
 * osr_part_exchange: see part_exchange.c.  head_len must be < buf_len. */
enum {
    OSR_HEAD_OK = 0,
    OSR_HEAD_INCOMPLETE = 1,
    OSR_HEAD_UNSURE = 2
};

enum {
    OSR_EXCH_DONE = 10,     /* the reply was parsed (res->head) and its body is in reply */
    OSR_EXCH_RAW = 11,      /* reply_len bytes received; the caller reads and parses on */
    OSR_EXCH_STALE = 12     /* the idle connection was readable: nothing was sent */
};

typedef struct {
    int32_t code;
    int32_t keep;
    int32_t saw_connection;
    int64_t head_len;        /* up to and including the blank line */
    int64_t content_length;  /* -1: absent */
    int64_t etag_off;        /* -1: absent */
    int64_t etag_len;
    int64_t crc_off;         /* -1: absent */
    int64_t crc_len;
} osr_reply_head;

typedef struct {
    int64_t bytes_read;      /* of the body, from the file */
    int64_t bytes_sent;      /* head and body */
    uint64_t crc;            /* CRC-64 of the bytes read */
    int32_t err;
    int32_t sent_all;        /* 1: head and body went out (a timeout is then the reply's) */
    int64_t reply_len;
    osr_reply_head head;
} osr_exchange_result;

int osr_parse_reply_head(const void *data, int64_t len, osr_reply_head *out);

int osr_part_exchange(int sock, const void *head, int64_t head_len, int fd, int64_t offset,
                      int64_t length, void *buf, int64_t buf_len, void *reply, int64_t reply_cap,
                      int timeout_ms, osr_exchange_result *res);

/* osr_part_exchange_many: parts k = 0..n-1 in a row on one kept-alive connection
 * (head k is heads[head_ends[k-1] .. head_ends[k]), its body the file range
 * offsets[k], lengths[k]), for as long as each ends cleanly: OSR_EXCH_DONE, a
 * 200 that keeps the connection, an ETag of at most OSR_ETAG_MAX bytes and a
 * CRC-64 header (if any) of at most OSR_CRC_TEXT_MAX.  done[k] then holds the
 * part's CRC-64 and copies of both headers.  Returns the number of clean parts;
 * when it is below n, *last is osr_part_exchange's return for the next part
 * and res its result (what a single exchange would have given). */
enum { OSR_ETAG_MAX = 72, OSR_CRC_TEXT_MAX = 24 };

typedef struct {
    uint64_t crc;
    int32_t etag_len;
    int32_t crc_len;          /* -1: the reply had no x-oss-hash-crc64ecma */
    char etag[72];
    char crc_text[24];
} osr_part_done;

int osr_part_exchange_many(int sock, const void *heads, const int64_t *head_ends, int32_t n,
                           int fd, const int64_t *offsets, const int64_t *lengths, void *buf,
                           int64_t buf_len, void *reply, int64_t reply_cap, int timeout_ms,
                           osr_part_done *done, osr_exchange_result *res, int32_t *last);

/* CDEF END */

#ifndef _WIN32
/* Internal to csrc/ (not for cffi): wait until sock has `events` (poll flags)
 * for at most timeout_ms (< 0: forever), EINTR retried.  0 when ready (or an
 * error the next call reports), OSR_SEND_TIMEOUT, or OSR_SEND_SOCKET with the
 * errno in *err.  Defined in send_range.c. */
int osr_poll_wait(int sock, short events, int timeout_ms, int *err);
#endif

#ifdef __cplusplus
}
#endif
#endif
