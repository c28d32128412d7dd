/*
 * crc64.c - CRC-64/XZ (ECMA-182 polynomial, reflected, init/xorout all ones).
 *
 * Guarantees:
 *  - osr_crc64_update() takes and returns *finished* values, so updates chain
 *    like zlib's crc32(); every implementation gives bit-identical results.
 *  - The portable path (slicing-by-16 tables) runs anywhere, any alignment,
 *    any byte order.  The CPU-specific paths (crc64_x86.c, crc64_arm.c) are
 *    used only when cpuid/HWCAP says this CPU and OS can run them.
 *  - Dispatch is set up exactly once (pthread_once / InitOnceExecuteOnce), so
 *    the first calls may come from several threads at the same time.
 *    OSSRESUME_CRC64_IMPL=<name> picks a specific path when it is available.
 *  - osr_crc64_combine() is O(log len_b) multiplications in GF(2)[x]/P.
 */
#include "ossresume.h"
#include "crc64_internal.h"

#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <pthread.h>
#endif

#define POLY OSR_CRC64_POLY_REFLECTED

/* ---- tables for the portable path --------------------------------------
 * tab[0][b] is the register after feeding byte b into a register holding 0;
 * tab[k][b] is the same followed by k zero bytes.  Slicing-by-16 then folds
 * 16 input bytes with 16 independent lookups. */
static uint64_t tab[16][256];

/* x^(8 * 2^k) mod P, reflected, for combine. */
static uint64_t xpow8[64];

/* a * b mod P in the reflected representation (bit 63 is x^0). */
static uint64_t mulmod(uint64_t a, uint64_t b)
{
    uint64_t prod = 0;
    uint64_t m;
    for (m = (uint64_t)1 << 63; m != 0; m >>= 1) {
        if (a & m) {
            prod ^= b;
            if ((a & (m - 1)) == 0)
                break;
        }
        b = (b & 1) ? (b >> 1) ^ POLY : b >> 1;  /* b *= x */
    }
    return prod;
}

static void build_tables(void)
{
    int b, k, bit;
    for (b = 0; b < 256; b++) {
        uint64_t reg = (uint64_t)b;
        for (bit = 0; bit < 8; bit++)
            reg = (reg & 1) ? (reg >> 1) ^ POLY : reg >> 1;
        tab[0][b] = reg;
    }
    for (k = 1; k < 16; k++)
        for (b = 0; b < 256; b++) {
            uint64_t prev = tab[k - 1][b];
            tab[k][b] = tab[0][prev & 0xff] ^ (prev >> 8);
        }
    xpow8[0] = (uint64_t)1 << (63 - 8);  /* x^8 */
    for (k = 1; k < 64; k++)
        xpow8[k] = mulmod(xpow8[k - 1], xpow8[k - 1]);
}

static inline uint64_t load_le64(const unsigned char *p)
{
    /* compilers turn this into one load on little-endian targets */
    return (uint64_t)p[0] | ((uint64_t)p[1] << 8) | ((uint64_t)p[2] << 16) |
           ((uint64_t)p[3] << 24) | ((uint64_t)p[4] << 32) | ((uint64_t)p[5] << 40) |
           ((uint64_t)p[6] << 48) | ((uint64_t)p[7] << 56);
}

uint64_t osr_crc64_portable_raw(uint64_t reg, const unsigned char *p, size_t n)
{
    while (n >= 16) {
        uint64_t a = reg ^ load_le64(p);
        uint64_t b = load_le64(p + 8);
        reg = tab[15][a & 0xff] ^ tab[14][(a >> 8) & 0xff] ^
              tab[13][(a >> 16) & 0xff] ^ tab[12][(a >> 24) & 0xff] ^
              tab[11][(a >> 32) & 0xff] ^ tab[10][(a >> 40) & 0xff] ^
              tab[9][(a >> 48) & 0xff] ^ tab[8][a >> 56] ^
              tab[7][b & 0xff] ^ tab[6][(b >> 8) & 0xff] ^
              tab[5][(b >> 16) & 0xff] ^ tab[4][(b >> 24) & 0xff] ^
              tab[3][(b >> 32) & 0xff] ^ tab[2][(b >> 40) & 0xff] ^
              tab[1][(b >> 48) & 0xff] ^ tab[0][b >> 56];
        p += 16;
        n -= 16;
    }
    while (n--)
        reg = tab[0][(reg ^ *p++) & 0xff] ^ (reg >> 8);
    return reg;
}

/* ---- implementation table and dispatch --------------------------------- */

struct impl {
    const char *name;
    osr_crc64_raw_fn fn;
};

