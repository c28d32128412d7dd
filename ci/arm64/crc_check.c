/*
 * crc_check.c - runs the CRC-64 core on its own, for the ARM64 check under qemu-user.
 *
 * Usage: crc_check NAME=CRC... combine=A,B,LEN,AB
 * Each NAME is one input the vectors file describes (empty, check, ebs, a,
 * zeros_100k, ramp_1MiB), built here; CRC is its expected unsigned decimal.
 * Every vector is checked through the dispatched entry point and through every
 * implementation the CPU can run.  Then random buffers (random length, start
 * alignment, starting CRC and split point) must give the same value through
 * PMULL as through the portable path.  Exit 0 only when the dispatch chose
 * the implementation CRC_CHECK_EXPECT names (default pmull), no mismatch
 * occurred and every vector was known.
 */
#include "ossresume.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RANDOM_CASES 20000
#define MAX_LEN 70000

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t next_random(void)
{
    /* xorshift64*: enough spread for lengths, offsets and bytes */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

/* The input a vector names, in a malloc'd buffer (*len set); NULL if unknown. */
static unsigned char *vector_input(const char *name, size_t *len)
{
    static const char *const texts[][2] = {
        {"empty", ""},
        {"check", "123456789"},
        {"ebs", "This is a test of the emergency broadcast system."},
        {"a", "a"},
    };
    unsigned char *buf;
    size_t i;

    for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        if (strcmp(name, texts[i][0]) == 0) {
            *len = strlen(texts[i][1]);
            buf = malloc(*len + 1);
            if (buf != NULL)
                memcpy(buf, texts[i][1], *len + 1);
            return buf;
        }
    }
    if (strcmp(name, "zeros_100k") == 0) {
        *len = 102400;
        return calloc(*len, 1);
    }
    if (strcmp(name, "ramp_1MiB") == 0) {
        *len = 256 * 4096;
        buf = malloc(*len);
        for (i = 0; buf != NULL && i < *len; i++)
            buf[i] = (unsigned char)i;
        return buf;
    }
    return NULL;
}

static int find_impl(const char *name)
{
    int i;
    for (i = 0; i < osr_crc64_impl_count(); i++)
        if (strcmp(osr_crc64_impl_name(i), name) == 0)
            return i;
    return -1;
}

static int check_vector(const char *name, uint64_t want)
{
    size_t len;
    int i, bad = 0;
    unsigned char *buf = vector_input(name, &len);

    if (buf == NULL) {
        fprintf(stderr, "unknown vector %s\n", name);
        return 1;
    }
    if (osr_crc64_update(0, buf, len) != want) {
        fprintf(stderr, "vector %s: dispatched path wrong\n", name);
        bad = 1;
    }
    for (i = 0; i < osr_crc64_impl_count(); i++) {
        uint64_t got;
        if (!osr_crc64_impl_available(i))
            continue;
        got = osr_crc64_update_with(i, 0, buf, len);
        if (got != want) {
            fprintf(stderr, "vector %s: %s gives %llu, want %llu\n", name,
                    osr_crc64_impl_name(i), (unsigned long long)got, (unsigned long long)want);
            bad = 1;
        }
    }
    free(buf);
    return bad;
}

static int check_random(int pmull, int portable)
{
    unsigned char *base = malloc(MAX_LEN + 16);
    long case_no;
    size_t i;
    int bad = 0;

    if (base == NULL)
        return 1;
    for (case_no = 0; case_no < RANDOM_CASES && !bad; case_no++) {
        /* short lengths often (the tail paths), long ones sometimes (the folding loop) */
        size_t len = (size_t)(next_random() % (case_no % 4 == 0 ? MAX_LEN : 300));
        size_t offset = (size_t)(next_random() % 16);
        size_t split = len ? (size_t)(next_random() % (len + 1)) : 0;
        uint64_t seed = next_random(), a, b, whole_a, whole_b;
        unsigned char *p = base + offset;

        for (i = 0; i < len; i++)
            p[i] = (unsigned char)next_random();
        whole_a = osr_crc64_update_with(pmull, seed, p, len);
        whole_b = osr_crc64_update_with(portable, seed, p, len);
        a = osr_crc64_update_with(pmull, osr_crc64_update_with(pmull, seed, p, split),
                                  p + split, len - split);
        b = osr_crc64_update_with(portable, osr_crc64_update_with(portable, seed, p, split),
                                  p + split, len - split);
        if (whole_a != whole_b || a != b || a != whole_a) {
            fprintf(stderr, "random case %ld (len %zu, offset %zu, split %zu): pmull %llx/%llx,"
                    " portable %llx/%llx\n", case_no, len, offset, split,
                    (unsigned long long)whole_a, (unsigned long long)a,
                    (unsigned long long)whole_b, (unsigned long long)b);
            bad = 1;
        }
    }
    free(base);
    printf("random equivalence pmull == portable: %ld cases%s\n", case_no, bad ? " FAILED" : "");
    return bad;
}

int main(int argc, char **argv)
{
    int pmull = find_impl("pmull"), portable = find_impl("portable");
    int i, bad = 0, vectors = 0;
    const char *expect = getenv("CRC_CHECK_EXPECT");

    if (pmull < 0 || portable < 0) {
        fprintf(stderr, "this build has no pmull implementation (not an AArch64 build?)\n");
        return 2;
    }
    if (!osr_crc64_impl_available(pmull)) {
        fprintf(stderr, "the CPU does not report PMULL (HWCAP_PMULL): run qemu with -cpu max\n");
        return 2;
    }
    printf("dispatched implementation: %s\n", osr_crc64_impl_name(osr_crc64_impl_selected()));
    if (expect == NULL || expect[0] == '\0')
        expect = "pmull";
    if (osr_crc64_impl_selected() != find_impl(expect)) {
        fprintf(stderr, "the dispatch did not choose %s\n", expect);
        bad = 1;
    }
    for (i = 1; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (eq == NULL) {
            fprintf(stderr, "bad argument %s\n", argv[i]);
            return 2;
        }
        *eq = '\0';
        if (strcmp(argv[i], "combine") == 0) {
            unsigned long long ca, cb, lb, cab;
            if (sscanf(eq + 1, "%llu,%llu,%llu,%llu", &ca, &cb, &lb, &cab) != 4 ||
                osr_crc64_combine(ca, cb, lb) != cab) {
                fprintf(stderr, "combine vector wrong\n");
                bad = 1;
            }
        } else {
            bad |= check_vector(argv[i], strtoull(eq + 1, NULL, 10));
        }
        vectors++;
    }
    printf("vectors checked: %d%s\n", vectors, bad ? " (mismatch)" : "");
    if (vectors == 0) {
        fprintf(stderr, "no vectors given\n");
        return 2;
    }
    bad |= check_random(pmull, portable);
    printf("%s\n", bad ? "FAIL" : "OK");
    return bad;
}
