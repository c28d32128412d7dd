/*
 * md5.c - MD5 (RFC 1321), own C99 code, no libcrypto.
 *
 * Why not the system's libcrypto: wheels must be self-contained and must not
 * depend on which OpenSSL (if any) the target machine has; MD5 is 150 lines.
 * Speed: MD5 is one long dependency chain, so what matters is the length of
 * each step's critical path.  The steps below are fully unrolled, the 64
 * additive constants are immediates, the message words are loaded once per
 * block, and two round functions are written to shorten the chain:
 *   F = d ^ (b & (c ^ d))            (one op fewer than (b & c) | (~b & d))
 *   G = (~d & c) + (d & b)           (disjoint bits: | becomes +, and the
 *                                     ~d & c half is added before b is ready)
 * Guarantees: any length, any alignment, any byte order; osr_md5_update may
 * be called any number of times between init and final.
 */
#include "ossresume.h"

#include <string.h>

#define ROTL32(v, s) (((v) << (s)) | ((v) >> (32 - (s))))

#define STEP_F(a, b, c, d, x, t, s)                    \
    a += (x) + (uint32_t)(t) + ((d) ^ ((b) & ((c) ^ (d)))); \
    a = ROTL32(a, s) + (b)
#define STEP_G(a, b, c, d, x, t, s)                    \
    a += (x) + (uint32_t)(t) + (~(d) & (c));           \
    a += (d) & (b);                                    \
    a = ROTL32(a, s) + (b)
#define STEP_H(a, b, c, d, x, t, s)                    \
    a += (x) + (uint32_t)(t) + ((b) ^ (c) ^ (d));      \
    a = ROTL32(a, s) + (b)
#define STEP_I(a, b, c, d, x, t, s)                    \
    a += (x) + (uint32_t)(t) + ((c) ^ ((b) | ~(d)));   \
    a = ROTL32(a, s) + (b)
#define STEP(f, a, b, c, d, x, t, s) STEP_##f(a, b, c, d, x, t, s)

static inline uint32_t load_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static void md5_blocks(uint32_t state[4], const unsigned char *p, size_t nblocks)
{
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t X[16];
    int i;

    while (nblocks--) {
        uint32_t a0 = a, b0 = b, c0 = c, d0 = d;
        for (i = 0; i < 16; i++)
            X[i] = load_le32(p + 4 * i);
        /* round 1 */
        STEP(F, a, b, c, d, X[0], 0xd76aa478, 7);
        STEP(F, d, a, b, c, X[1], 0xe8c7b756, 12);
        STEP(F, c, d, a, b, X[2], 0x242070db, 17);
        STEP(F, b, c, d, a, X[3], 0xc1bdceee, 22);
        STEP(F, a, b, c, d, X[4], 0xf57c0faf, 7);
        STEP(F, d, a, b, c, X[5], 0x4787c62a, 12);
        STEP(F, c, d, a, b, X[6], 0xa8304613, 17);
        STEP(F, b, c, d, a, X[7], 0xfd469501, 22);
        STEP(F, a, b, c, d, X[8], 0x698098d8, 7);
        STEP(F, d, a, b, c, X[9], 0x8b44f7af, 12);
        STEP(F, c, d, a, b, X[10], 0xffff5bb1, 17);
        STEP(F, b, c, d, a, X[11], 0x895cd7be, 22);
        STEP(F, a, b, c, d, X[12], 0x6b901122, 7);
        STEP(F, d, a, b, c, X[13], 0xfd987193, 12);
        STEP(F, c, d, a, b, X[14], 0xa679438e, 17);
        STEP(F, b, c, d, a, X[15], 0x49b40821, 22);
        /* round 2 */
        STEP(G, a, b, c, d, X[1], 0xf61e2562, 5);
        STEP(G, d, a, b, c, X[6], 0xc040b340, 9);
        STEP(G, c, d, a, b, X[11], 0x265e5a51, 14);
        STEP(G, b, c, d, a, X[0], 0xe9b6c7aa, 20);
        STEP(G, a, b, c, d, X[5], 0xd62f105d, 5);
        STEP(G, d, a, b, c, X[10], 0x02441453, 9);
        STEP(G, c, d, a, b, X[15], 0xd8a1e681, 14);
        STEP(G, b, c, d, a, X[4], 0xe7d3fbc8, 20);
        STEP(G, a, b, c, d, X[9], 0x21e1cde6, 5);
        STEP(G, d, a, b, c, X[14], 0xc33707d6, 9);
        STEP(G, c, d, a, b, X[3], 0xf4d50d87, 14);
        STEP(G, b, c, d, a, X[8], 0x455a14ed, 20);
        STEP(G, a, b, c, d, X[13], 0xa9e3e905, 5);
        STEP(G, d, a, b, c, X[2], 0xfcefa3f8, 9);
        STEP(G, c, d, a, b, X[7], 0x676f02d9, 14);
        STEP(G, b, c, d, a, X[12], 0x8d2a4c8a, 20);
        /* round 3 */
        STEP(H, a, b, c, d, X[5], 0xfffa3942, 4);
        STEP(H, d, a, b, c, X[8], 0x8771f681, 11);
        STEP(H, c, d, a, b, X[11], 0x6d9d6122, 16);
        STEP(H, b, c, d, a, X[14], 0xfde5380c, 23);
        STEP(H, a, b, c, d, X[1], 0xa4beea44, 4);
        STEP(H, d, a, b, c, X[4], 0x4bdecfa9, 11);
        STEP(H, c, d, a, b, X[7], 0xf6bb4b60, 16);
        STEP(H, b, c, d, a, X[10], 0xbebfbc70, 23);
        STEP(H, a, b, c, d, X[13], 0x289b7ec6, 4);
        STEP(H, d, a, b, c, X[0], 0xeaa127fa, 11);
        STEP(H, c, d, a, b, X[3], 0xd4ef3085, 16);
        STEP(H, b, c, d, a, X[6], 0x04881d05, 23);
        STEP(H, a, b, c, d, X[9], 0xd9d4d039, 4);
        STEP(H, d, a, b, c, X[12], 0xe6db99e5, 11);
        STEP(H, c, d, a, b, X[15], 0x1fa27cf8, 16);
        STEP(H, b, c, d, a, X[2], 0xc4ac5665, 23);
        /* round 4 */
        STEP(I, a, b, c, d, X[0], 0xf4292244, 6);
        STEP(I, d, a, b, c, X[7], 0x432aff97, 10);
        STEP(I, c, d, a, b, X[14], 0xab9423a7, 15);
        STEP(I, b, c, d, a, X[5], 0xfc93a039, 21);
        STEP(I, a, b, c, d, X[12], 0x655b59c3, 6);
        STEP(I, d, a, b, c, X[3], 0x8f0ccc92, 10);
        STEP(I, c, d, a, b, X[10], 0xffeff47d, 15);
        STEP(I, b, c, d, a, X[1], 0x85845dd1, 21);
        STEP(I, a, b, c, d, X[8], 0x6fa87e4f, 6);
        STEP(I, d, a, b, c, X[15], 0xfe2ce6e0, 10);
        STEP(I, c, d, a, b, X[6], 0xa3014314, 15);
        STEP(I, b, c, d, a, X[13], 0x4e0811a1, 21);
        STEP(I, a, b, c, d, X[4], 0xf7537e82, 6);
        STEP(I, d, a, b, c, X[11], 0xbd3af235, 10);
        STEP(I, c, d, a, b, X[2], 0x2ad7d2bb, 15);
        STEP(I, b, c, d, a, X[9], 0xeb86d391, 21);
        a += a0;
        b += b0;
        c += c0;
        d += d0;
        p += 64;
    }
    state[0] = a;
    state[1] = b;
    state[2] = c;
    state[3] = d;
}

