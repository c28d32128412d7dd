/*
 * crc64_x86.c - CRC-64/XZ by carry-less multiplication on x86-64.
 *
 * Three paths, each compiled with a per-function target attribute (no global
 * -m flags, so the module still loads on any x86-64 CPU):
 *   pclmulqdq          SSE4.1 + PCLMULQDQ, 8 x 128-bit accumulators
 *   avx2_vpclmulqdq    AVX2 + VPCLMULQDQ, 4 x 256-bit accumulators
 *   avx512_vpclmulqdq  AVX-512F/VL + VPCLMULQDQ, 8 x 512-bit accumulators
 * crc64.c calls a path only when osr_crc64_x86_features() reports it.  The AVX
 * paths end with vzeroupper so later legacy-SSE code pays no transition cost.
 *
 * The algebra (reflected bit order: in a 128-bit lane loaded little-endian,
 * bit i is the coefficient of x^(127-i), so the low qword is the high-degree
 * half).  A lane A followed by D more bits of message is worth
 *     A * x^D = A_lo * x^(64+D) + A_hi * x^D            (mod P)
 * and the carry-less product of two reflected 64-bit values is the product
 * times x, so the multipliers are x^(D+63) mod P (for A_lo) and x^(D-1) mod P
 * (for A_hi).  The last lane A is reduced to the register (A * x^64 mod P) by
 *     Y = clmul(A_lo, x^127 mod P) ^ (A >> 64)          (Y == A * x^64)
 *     q = clmul(Y_lo, mu)_lo,  mu = floor(x^127 / P)    (Barrett quotient)
 *     reg = (Y ^ clmul(q, (P - 1) / x))_hi ^ q          (Y + q * P)
 * tests/crc64_reference.py derives every constant below from P alone, and
 * tests/test_native.py checks these numbers against it.
 */
#include "crc64_internal.h"

#ifdef OSR_CRC64_X86

#include <immintrin.h>
#ifdef _MSC_VER
#include <intrin.h>
#else
#include <cpuid.h>
#endif

#if defined(__clang__)
#define OSR_HAVE_VPCLMUL (__clang_major__ >= 7)
#elif defined(__GNUC__)
#define OSR_HAVE_VPCLMUL (__GNUC__ >= 8)
#elif defined(_MSC_VER)
#define OSR_HAVE_VPCLMUL (_MSC_VER >= 1920)
#else
#define OSR_HAVE_VPCLMUL 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#define TARGET_PCLMUL __attribute__((target("sse4.1,pclmul")))
#define TARGET_AVX2 __attribute__((target("avx2,pclmul,vpclmulqdq")))
#define TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx2,pclmul,vpclmulqdq")))
#else
#define TARGET_PCLMUL
#define TARGET_AVX2
#define TARGET_AVX512
#endif

/* {multiplier for the low qword, multiplier for the high qword} */
#define K128_LO 0xe05dd497ca393ae4ULL  /* x^191 mod P */
#define K128_HI 0xdabe95afc7875f40ULL  /* x^127 mod P */
#define K256_LO 0x60095b008a9efa44ULL  /* x^319 mod P */
#define K256_HI 0x3be653a30fe1af51ULL  /* x^255 mod P */
#define K512_LO 0x6ae3efbb9dd441f3ULL  /* x^575 mod P */
#define K512_HI 0x081f6054a7842df4ULL  /* x^511 mod P */
#define K1024_LO 0x8757d71d4fcc1000ULL /* x^1087 mod P */
#define K1024_HI 0xd7d86b2af73de740ULL /* x^1023 mod P */
#define K2048_LO 0x8260adf2381ad81cULL /* x^2111 mod P */
#define K2048_HI 0xf31fd9271e228b79ULL /* x^2047 mod P */
#define K4096_LO 0x6b6563c31e5df640ULL /* x^4159 mod P */
#define K4096_HI 0x430af18f45bfec70ULL /* x^4095 mod P */
#define BARRETT_MU 0x9c3e466c172963d5ULL /* floor(x^127 / P) */
#define BARRETT_P 0x92d8af2baf0e1e85ULL  /* (P - 1) / x */

#define PAIR128(lo, hi) _mm_set_epi64x((long long)(hi), (long long)(lo))

/* ---- CPU detection ----------------------------------------------------- */

