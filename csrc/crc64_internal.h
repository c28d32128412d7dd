/*
 * crc64_internal.h - what crc64.c shares with the CPU-specific CRC-64 files.
 *
 * Every function here works on the CRC *register* (the inverted value:
 * reg = ~crc), so the public wrappers in crc64.c do the inversion once.
 * The table-driven function needs the tables built by crc64.c's one-time
 * initialisation; the public entry points guarantee that before they call
 * any of these.
 */
#ifndef OSR_CRC64_INTERNAL_H
#define OSR_CRC64_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#define OSR_CRC64_POLY_REFLECTED 0xC96C5795D7870F42ULL

typedef uint64_t (*osr_crc64_raw_fn)(uint64_t reg, const unsigned char *p, size_t n);

/* Table-driven (slicing-by-16), any length, any alignment. */
uint64_t osr_crc64_portable_raw(uint64_t reg, const unsigned char *p, size_t n);

#if defined(__x86_64__) || defined(_M_X64)
#define OSR_CRC64_X86 1
/* Bit set of OSR_X86_* the CPU and the OS support (cpuid + xgetbv). */
#define OSR_X86_PCLMUL 1u
#define OSR_X86_AVX2_VPCLMUL 2u
#define OSR_X86_AVX512_VPCLMUL 4u
unsigned osr_crc64_x86_features(void);
uint64_t osr_crc64_pclmul_raw(uint64_t reg, const unsigned char *p, size_t n);
uint64_t osr_crc64_avx2_raw(uint64_t reg, const unsigned char *p, size_t n);
uint64_t osr_crc64_avx512_raw(uint64_t reg, const unsigned char *p, size_t n);
#endif

#if defined(__aarch64__)
#define OSR_CRC64_ARM64 1
int osr_crc64_arm_has_pmull(void);
uint64_t osr_crc64_pmull_raw(uint64_t reg, const unsigned char *p, size_t n);
#endif

#endif
