/*
 * crc64_arm.c - CRC-64/XZ by carry-less multiplication (PMULL) on ARM64.
 *
 * Same algebra and constants as crc64_x86.c (see the comment at its top):
 * four 128-bit accumulators folded 64 bytes at a time, one 128-bit lane
 * reduced by Barrett, the last n % 16 bytes by table.  Compiled only for
 * little-endian AArch64; crc64.c calls it only when HWCAP (Linux) or the
 * platform (every Apple arm64 CPU has PMULL) says the CPU can run it.
 */
#include "crc64_internal.h"

#ifdef OSR_CRC64_ARM64

/* Can this compiler emit PMULL from intrinsics inside one function? */
#if defined(__AARCH64EB__)
#define OSR_PMULL_BUILD 0
#elif defined(__ARM_FEATURE_CRYPTO) || defined(__ARM_FEATURE_AES)
#define OSR_PMULL_BUILD 1
#define TARGET_PMULL
#elif defined(__clang__) && __clang_major__ >= 16
#define OSR_PMULL_BUILD 1
#define TARGET_PMULL __attribute__((target("aes")))
#elif !defined(__clang__) && defined(__GNUC__) && __GNUC__ >= 7
#define OSR_PMULL_BUILD 1
#define TARGET_PMULL __attribute__((target("+crypto")))
#else
#define OSR_PMULL_BUILD 0
#endif

#if OSR_PMULL_BUILD

#include <arm_neon.h>
#if defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_PMULL
#define HWCAP_PMULL (1 << 4)
#endif
#endif

#define K128_LO 0xe05dd497ca393ae4ULL  /* x^191 mod P */
#define K128_HI 0xdabe95afc7875f40ULL  /* x^127 mod P */
#define K256_LO 0x60095b008a9efa44ULL  /* x^319 mod P */
#define K256_HI 0x3be653a30fe1af51ULL  /* x^255 mod P */
#define K512_LO 0x6ae3efbb9dd441f3ULL  /* x^575 mod P */
#define K512_HI 0x081f6054a7842df4ULL  /* x^511 mod P */
#define BARRETT_MU 0x9c3e466c172963d5ULL /* floor(x^127 / P) */
#define BARRETT_P 0x92d8af2baf0e1e85ULL  /* (P - 1) / x */

int osr_crc64_arm_has_pmull(void)
{
#if defined(__APPLE__)
    return 1;
#elif defined(__linux__)
    return (getauxval(AT_HWCAP) & HWCAP_PMULL) != 0;
#elif defined(__ARM_FEATURE_CRYPTO) || defined(__ARM_FEATURE_AES)
    return 1;
#else
    return 0;
#endif
}

static inline TARGET_PMULL uint64x2_t clmul(uint64_t a, uint64_t b)
{
    return vreinterpretq_u64_p128(vmull_p64((poly64_t)a, (poly64_t)b));
}

/* a_lo * k_lo ^ a_hi * k_hi */
static inline TARGET_PMULL uint64x2_t fold(uint64x2_t a, uint64_t k_lo, uint64_t k_hi)
{
    return veorq_u64(clmul(vgetq_lane_u64(a, 0), k_lo), clmul(vgetq_lane_u64(a, 1), k_hi));
}

static inline uint64x2_t load(const unsigned char *p)
{
    return vreinterpretq_u64_u8(vld1q_u8(p));
}

TARGET_PMULL uint64_t osr_crc64_pmull_raw(uint64_t reg, const unsigned char *p, size_t n)
{
    uint64x2_t x0, x1, x2, x3, y, q;
    uint64_t q0;

    if (n < 16)
        return osr_crc64_portable_raw(reg, p, n);
    x0 = veorq_u64(load(p), vcombine_u64(vcreate_u64(reg), vcreate_u64(0)));
    p += 16;
    n -= 16;
    if (n >= 48) {
        x1 = load(p);
        x2 = load(p + 16);
        x3 = load(p + 32);
        p += 48;
        n -= 48;
        while (n >= 64) {
            x0 = veorq_u64(fold(x0, K512_LO, K512_HI), load(p));
            x1 = veorq_u64(fold(x1, K512_LO, K512_HI), load(p + 16));
            x2 = veorq_u64(fold(x2, K512_LO, K512_HI), load(p + 32));
            x3 = veorq_u64(fold(x3, K512_LO, K512_HI), load(p + 48));
            p += 64;
            n -= 64;
        }
        x2 = veorq_u64(x2, fold(x0, K256_LO, K256_HI));
        x3 = veorq_u64(x3, fold(x1, K256_LO, K256_HI));
        x0 = veorq_u64(x3, fold(x2, K128_LO, K128_HI));
    }
    while (n >= 16) {
        x0 = veorq_u64(fold(x0, K128_LO, K128_HI), load(p));
        p += 16;
        n -= 16;
    }
    /* Y = A * x^64, then Barrett (see crc64_x86.c) */
    y = veorq_u64(clmul(vgetq_lane_u64(x0, 0), K128_HI),
                  vcombine_u64(vget_high_u64(x0), vcreate_u64(0)));
    q = clmul(vgetq_lane_u64(y, 0), BARRETT_MU);
    q0 = vgetq_lane_u64(q, 0);
    y = veorq_u64(y, clmul(q0, BARRETT_P));
    reg = vgetq_lane_u64(y, 1) ^ q0;
    return n ? osr_crc64_portable_raw(reg, p, n) : reg;
}

#else /* no usable PMULL intrinsics in this build */

int osr_crc64_arm_has_pmull(void)
{
    return 0;
}

uint64_t osr_crc64_pmull_raw(uint64_t reg, const unsigned char *p, size_t n)
{
    return osr_crc64_portable_raw(reg, p, n);
}

#endif /* OSR_PMULL_BUILD */

#else /* not ARM64 */

/* ISO C forbids an empty translation unit */
typedef int osr_crc64_arm_unused;

#endif