static const struct impl impls[] = {
#ifdef OSR_CRC64_X86
    {"avx512_vpclmulqdq", osr_crc64_avx512_raw},
    {"avx2_vpclmulqdq", osr_crc64_avx2_raw},
    {"pclmulqdq", osr_crc64_pclmul_raw},
#endif
#ifdef OSR_CRC64_ARM64
    {"pmull", osr_crc64_pmull_raw},
#endif
    {"portable", osr_crc64_portable_raw},
};
#define N_IMPLS ((int)(sizeof impls / sizeof impls[0]))
#define PORTABLE_INDEX (N_IMPLS - 1)

static int impl_ok[N_IMPLS];
static int selected = PORTABLE_INDEX;

#if defined(__GNUC__) || defined(__clang__)
#define LOAD_INT(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE_INT(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#else
#define LOAD_INT(p) (*(volatile int *)(p))
#define STORE_INT(p, v) (*(volatile int *)(p) = (v))
#endif

static int cpu_can_run(const char *name)
{
#ifdef OSR_CRC64_X86
    unsigned f = osr_crc64_x86_features();
    if (strcmp(name, "avx512_vpclmulqdq") == 0)
        return (f & OSR_X86_AVX512_VPCLMUL) != 0;
    if (strcmp(name, "avx2_vpclmulqdq") == 0)
        return (f & OSR_X86_AVX2_VPCLMUL) != 0;
    if (strcmp(name, "pclmulqdq") == 0)
        return (f & OSR_X86_PCLMUL) != 0;
#endif
#ifdef OSR_CRC64_ARM64
    if (strcmp(name, "pmull") == 0)
        return osr_crc64_arm_has_pmull();
#endif
    return strcmp(name, "portable") == 0;
}

static void init_once(void)
{
    int i, best = PORTABLE_INDEX;
    const char *forced;

    build_tables();
    for (i = N_IMPLS - 1; i >= 0; i--) {
        impl_ok[i] = cpu_can_run(impls[i].name);
        if (impl_ok[i])
            best = i;
    }
    forced = getenv("OSSRESUME_CRC64_IMPL");
    if (forced != NULL && forced[0] != '\0') {
        for (i = 0; i < N_IMPLS; i++)
            if (impl_ok[i] && strcmp(forced, impls[i].name) == 0)
                best = i;
    }
    STORE_INT(&selected, best);
}

#ifdef _WIN32
static INIT_ONCE once_flag = INIT_ONCE_STATIC_INIT;
static BOOL CALLBACK init_once_win(PINIT_ONCE o, PVOID param, PVOID *ctx)
{
    (void)o;
    (void)param;
    (void)ctx;
    init_once();
    return TRUE;
}
static void ensure_init(void)
{
    InitOnceExecuteOnce(&once_flag, init_once_win, NULL, NULL);
}
#else
static pthread_once_t once_flag = PTHREAD_ONCE_INIT;
static void ensure_init(void)
{
    pthread_once(&once_flag, init_once);
}
#endif

int osr_crc64_impl_count(void)
{
    return N_IMPLS;
}

const char *osr_crc64_impl_name(int index)
{
    if (index < 0 || index >= N_IMPLS)
        return NULL;
    return impls[index].name;
}

int osr_crc64_impl_available(int index)
{
    if (index < 0 || index >= N_IMPLS)
        return 0;
    ensure_init();
    return impl_ok[index];
}

int osr_crc64_impl_selected(void)
{
    ensure_init();
    return LOAD_INT(&selected);
}

int osr_crc64_select(int index)
{
    ensure_init();
    if (index < 0 || index >= N_IMPLS || !impl_ok[index])
        return -1;
    STORE_INT(&selected, index);
    return 0;
}

uint64_t osr_crc64_update(uint64_t crc, const void *buf, size_t len)
{
    if (len == 0)
        return crc;
    ensure_init();
    return ~impls[LOAD_INT(&selected)].fn(~crc, (const unsigned char *)buf, len);
}

/* An index that is out of range or not runnable here falls back to the
 * portable path: the result is still right, and nothing faults. */
uint64_t osr_crc64_update_with(int index, uint64_t crc, const void *buf, size_t len)
{
    if (len == 0)
        return crc;
    ensure_init();
    if (index < 0 || index >= N_IMPLS || !impl_ok[index])
        index = PORTABLE_INDEX;
    return ~impls[index].fn(~crc, (const unsigned char *)buf, len);
}

/* crc(A+B) = crc(A) * x^(8 len_b) + crc(B) mod P: the all-ones init of B
 * and the xorout of A cancel, so finished values combine directly. */
uint64_t osr_crc64_combine(uint64_t crc_a, uint64_t crc_b, uint64_t len_b)
{
    int k;
    if (len_b == 0)
        return crc_a;
    ensure_init();
    for (k = 0; len_b != 0; k++, len_b >>= 1)
        if (len_b & 1)
            crc_a = mulmod(crc_a, xpow8[k]);
    return crc_a ^ crc_b;
}