static void cpuid_count(unsigned leaf, unsigned sub, unsigned r[4])
{
#ifdef _MSC_VER
    int t[4];
    __cpuidex(t, (int)leaf, (int)sub);
    r[0] = (unsigned)t[0];
    r[1] = (unsigned)t[1];
    r[2] = (unsigned)t[2];
    r[3] = (unsigned)t[3];
#else
    __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
#endif
}

static uint64_t read_xcr0(void)
{
#ifdef _MSC_VER
    return (uint64_t)_xgetbv(0);
#else
    uint32_t lo, hi;
    __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
#endif
}

unsigned osr_crc64_x86_features(void)
{
    unsigned r[4], max_leaf, out = 0;
    int sse41, pclmul, osxsave, avx;
    uint64_t xcr0 = 0;

    cpuid_count(0, 0, r);
    max_leaf = r[0];
    if (max_leaf < 1)
        return 0;
    cpuid_count(1, 0, r);
    sse41 = (r[2] >> 19) & 1;
    pclmul = (r[2] >> 1) & 1;
    osxsave = (r[2] >> 27) & 1;
    avx = (r[2] >> 28) & 1;
    if (!(sse41 && pclmul))
        return 0;
    out |= OSR_X86_PCLMUL;
    if (!OSR_HAVE_VPCLMUL || !osxsave || !avx || max_leaf < 7)
        return out;
    xcr0 = read_xcr0();
    if ((xcr0 & 0x6) != 0x6)        /* OS saves XMM and YMM state */
        return out;
    cpuid_count(7, 0, r);
    {
        int avx2 = (r[1] >> 5) & 1;
        int avx512f = (r[1] >> 16) & 1;
        int avx512vl = (r[1] >> 31) & 1;
        int vpclmul = (r[2] >> 10) & 1;
        if (avx2 && vpclmul)
            out |= OSR_X86_AVX2_VPCLMUL;
        /* opmask, ZMM0-15 upper halves, ZMM16-31 saved by the OS */
        if (avx2 && vpclmul && avx512f && avx512vl && (xcr0 & 0xe6) == 0xe6)
            out |= OSR_X86_AVX512_VPCLMUL;
    }
    return out;
}

/* ---- 128-bit pieces shared by every path ------------------------------- */

static inline TARGET_PCLMUL __m128i fold128(__m128i a, __m128i k)
{
    return _mm_xor_si128(_mm_clmulepi64_si128(a, k, 0x00),
                         _mm_clmulepi64_si128(a, k, 0x11));
}

/* acc holds everything before p: fold the remaining whole 16-byte blocks in,
 * reduce to the 64-bit register, finish the last n % 16 bytes by table. */
static inline TARGET_PCLMUL uint64_t finish128(__m128i acc, const unsigned char *p, size_t n)
{
    const __m128i k128 = PAIR128(K128_LO, K128_HI);
    const __m128i barrett = PAIR128(BARRETT_MU, BARRETT_P);
    __m128i y, q;
    uint64_t reg;

    while (n >= 16) {
        acc = _mm_xor_si128(fold128(acc, k128), _mm_loadu_si128((const __m128i *)p));
        p += 16;
        n -= 16;
    }
    y = _mm_xor_si128(_mm_clmulepi64_si128(acc, k128, 0x10), _mm_srli_si128(acc, 8));
    q = _mm_clmulepi64_si128(y, barrett, 0x00);
    y = _mm_xor_si128(y, _mm_clmulepi64_si128(q, barrett, 0x10));
    reg = (uint64_t)_mm_extract_epi64(y, 1) ^ (uint64_t)_mm_cvtsi128_si64(q);
    return n ? osr_crc64_portable_raw(reg, p, n) : reg;
}

#define LOAD128(p, i) _mm_loadu_si128((const __m128i *)(p) + (i))

