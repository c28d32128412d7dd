/*
 * libFuzzer harness for the checkpoint codec (csrc/checkpoint.c), built with
 * AddressSanitizer and UBSan by ci/fuzz_checkpoint.sh.
 *
 * For every input: osr_cp_load must not touch memory outside the input, the
 * parts array (allocated with exactly the slots the Python face would give)
 * and the error buffer; its reason must be a NUL-terminated line; the build
 * without the fast path must return the same code and values.  When the input
 * is a valid checkpoint: it validates, dumps (with and without MD5, into a
 * buffer of exactly the reported size), and the dump loads back to the same
 * values and dumps to the same bytes again.
 */
#include "ossresume.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int osr_cp_load_nofast(const char *data, int64_t len, osr_checkpoint *cp, char *err,
                       int64_t err_cap);

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                          \
        }                                                                     \
    } while (0)

/* Slots the Python face allocates: the number of "<Part" in the input. */
static int64_t slots_for(const uint8_t *d, size_t n)
{
    int64_t count = 0;
    size_t i;
    for (i = 0; i + 5 <= n; i++)
        if (memcmp(d + i, "<Part", 5) == 0) count++;
    if (count > OSR_CP_MAX_PARTS) count = OSR_CP_MAX_PARTS;
    return count < 1 ? 1 : count;
}

static void same(const osr_checkpoint *a, const osr_checkpoint *b, int with_md5)
{
    int64_t k;
    if (with_md5) CHECK(strcmp(a->md5, b->md5) == 0);
    CHECK(a->type == b->type);
    CHECK(strcmp(a->file_path, b->file_path) == 0);
    CHECK(a->file_size == b->file_size && a->file_mtime == b->file_mtime);
    CHECK(strcmp(a->file_md5, b->file_md5) == 0);
    CHECK(strcmp(a->object_key, b->object_key) == 0);
    CHECK(a->object_size == b->object_size);
    CHECK(strcmp(a->object_last_modified, b->object_last_modified) == 0);
    CHECK(strcmp(a->object_etag, b->object_etag) == 0);
    CHECK(strcmp(a->upload_id, b->upload_id) == 0);
    CHECK(a->part_count == b->part_count && a->part_size == b->part_size);
    for (k = 0; k < a->part_count; k++) {
        const osr_cp_part *p = &a->parts[k], *q = &b->parts[k];
        CHECK(p->index == q->index && p->offset == q->offset && p->size == q->size);
        CHECK(p->completed == q->completed && p->crc64 == q->crc64);
        CHECK(strcmp(p->etag, q->etag) == 0);
    }
}

/* dump into a heap buffer of exactly the needed size; returns it (caller frees) */
static char *dump_exact(const osr_checkpoint *cp, int fill_md5, int64_t *len)
{
    char err[200];
    int64_t need = osr_cp_dump(cp, fill_md5, NULL, 0, err, sizeof err);
    char *out;
    CHECK(need < OSR_CP_ELIMIT); /* a valid checkpoint always dumps */
    out = malloc((size_t)-need);
    CHECK(out != NULL);
    *len = osr_cp_dump(cp, fill_md5, out, -need, err, sizeof err);
    CHECK(*len == -need);
    CHECK(out[*len - 1] == '\n');
    return out;
}

static void round_trip(const osr_checkpoint *cp, int fill_md5)
{
    int64_t len, len2, slots = cp->part_count < 1 ? 1 : cp->part_count;
    char err[200];
    char *doc = dump_exact(cp, fill_md5, &len), *doc2;
    osr_checkpoint back;
    back.parts = malloc((size_t)slots * sizeof(osr_cp_part));
    back.part_capacity = slots;
    CHECK(back.parts != NULL);
    CHECK(osr_cp_load(doc, len, &back, err, sizeof err) == OSR_CP_OK);
    same(cp, &back, 0);
    CHECK(fill_md5 ? strlen(back.md5) == 32 : back.md5[0] == 0);
    doc2 = dump_exact(&back, fill_md5, &len2);
    CHECK(len2 == len && memcmp(doc, doc2, (size_t)len) == 0);
    free(doc2);
    free(back.parts);
    free(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t slots = slots_for(data, size);
    osr_checkpoint cp, cp2;
    char err[96], err2[96];
    int rc, rc2;
    const char *nul;
    size_t e;

    cp.parts = malloc((size_t)slots * sizeof(osr_cp_part));
    cp2.parts = malloc((size_t)slots * sizeof(osr_cp_part));
    CHECK(cp.parts != NULL && cp2.parts != NULL);
    cp.part_capacity = cp2.part_capacity = slots;

    rc = osr_cp_load((const char *)data, (int64_t)size, &cp, err, sizeof err);
    rc2 = osr_cp_load_nofast((const char *)data, (int64_t)size, &cp2, err2, sizeof err2);
    CHECK(rc == rc2);
    CHECK(rc == OSR_CP_OK || rc == OSR_CP_EINVAL || rc == OSR_CP_EPARSE || rc == OSR_CP_EMD5 ||
          rc == OSR_CP_ELIMIT);
    nul = memchr(err, 0, sizeof err);
    CHECK(nul != NULL);
    e = (size_t)(nul - err);
    CHECK(memchr(err, '\n', e) == NULL);
    CHECK(rc == OSR_CP_OK ? e == 0 : e > 0);
    if (rc == OSR_CP_OK) {
        same(&cp, &cp2, 1);
        CHECK(osr_cp_validate(&cp, err, sizeof err) == OSR_CP_OK);
        round_trip(&cp, 0);
        round_trip(&cp, 1);
    } else {
        CHECK(strcmp(err, err2) == 0);
    }
    free(cp.parts);
    free(cp2.parts);
    return 0;
}