void osr_md5_init(osr_md5_ctx *ctx)
{
    ctx->state[0] = 0x67452301u;
    ctx->state[1] = 0xefcdab89u;
    ctx->state[2] = 0x98badcfeu;
    ctx->state[3] = 0x10325476u;
    ctx->length = 0;
    memset(ctx->block, 0, sizeof ctx->block);
}

void osr_md5_update(osr_md5_ctx *ctx, const void *buf, size_t len)
{
    const unsigned char *p = (const unsigned char *)buf;
    size_t used = (size_t)(ctx->length & 63);

    if (len == 0)
        return;
    ctx->length += (uint64_t)len;
    if (used != 0) {
        size_t room = 64 - used;
        if (len < room) {
            memcpy(ctx->block + used, p, len);
            return;
        }
        memcpy(ctx->block + used, p, room);
        md5_blocks(ctx->state, ctx->block, 1);
        p += room;
        len -= room;
    }
    if (len >= 64) {
        md5_blocks(ctx->state, p, len / 64);
        p += len & ~(size_t)63;
        len &= 63;
    }
    if (len != 0)
        memcpy(ctx->block, p, len);
}

void osr_md5_final(osr_md5_ctx *ctx, unsigned char digest[16])
{
    size_t used = (size_t)(ctx->length & 63);
    uint64_t bits = ctx->length << 3;
    int i;

    ctx->block[used++] = 0x80;
    if (used > 56) {
        memset(ctx->block + used, 0, 64 - used);
        md5_blocks(ctx->state, ctx->block, 1);
        used = 0;
    }
    memset(ctx->block + used, 0, 56 - used);
    for (i = 0; i < 8; i++)
        ctx->block[56 + i] = (unsigned char)(bits >> (8 * i));
    md5_blocks(ctx->state, ctx->block, 1);
    for (i = 0; i < 4; i++) {
        digest[4 * i] = (unsigned char)ctx->state[i];
        digest[4 * i + 1] = (unsigned char)(ctx->state[i] >> 8);
        digest[4 * i + 2] = (unsigned char)(ctx->state[i] >> 16);
        digest[4 * i + 3] = (unsigned char)(ctx->state[i] >> 24);
    }
}