TARGET_PCLMUL uint64_t osr_crc64_pclmul_raw(uint64_t reg, const unsigned char *p, size_t n)
{
    __m128i x0, x1, x2, x3, x4, x5, x6, x7, k;

    if (n < 16)
        return osr_crc64_portable_raw(reg, p, n);
    if (n < 128) {
        x0 = _mm_xor_si128(LOAD128(p, 0), _mm_cvtsi64_si128((long long)reg));
        return finish128(x0, p + 16, n - 16);
    }
    x0 = _mm_xor_si128(LOAD128(p, 0), _mm_cvtsi64_si128((long long)reg));
    x1 = LOAD128(p, 1);
    x2 = LOAD128(p, 2);
    x3 = LOAD128(p, 3);
    x4 = LOAD128(p, 4);
    x5 = LOAD128(p, 5);
    x6 = LOAD128(p, 6);
    x7 = LOAD128(p, 7);
    p += 128;
    n -= 128;
    k = PAIR128(K1024_LO, K1024_HI);
    while (n >= 128) {
        x0 = _mm_xor_si128(fold128(x0, k), LOAD128(p, 0));
        x1 = _mm_xor_si128(fold128(x1, k), LOAD128(p, 1));
        x2 = _mm_xor_si128(fold128(x2, k), LOAD128(p, 2));
        x3 = _mm_xor_si128(fold128(x3, k), LOAD128(p, 3));
        x4 = _mm_xor_si128(fold128(x4, k), LOAD128(p, 4));
        x5 = _mm_xor_si128(fold128(x5, k), LOAD128(p, 5));
        x6 = _mm_xor_si128(fold128(x6, k), LOAD128(p, 6));
        x7 = _mm_xor_si128(fold128(x7, k), LOAD128(p, 7));
        p += 128;
        n -= 128;
    }
    /* 8 lanes -> 4 -> 2 -> 1: each fold spans the distance between lanes */
    k = PAIR128(K512_LO, K512_HI);
    x4 = _mm_xor_si128(x4, fold128(x0, k));
    x5 = _mm_xor_si128(x5, fold128(x1, k));
    x6 = _mm_xor_si128(x6, fold128(x2, k));
    x7 = _mm_xor_si128(x7, fold128(x3, k));
    k = PAIR128(K256_LO, K256_HI);
    x6 = _mm_xor_si128(x6, fold128(x4, k));
    x7 = _mm_xor_si128(x7, fold128(x5, k));
    k = PAIR128(K128_LO, K128_HI);
    x7 = _mm_xor_si128(x7, fold128(x6, k));
    return finish128(x7, p, n);
}

#if OSR_HAVE_VPCLMUL

/* ---- AVX2 + VPCLMULQDQ: two lanes per register ------------------------- */

static inline TARGET_AVX2 __m256i fold256(__m256i a, __m256i k)
{
    return _mm256_xor_si256(_mm256_clmulepi64_epi128(a, k, 0x00),
                            _mm256_clmulepi64_epi128(a, k, 0x11));
}

#define LOAD256(p, i) _mm256_loadu_si256((const __m256i *)(p) + (i))
#define PAIR256(lo, hi) _mm256_set_epi64x((long long)(hi), (long long)(lo), \
                                          (long long)(hi), (long long)(lo))

TARGET_AVX2 uint64_t osr_crc64_avx2_raw(uint64_t reg, const unsigned char *p, size_t n)
{
    __m256i y0, y1, y2, y3, k;
    __m128i x;
    uint64_t out;

    if (n < 256)
        return osr_crc64_pclmul_raw(reg, p, n);
    y0 = _mm256_xor_si256(LOAD256(p, 0), _mm256_set_epi64x(0, 0, 0, (long long)reg));
    y1 = LOAD256(p, 1);
    y2 = LOAD256(p, 2);
    y3 = LOAD256(p, 3);
    p += 128;
    n -= 128;
    k = PAIR256(K1024_LO, K1024_HI);
    while (n >= 128) {
        y0 = _mm256_xor_si256(fold256(y0, k), LOAD256(p, 0));
        y1 = _mm256_xor_si256(fold256(y1, k), LOAD256(p, 1));
        y2 = _mm256_xor_si256(fold256(y2, k), LOAD256(p, 2));
        y3 = _mm256_xor_si256(fold256(y3, k), LOAD256(p, 3));
        p += 128;
        n -= 128;
    }
    k = PAIR256(K512_LO, K512_HI);
    y2 = _mm256_xor_si256(y2, fold256(y0, k));
    y3 = _mm256_xor_si256(y3, fold256(y1, k));
    k = PAIR256(K256_LO, K256_HI);
    y3 = _mm256_xor_si256(y3, fold256(y2, k));
    while (n >= 32) {
        y3 = _mm256_xor_si256(fold256(y3, k), LOAD256(p, 0));
        p += 32;
        n -= 32;
    }
    x = _mm_xor_si128(_mm256_extracti128_si256(y3, 1),
                      fold128(_mm256_castsi256_si128(y3), PAIR128(K128_LO, K128_HI)));
    out = finish128(x, p, n);
    _mm256_zeroupper();
    return out;
}

/* ---- AVX-512 + VPCLMULQDQ: four lanes per register ---------------------- */

/* a * k ^ b with one three-way XOR */
static inline TARGET_AVX512 __m512i fold512_xor(__m512i a, __m512i k, __m512i b)
{
    return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(a, k, 0x00),
                                     _mm512_clmulepi64_epi128(a, k, 0x11), b, 0x96);
}

#define LOAD512(p, i) _mm512_loadu_si512((const void *)((p) + 64 * (i)))
#define PAIR512(lo, hi) _mm512_set_epi64((long long)(hi), (long long)(lo), \
                                         (long long)(hi), (long long)(lo), \
                                         (long long)(hi), (long long)(lo), \
                                         (long long)(hi), (long long)(lo))

TARGET_AVX512 uint64_t osr_crc64_avx512_raw(uint64_t reg, const unsigned char *p, size_t n)
{
    __m512i z0, z1, z2, z3, z4, z5, z6, z7, k;
    __m256i y;
    __m128i x;
    uint64_t out;

    if (n < 1024)  /* AVX-512 implies the AVX2 path (see osr_crc64_x86_features) */
        return osr_crc64_avx2_raw(reg, p, n);
    z0 = _mm512_xor_si512(LOAD512(p, 0), _mm512_set_epi64(0, 0, 0, 0, 0, 0, 0, (long long)reg));
    z1 = LOAD512(p, 1);
    z2 = LOAD512(p, 2);
    z3 = LOAD512(p, 3);
    z4 = LOAD512(p, 4);
    z5 = LOAD512(p, 5);
    z6 = LOAD512(p, 6);
    z7 = LOAD512(p, 7);
    p += 512;
    n -= 512;
    k = PAIR512(K4096_LO, K4096_HI);
    while (n >= 512) {
        z0 = fold512_xor(z0, k, LOAD512(p, 0));
        z1 = fold512_xor(z1, k, LOAD512(p, 1));
        z2 = fold512_xor(z2, k, LOAD512(p, 2));
        z3 = fold512_xor(z3, k, LOAD512(p, 3));
        z4 = fold512_xor(z4, k, LOAD512(p, 4));
        z5 = fold512_xor(z5, k, LOAD512(p, 5));
        z6 = fold512_xor(z6, k, LOAD512(p, 6));
        z7 = fold512_xor(z7, k, LOAD512(p, 7));
        p += 512;
        n -= 512;
    }
    k = PAIR512(K2048_LO, K2048_HI);
    z4 = fold512_xor(z0, k, z4);
    z5 = fold512_xor(z1, k, z5);
    z6 = fold512_xor(z2, k, z6);
    z7 = fold512_xor(z3, k, z7);
    k = PAIR512(K1024_LO, K1024_HI);
    z6 = fold512_xor(z4, k, z6);
    z7 = fold512_xor(z5, k, z7);
    k = PAIR512(K512_LO, K512_HI);
    z3 = fold512_xor(z6, k, z7);
    while (n >= 64) {
        z3 = fold512_xor(z3, k, LOAD512(p, 0));
        p += 64;
        n -= 64;
    }
    y = _mm256_xor_si256(_mm512_extracti64x4_epi64(z3, 1),
                         fold256(_mm512_castsi512_si256(z3), PAIR256(K256_LO, K256_HI)));
    x = _mm_xor_si128(_mm256_extracti128_si256(y, 1),
                      fold128(_mm256_castsi256_si128(y), PAIR128(K128_LO, K128_HI)));
    out = finish128(x, p, n);
    _mm256_zeroupper();
    return out;
}

#else /* compiler without VPCLMULQDQ: features never report these paths */

uint64_t osr_crc64_avx2_raw(uint64_t reg, const unsigned char *p, size_t n)
{
    return osr_crc64_pclmul_raw(reg, p, n);
}

uint64_t osr_crc64_avx512_raw(uint64_t reg, const unsigned char *p, size_t n)
{
    return osr_crc64_pclmul_raw(reg, p, n);
}

#endif /* OSR_HAVE_VPCLMUL */

#else /* not x86-64 */

/* ISO C forbids an empty translation unit */
typedef int osr_crc64_x86_unused;

#endif
