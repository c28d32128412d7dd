/*
 * checkpoint.c - the checkpoint codec: the OSS C SDK's checkpoint XML, byte for byte.
 *
 * Guarantees
 *  - osr_cp_dump writes exactly the bytes the C SDK writes for the same values
 *    (one line, no whitespace, "\n" at the end), optionally with <MD5> filled.
 *    It refuses (without writing a usable document) anything load would refuse:
 *    an inconsistent part layout, a string without NUL inside its array, a
 *    control character, invalid UTF-8.  No allocation; one pass.
 *  - osr_cp_load never reads outside data[0..len) nor writes outside *cp, the
 *    caller's parts[0..part_capacity) and err[0..err_cap), whatever the input.
 *    No allocation, bounded recursion (the schema is four levels deep), linear
 *    time.  It accepts a document only if every field is present once and
 *    valid (see "Accepted language" below); then dump(load(x)) reproduces x
 *    whenever x is in the canonical (C SDK) form.
 *
 * Accepted language (a strict subset of XML 1.0, lenient where that is harmless)
 *  - Optional declaration, exactly <?xml version="1.0" encoding="utf-8"?>,
 *    at byte 0.  Whitespace (space, tab, CR, LF) is allowed between elements
 *    and before the closing '>' or "/>" of a tag.  No attributes, comments,
 *    processing instructions, CDATA or DOCTYPE.  Nothing but whitespace after
 *    </Checkpoint>.  An empty document is invalid.
 *  - The elements are those of the C SDK's schema, each exactly once, in any
 *    order within their parent (Part repeats).  Unknown elements and
 *    duplicates are invalid (the C SDK keeps the first duplicate; a file with
 *    two values for one field is corrupt, so we refuse it).  Leaf elements may
 *    be self-closing (<Key/>) which means empty.
 *  - Text: UTF-8 (validated; no surrogates, no U+FFFE/U+FFFF), entities
 *    &amp; &lt; &gt; &quot; &apos; and numeric references &#N; / &#xH;.  Any
 *    control character (below 0x20, or 0x7f), raw or as a reference, is
 *    refused, as is "]]>".
 *  - Numbers are raw ASCII decimal digits (leading zeros allowed), no spaces,
 *    no entities, no sign except LocalFile/LastModified (a pre-1970 mtime may
 *    be negative).  Range: int64 (Crc64: uint64); Type and Completed must be
 *    0..2^31-1 here and 1..2 / 0..1 after validation.
 *
 * MD5: the lower-case hex MD5 of the document's exact bytes with the content
 * of the top-level <MD5> element removed (i.e. of the C SDK form "<MD5></MD5>",
 * declaration and final "\n" included).  Load checks it when the element is
 * not empty (32 hex digits, either case); an empty one (C SDK file) is accepted.
 *
 * Zero-byte file/object: <Number>0</Number>, a part size >= 1 and an empty
 * <Parts></Parts>.  Part size is always >= 1 (the C SDK divides by it).
 */
#include "ossresume.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define CP_DECL "<?xml version=\"1.0\" encoding=\"utf-8\"?>"

/* ------------------------------------------------------------------------ */
/* errors                                                                    */

static int fail(char *err, int64_t err_cap, int code, const char *fmt, ...)
{
    if (err != NULL && err_cap > 0) {
        size_t cap = err_cap > 4096 ? 4096 : (size_t)err_cap;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* ------------------------------------------------------------------------ */
/* characters                                                                */

/* Character classes: bit 1 = written verbatim by dump (printable ASCII but
 * & < > "), bit 2 = copied verbatim by load (printable ASCII but < & > ]). */
#define C_DUMP_PLAIN 1
#define C_LOAD_PLAIN 2
static const unsigned char CHARS[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    3, 3, 2, 3, 3, 3, 0, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 3, 0, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 1, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static int is_ws(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static int is_ctl(unsigned char c) { return c < 0x20 || c == 0x7f; }

/* Length (2..4) of the valid UTF-8 sequence starting at s[0] >= 0x80 within
 * avail bytes, or 0.  Refuses overlongs, surrogates, > U+10FFFF, and the XML
 * non-characters U+FFFE and U+FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    if (c >= 0xc2 && c <= 0xdf) {
        if (avail < 2 || (s[1] & 0xc0) != 0x80) return 0;
        return 2;
    }
    if (c >= 0xe0 && c <= 0xef) {
        unsigned char lo = 0x80, hi = 0xbf;
        if (avail < 3) return 0;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
        if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80) return 0;
        if (c == 0xef && s[1] == 0xbf && (s[2] == 0xbe || s[2] == 0xbf)) return 0;
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        unsigned char lo = 0x80, hi = 0xbf;
        if (avail < 4) return 0;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
        if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80) return 0;
        return 4;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* layout and string checks (shared by dump, load and validate)              */

static int check_layout(const osr_checkpoint *cp, char *err, int64_t err_cap)
{
    int64_t n = cp->part_count, ps = cp->part_size, total, sum = 0, k;

    if (cp->type != 1 && cp->type != 2)
        return fail(err, err_cap, OSR_CP_EINVAL, "Type %ld is neither 1 (upload) nor 2 (download)",
                    (long)cp->type);
    if (n < 0)
        return fail(err, err_cap, OSR_CP_EINVAL, "negative part count %lld", (long long)n);
    if (n > OSR_CP_MAX_PARTS)
        return fail(err, err_cap, OSR_CP_ELIMIT, "Number %lld exceeds %d parts", (long long)n,
                    OSR_CP_MAX_PARTS);
    if (n > cp->part_capacity || (n > 0 && cp->parts == NULL))
        return fail(err, err_cap, OSR_CP_ELIMIT, "%lld parts but room for %lld", (long long)n,
                    (long long)(cp->parts == NULL ? 0 : cp->part_capacity));
    if (ps < 1)
        return fail(err, err_cap, OSR_CP_EINVAL, "part size %lld is not positive", (long long)ps);
    if (cp->file_size < 0)
        return fail(err, err_cap, OSR_CP_EINVAL, "negative LocalFile/Size");
    if (cp->object_size < 0)
        return fail(err, err_cap, OSR_CP_EINVAL, "negative Object/Size");
    total = cp->type == 1 ? cp->file_size : cp->object_size;

    for (k = 0; k < n; k++) {
        const osr_cp_part *p = &cp->parts[k];
        if (p->index != k)
            return fail(err, err_cap, OSR_CP_EINVAL, "part slot %lld holds Index %lld", (long long)k,
                        (long long)p->index);
        /* k*ps overflows only if the layout is absurd: then it cannot match. */
        if (k > 0 && ps > INT64_MAX / k)
            return fail(err, err_cap, OSR_CP_EINVAL, "part %lld: offset overflows", (long long)k);
        if (p->offset != k * ps)
            return fail(err, err_cap, OSR_CP_EINVAL, "part %lld: Offset %lld != Index x Size %lld",
                        (long long)k, (long long)p->offset, (long long)(k * ps));
        if (k < n - 1 ? p->size != ps : (p->size < 1 || p->size > ps))
            return fail(err, err_cap, OSR_CP_EINVAL, "part %lld: Size %lld does not fit part size %lld",
                        (long long)k, (long long)p->size, (long long)ps);
        if (p->completed != 0 && p->completed != 1)
            return fail(err, err_cap, OSR_CP_EINVAL, "part %lld: Completed is %ld", (long long)k,
                        (long)p->completed);
        if (p->size > total - sum)
            return fail(err, err_cap, OSR_CP_EINVAL, "part sizes exceed the %s size %lld",
                        cp->type == 1 ? "file" : "object", (long long)total);
        sum += p->size;
    }
    if (sum != total)
        return fail(err, err_cap, OSR_CP_EINVAL, "part sizes sum to %lld, the %s size is %lld",
                    (long long)sum, cp->type == 1 ? "file" : "object", (long long)total);
    return OSR_CP_OK;
}

/* A struct string: NUL inside its array, no control character, valid UTF-8. */
static int check_str(const char *s, size_t cap, const char *what, char *err, int64_t err_cap)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < cap) {
        unsigned char c = u[i];
        if (c == 0) return OSR_CP_OK;
        if (c < 0x80) {
            if (is_ctl(c))
                return fail(err, err_cap, OSR_CP_EINVAL, "%s: control character 0x%02x", what, c);
            i++;
        } else {
            size_t m = utf8_seq(u + i, cap - i);
            if (m == 0) return fail(err, err_cap, OSR_CP_EINVAL, "%s: invalid UTF-8", what);
            i += m;
        }
    }
    return fail(err, err_cap, OSR_CP_ELIMIT, "%s: longer than %zu bytes", what, cap - 1);
}

static int check_strings(const osr_checkpoint *cp, char *err, int64_t err_cap)
{
    int rc;
    int64_t k;
#define CHK(field, name)                                                           \
    if ((rc = check_str(cp->field, sizeof cp->field, name, err, err_cap)) != 0) \
        return rc;
    CHK(md5, "MD5")
    CHK(file_path, "LocalFile/Path")
    CHK(file_md5, "LocalFile/MD5")
    CHK(object_key, "Object/Key")
    CHK(object_last_modified, "Object/LastModified")
    CHK(object_etag, "Object/ETag")
    CHK(upload_id, "UploadId")
#undef CHK
    for (k = 0; k < cp->part_count; k++)
        if ((rc = check_str(cp->parts[k].etag, sizeof cp->parts[k].etag, "Part/ETag", err, err_cap)) != 0)
            return rc;
    return OSR_CP_OK;
}

int osr_cp_validate(const osr_checkpoint *cp, char *err, int64_t err_cap)
{
    int rc;
    if (cp == NULL) return fail(err, err_cap, OSR_CP_EINVAL, "no checkpoint");
    if ((rc = check_layout(cp, err, err_cap)) != 0) return rc;
    return check_strings(cp, err, err_cap);
}

/* ------------------------------------------------------------------------ */
/* dump                                                                      */

typedef struct {
    char *buf;
    int64_t cap;
    int64_t len; /* bytes the document needs so far; past cap nothing is stored */
} writer;

static void put(writer *w, const char *s, size_t n)
{
    if (w->len <= w->cap - (int64_t)n) memcpy(w->buf + w->len, s, n);
    w->len += (int64_t)n;
}

#define PUTLIT(w, lit) put((w), (lit), sizeof(lit) - 1)

static const char DIGITS2[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

static void put_u64(writer *w, uint64_t v)
{
    char tmp[20];
    char *e, *s;
    size_t nd = 1;
    uint64_t t = v;
    while (t >= 10) {
        t /= 10;
        nd++;
    }
    /* digits go straight to the output when they fit */
    e = w->len <= w->cap - (int64_t)nd ? w->buf + w->len + nd : tmp + nd;
    s = e;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        s -= 2;
        s[0] = DIGITS2[2 * r];
        s[1] = DIGITS2[2 * r + 1];
    }
    if (v >= 10) {
        s -= 2;
        s[0] = DIGITS2[2 * v];
        s[1] = DIGITS2[2 * v + 1];
    } else {
        *--s = (char)('0' + v);
    }
    w->len += (int64_t)nd;
}

static void put_i64(writer *w, int64_t v)
{
    if (v < 0) {
        PUTLIT(w, "-");
        put_u64(w, (uint64_t)0 - (uint64_t)v);
    } else {
        put_u64(w, (uint64_t)v);
    }
}

/* Escapes & < > " and checks the string as check_str does. */
static int put_text(writer *w, const char *s, size_t cap, const char *what, char *err,
                    int64_t err_cap)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0;
    while (i < cap) {
        unsigned char c = u[i];
        if (CHARS[c] & C_DUMP_PLAIN) {
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t m = utf8_seq(u + i, cap - i);
            if (m == 0) return fail(err, err_cap, OSR_CP_EINVAL, "%s: invalid UTF-8", what);
            i += m;
            continue;
        }
        if (c == 0) {
            put(w, s + run, i - run);
            return OSR_CP_OK;
        }
        if (is_ctl(c))
            return fail(err, err_cap, OSR_CP_EINVAL, "%s: control character 0x%02x", what, c);
        if (c == '&' || c == '<' || c == '>' || c == '"') {
            put(w, s + run, i - run);
            switch (c) {
            case '&': PUTLIT(w, "&amp;"); break;
            case '<': PUTLIT(w, "&lt;"); break;
            case '>': PUTLIT(w, "&gt;"); break;
            default: PUTLIT(w, "&quot;"); break;
            }
            run = i + 1;
        }
        i++;
    }
    return fail(err, err_cap, OSR_CP_ELIMIT, "%s: longer than %zu bytes", what, cap - 1);
}

static void hex_lower(const unsigned char d[16], char out[32])
{
    static const char hx[] = "0123456789abcdef";
    int i;
    for (i = 0; i < 16; i++) {
        out[2 * i] = hx[d[i] >> 4];
        out[2 * i + 1] = hx[d[i] & 15];
    }
}

int64_t osr_cp_dump(const osr_checkpoint *cp, int fill_md5, char *out, int64_t cap, char *err,
                    int64_t err_cap)
{
    writer w;
    int64_t md5_at, k;
    int rc;

    if (cp == NULL) return fail(err, err_cap, OSR_CP_EINVAL, "no checkpoint");
    if (cap < 0 || (out == NULL && cap != 0))
        return fail(err, err_cap, OSR_CP_EINVAL, "bad output buffer");
    if ((rc = check_layout(cp, err, err_cap)) != 0) return rc;
    /* the MD5 as read is never written; it only has to be a sane string */
    if ((rc = check_str(cp->md5, sizeof cp->md5, "MD5", err, err_cap)) != 0) return rc;

    w.buf = out;
    w.cap = cap;
    w.len = 0;

#define TEXT(field, name)                                                                    \
    if ((rc = put_text(&w, cp->field, sizeof cp->field, name, err, err_cap)) != 0) return rc;

    PUTLIT(&w, CP_DECL "<Checkpoint><MD5>");
    md5_at = w.len;
    if (fill_md5) w.len += 32; /* filled in at the end */
    PUTLIT(&w, "</MD5><Type>");
    put_i64(&w, cp->type);
    PUTLIT(&w, "</Type><LocalFile><Path>");
    TEXT(file_path, "LocalFile/Path")
    PUTLIT(&w, "</Path><Size>");
    put_i64(&w, cp->file_size);
    PUTLIT(&w, "</Size><LastModified>");
    put_i64(&w, cp->file_mtime);
    PUTLIT(&w, "</LastModified><MD5>");
    TEXT(file_md5, "LocalFile/MD5")
    PUTLIT(&w, "</MD5></LocalFile><Object><Key>");
    TEXT(object_key, "Object/Key")
    PUTLIT(&w, "</Key><Size>");
    put_i64(&w, cp->object_size);
    PUTLIT(&w, "</Size><LastModified>");
    TEXT(object_last_modified, "Object/LastModified")
    PUTLIT(&w, "</LastModified><ETag>");
    TEXT(object_etag, "Object/ETag")
    PUTLIT(&w, "</ETag></Object><UploadId>");
    TEXT(upload_id, "UploadId")
    PUTLIT(&w, "</UploadId><CPParts><Number>");
    put_i64(&w, cp->part_count);
    PUTLIT(&w, "</Number><Size>");
    put_i64(&w, cp->part_size);
    PUTLIT(&w, "</Size><Parts>");
    for (k = 0; k < cp->part_count; k++) {
        const osr_cp_part *p = &cp->parts[k];
        PUTLIT(&w, "<Part><Index>");
        put_i64(&w, p->index);
        PUTLIT(&w, "</Index><Offset>");
        put_i64(&w, p->offset);
        PUTLIT(&w, "</Offset><Size>");
        put_i64(&w, p->size);
        if (p->completed)
            PUTLIT(&w, "</Size><Completed>1</Completed><ETag>");
        else
            PUTLIT(&w, "</Size><Completed>0</Completed><ETag>");
        if ((rc = put_text(&w, p->etag, sizeof p->etag, "Part/ETag", err, err_cap)) != 0)
            return rc;
        PUTLIT(&w, "</ETag><Crc64>");
        put_u64(&w, p->crc64);
        PUTLIT(&w, "</Crc64></Part>");
    }
    PUTLIT(&w, "</Parts></CPParts></Checkpoint>\n");
#undef TEXT

    if (w.len > cap) return -w.len; /* always < OSR_CP_ELIMIT: a document is > 4 bytes */
    if (fill_md5) {
        osr_md5_ctx ctx;
        unsigned char d[16];
        osr_md5_init(&ctx);
        osr_md5_update(&ctx, out, (size_t)md5_at);
        osr_md5_update(&ctx, out + md5_at + 32, (size_t)(w.len - md5_at - 32));
        osr_md5_final(&ctx, d);
        hex_lower(d, out + md5_at);
    }
    return w.len;
}

/* ------------------------------------------------------------------------ */
/* load                                                                      */

enum kind {
    K_STR,    /* char[size] at offset */
    K_MD5,    /* the top-level MD5: a string whose text span is remembered */
    K_I64,    /* non-negative int64 */
    K_SI64,   /* signed int64 */
    K_U64,    /* uint64 */
    K_I32,    /* non-negative int32 */
    K_NODE,   /* container with a fixed set of children */
    K_PARTS   /* the Parts container: Part elements only */
};

struct node;

typedef struct {
    const char *name;
    unsigned char name_len;
    unsigned char kind;
    unsigned short size;      /* K_STR/K_MD5: array size */
    size_t offset;            /* in osr_checkpoint, or in osr_cp_part for Part's children */
    const struct node *child; /* K_NODE */
} field;

typedef struct node {
    const char *name;
    size_t name_len;
    int nfields;
    const field *fields;
} node;

#define F(n, k, sz, st, m) {n, sizeof(n) - 1, k, sz, offsetof(st, m), NULL}
#define FN(n, nd) {n, sizeof(n) - 1, K_NODE, 0, 0, &nd}
#define FP(n) {n, sizeof(n) - 1, K_PARTS, 0, 0, NULL}
#define SZ(st, m) sizeof(((st *)0)->m)

static const field PART_FIELDS[] = {
    F("Index", K_I64, 0, osr_cp_part, index),
    F("Offset", K_I64, 0, osr_cp_part, offset),
    F("Size", K_I64, 0, osr_cp_part, size),
    F("Completed", K_I32, 0, osr_cp_part, completed),
    F("ETag", K_STR, SZ(osr_cp_part, etag), osr_cp_part, etag),
    F("Crc64", K_U64, 0, osr_cp_part, crc64),
};
static const node PART = {"Part", 4, 6, PART_FIELDS};

static const field LOCALFILE_FIELDS[] = {
    F("Path", K_STR, SZ(osr_checkpoint, file_path), osr_checkpoint, file_path),
    F("Size", K_I64, 0, osr_checkpoint, file_size),
    F("LastModified", K_SI64, 0, osr_checkpoint, file_mtime),
    F("MD5", K_STR, SZ(osr_checkpoint, file_md5), osr_checkpoint, file_md5),
};
static const node LOCALFILE = {"LocalFile", 9, 4, LOCALFILE_FIELDS};

static const field OBJECT_FIELDS[] = {
    F("Key", K_STR, SZ(osr_checkpoint, object_key), osr_checkpoint, object_key),
    F("Size", K_I64, 0, osr_checkpoint, object_size),
    F("LastModified", K_STR, SZ(osr_checkpoint, object_last_modified), osr_checkpoint,
      object_last_modified),
    F("ETag", K_STR, SZ(osr_checkpoint, object_etag), osr_checkpoint, object_etag),
};
static const node OBJECT = {"Object", 6, 4, OBJECT_FIELDS};

static const field CPPARTS_FIELDS[] = {
    F("Number", K_I64, 0, osr_checkpoint, part_count),
    F("Size", K_I64, 0, osr_checkpoint, part_size),
    FP("Parts"),
};
static const node CPPARTS = {"CPParts", 7, 3, CPPARTS_FIELDS};

static const field ROOT_FIELDS[] = {
    F("MD5", K_MD5, SZ(osr_checkpoint, md5), osr_checkpoint, md5),
    F("Type", K_I32, 0, osr_checkpoint, type),
    FN("LocalFile", LOCALFILE),
    FN("Object", OBJECT),
    F("UploadId", K_STR, SZ(osr_checkpoint, upload_id), osr_checkpoint, upload_id),
    FN("CPParts", CPPARTS),
};
static const node ROOT = {"Checkpoint", 10, 6, ROOT_FIELDS};

typedef struct {
    const unsigned char *p;
    int64_t n;
    int64_t i;
    osr_checkpoint *cp;
    int64_t nparts;             /* Part elements stored so far */
    int64_t md5_begin, md5_end; /* text span of the top-level MD5 */
    char *err;
    int64_t err_cap;
} parser;

static int perr(parser *ps, const char *what)
{
    return fail(ps->err, ps->err_cap, OSR_CP_EPARSE, "not a checkpoint at byte %lld: %s",
                (long long)ps->i, what);
}

static void skip_ws(parser *ps)
{
    while (ps->i < ps->n && is_ws(ps->p[ps->i])) ps->i++;
}

static int is_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.' || c == ':';
}

/* Reads a tag name at the cursor; returns its length (0 when none). */
static size_t scan_name(parser *ps)
{
    int64_t s = ps->i;
    while (ps->i < ps->n && is_name_char(ps->p[ps->i])) ps->i++;
    return (size_t)(ps->i - s);
}

/* After "<Name": whitespace then ">" (returns 0) or "/>" (returns 1), else -1. */
static int tag_end(parser *ps)
{
    skip_ws(ps);
    if (ps->i < ps->n && ps->p[ps->i] == '>') {
        ps->i++;
        return 0;
    }
    if (ps->n - ps->i >= 2 && ps->p[ps->i] == '/' && ps->p[ps->i + 1] == '>') {
        ps->i += 2;
        return 1;
    }
    return -1;
}

/* Expects "</name" S* ">" at the cursor. */
static int close_tag(parser *ps, const char *name, size_t len)
{
    if (ps->n - ps->i < (int64_t)len + 2 || ps->p[ps->i] != '<' || ps->p[ps->i + 1] != '/' ||
        memcmp(ps->p + ps->i + 2, name, len) != 0) {
        char msg[64];
        snprintf(msg, sizeof msg, "expected </%s>", name);
        return perr(ps, msg);
    }
    ps->i += (int64_t)len + 2;
    if (tag_end(ps) != 0) {
        char msg[64];
        snprintf(msg, sizeof msg, "expected </%s>", name);
        return perr(ps, msg);
    }
    return OSR_CP_OK;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* At '&': decodes one reference into out[0..4), returns its UTF-8 length or a
 * negative code. */
static int entity(parser *ps, unsigned char out[4])
{
    const unsigned char *p = ps->p + ps->i + 1;
    int64_t avail = ps->n - ps->i - 1, j;
    unsigned long cp = 0;

#define ENT(str, ch)                                                   \
    if (avail >= (int64_t)sizeof(str) - 1 && memcmp(p, str, sizeof(str) - 1) == 0) { \
        ps->i += (int64_t)sizeof(str);                                 \
        out[0] = ch;                                                   \
        return 1;                                                      \
    }
    ENT("amp;", '&')
    ENT("lt;", '<')
    ENT("gt;", '>')
    ENT("quot;", '"')
    ENT("apos;", '\'')
#undef ENT
    if (avail < 3 || p[0] != '#') return perr(ps, "unknown entity");
    if (p[1] == 'x') {
        for (j = 2; j < avail && hexval(p[j]) >= 0; j++) {
            cp = cp * 16 + (unsigned long)hexval(p[j]);
            if (cp > 0x10ffff) return perr(ps, "character reference out of range");
        }
        if (j == 2) return perr(ps, "bad character reference");
    } else {
        for (j = 1; j < avail && p[j] >= '0' && p[j] <= '9'; j++) {
            cp = cp * 10 + (unsigned long)(p[j] - '0');
            if (cp > 0x10ffff) return perr(ps, "character reference out of range");
        }
        if (j == 1) return perr(ps, "bad character reference");
    }
    if (j >= avail || p[j] != ';') return perr(ps, "bad character reference");
    if (cp < 0x20 || cp == 0x7f || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff)
        return perr(ps, "character reference to a forbidden character");
    ps->i += j + 2;
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xc0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xe0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (unsigned char)(0xf0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Bytes copied verbatim in character data: printable ASCII but < & > ]. */
static int plain(unsigned char c) { return CHARS[c] & C_LOAD_PLAIN; }

/* Character data up to the next '<', unescaped into dst[0..cap) with a NUL. */
static int read_text(parser *ps, char *dst, size_t cap, const char *name)
{
    size_t len = 0;
    int brackets = 0; /* raw ']' just before the cursor, to refuse "]]>" */
    while (ps->i < ps->n) {
        unsigned char c = ps->p[ps->i];
        unsigned char buf[4];
        const unsigned char *src = ps->p + ps->i;
        size_t m;
        if (plain(c)) {
            int64_t j = ps->i + 1;
            while (j < ps->n && plain(ps->p[j])) j++;
            m = (size_t)(j - ps->i);
            ps->i = j;
            brackets = 0;
        } else if (c == '<') {
            break;
        } else if (c == '&') {
            int r = entity(ps, buf);
            if (r < 0) return r;
            src = buf;
            m = (size_t)r;
            brackets = 0;
        } else if (c == ']') {
            brackets++;
            m = 1;
            ps->i++;
        } else if (c == '>') {
            if (brackets >= 2) return perr(ps, "']]>' in text");
            brackets = 0;
            m = 1;
            ps->i++;
        } else if (c < 0x80) {
            return perr(ps, "control character");
        } else {
            m = utf8_seq(src, (size_t)(ps->n - ps->i));
            if (m == 0) return perr(ps, "invalid UTF-8");
            ps->i += (int64_t)m;
            brackets = 0;
        }
        if (m > cap - 1 - len)
            return fail(ps->err, ps->err_cap, OSR_CP_ELIMIT, "%s longer than %zu bytes", name,
                        cap - 1);
        memcpy(dst + len, src, m);
        len += m;
    }
    dst[len] = 0;
    return OSR_CP_OK;
}

/* Raw decimal digits up to the next '<' (sign only when allowed). */
static int read_number(parser *ps, enum kind k, void *dst, const char *name)
{
    const unsigned char *p = ps->p;
    int neg = 0;
    uint64_t v = 0, limit;
    int64_t start, i = ps->i, n = ps->n;
    if (k == K_SI64 && i < n && p[i] == '-') {
        neg = 1;
        i++;
    }
    start = i;
    /* 19 digits cannot overflow a uint64; beyond that, check each step */
    while (i < n && i - start < 19 && p[i] >= '0' && p[i] <= '9') v = v * 10 + (unsigned)(p[i++] - '0');
    while (i < n && p[i] >= '0' && p[i] <= '9') {
        unsigned d = (unsigned)(p[i++] - '0');
        if (v > UINT64_MAX / 10 || (v == UINT64_MAX / 10 && d > UINT64_MAX % 10)) {
            ps->i = i;
            return fail(ps->err, ps->err_cap, OSR_CP_EINVAL, "%s out of range", name);
        }
        v = v * 10 + d;
    }
    ps->i = i;
    if (i == start || i >= n || p[i] != '<')
        return fail(ps->err, ps->err_cap, OSR_CP_EINVAL, "%s is not a decimal number", name);
    limit = k == K_U64 ? UINT64_MAX
          : k == K_I32 ? (uint64_t)INT32_MAX
          : neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
    if (v > limit) return fail(ps->err, ps->err_cap, OSR_CP_EINVAL, "%s out of range", name);
    switch (k) {
    case K_I32: *(int32_t *)dst = (int32_t)v; break;
    case K_U64: *(uint64_t *)dst = v; break;
    case K_SI64:
        *(int64_t *)dst = neg ? (v == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)v) : (int64_t)v;
        break;
    default: *(int64_t *)dst = (int64_t)v; break;
    }
    return OSR_CP_OK;
}

static int parse_children(parser *ps, const node *nd, char *base);

#ifndef OSR_CP_FAST_PATH
#define OSR_CP_FAST_PATH 1
#endif

#if OSR_CP_FAST_PATH
/* Matches literal s at q (advancing q) or leaves q alone. */
#define LIT(s) \
    (end - q >= (int64_t)sizeof(s) - 1 && memcmp(q, s, sizeof(s) - 1) == 0 ? (q += sizeof(s) - 1, 1) : 0)

/* Up to 20 digits fitting a uint64, followed by '<'; NULL otherwise. */
static const unsigned char *fast_digits(const unsigned char *q, const unsigned char *end, uint64_t *v)
{
    const unsigned char *s = q;
    uint64_t x = 0;
    while (q < end && q - s < 19 && *q >= '0' && *q <= '9') x = x * 10 + (unsigned)(*q++ - '0');
    if (q < end && *q >= '0' && *q <= '9') {
        unsigned d = (unsigned)(*q++ - '0');
        if (x > UINT64_MAX / 10 || (x == UINT64_MAX / 10 && d > UINT64_MAX % 10)) return NULL;
        x = x * 10 + d;
    }
    if (q == s || q >= end || *q != '<') return NULL;
    *v = x;
    return q;
}

/* One <Part> exactly as the C SDK writes it (in slot, which is in bounds).
 * Returns 1 after a full match; 0, with the cursor unmoved, for anything else
 * - the general parser then decides, so this only speeds up documents it
 * would accept with the same values (fuzzed against a build without it). */
static int fast_part(parser *ps, osr_cp_part *slot)
{
    const unsigned char *q = ps->p + ps->i, *end = ps->p + ps->n;
    uint64_t v;
    size_t len = 0;
    if (!LIT("<Part><Index>") || (q = fast_digits(q, end, &v)) == NULL || v > INT64_MAX) return 0;
    slot->index = (int64_t)v;
    if (!LIT("</Index><Offset>") || (q = fast_digits(q, end, &v)) == NULL || v > INT64_MAX) return 0;
    slot->offset = (int64_t)v;
    if (!LIT("</Offset><Size>") || (q = fast_digits(q, end, &v)) == NULL || v > INT64_MAX) return 0;
    slot->size = (int64_t)v;
    if (!LIT("</Size><Completed>") || end - q < 1 || (*q != '0' && *q != '1')) return 0;
    slot->completed = *q++ - '0';
    if (!LIT("</Completed><ETag>")) return 0;
    while (q < end && *q != '<') {
        if (len >= sizeof slot->etag - 1) return 0;
        if (plain(*q))
            slot->etag[len++] = (char)*q++;
        else if (LIT("&quot;"))
            slot->etag[len++] = '"';
        else
            return 0;
    }
    slot->etag[len] = 0;
    if (!LIT("</ETag><Crc64>") || (q = fast_digits(q, end, &v)) == NULL) return 0;
    slot->crc64 = v;
    if (!LIT("</Crc64></Part>")) return 0;
    ps->i = q - ps->p;
    return 1;
}
#undef LIT
#endif

/* After "<Parts>": Part elements only, stored in document order. */
static int parse_parts(parser *ps)
{
    osr_checkpoint *cp = ps->cp;
    for (;;) {
        size_t nl;
        int rc, selfclose;
        skip_ws(ps);
#if OSR_CP_FAST_PATH
        if (ps->nparts < OSR_CP_MAX_PARTS && ps->nparts < cp->part_capacity &&
            fast_part(ps, &cp->parts[ps->nparts])) {
            ps->nparts++;
            continue;
        }
#endif
        if (ps->i >= ps->n) return perr(ps, "unexpected end inside <Parts>");
        if (ps->p[ps->i] != '<') return perr(ps, "text inside <Parts>");
        if (ps->i + 1 < ps->n && ps->p[ps->i + 1] == '/') return close_tag(ps, "Parts", 5);
        ps->i++;
        nl = scan_name(ps);
        if (nl != 4 || memcmp(ps->p + ps->i - 4, "Part", 4) != 0)
            return perr(ps, "only <Part> may appear inside <Parts>");
        selfclose = tag_end(ps);
        if (selfclose < 0) return perr(ps, "bad <Part> tag");
        if (selfclose) return perr(ps, "empty <Part/>");
        if (ps->nparts >= OSR_CP_MAX_PARTS || ps->nparts >= cp->part_capacity)
            return fail(ps->err, ps->err_cap, OSR_CP_ELIMIT, "more than %lld Part elements",
                        (long long)(cp->part_capacity < OSR_CP_MAX_PARTS ? cp->part_capacity
                                                                         : OSR_CP_MAX_PARTS));
        rc = parse_children(ps, &PART, (char *)&cp->parts[ps->nparts]);
        if (rc) return rc;
        ps->nparts++;
    }
}

/* After "<Name>" of a container: its children, then "</Name>". */
static int parse_children(parser *ps, const node *nd, char *base)
{
    uint32_t seen = 0;
    int next = 0; /* the child expected in canonical order: tried first */
    for (;;) {
        const field *f = NULL;
        size_t nl;
        int fi, selfclose, rc;
        const unsigned char *name;

        skip_ws(ps);
        if (ps->i >= ps->n) return perr(ps, "unexpected end of document");
        if (ps->p[ps->i] != '<') return perr(ps, "text between elements");
        if (ps->i + 1 < ps->n && ps->p[ps->i + 1] == '/') {
            if ((rc = close_tag(ps, nd->name, nd->name_len)) != 0) return rc;
            if (seen != (1u << nd->nfields) - 1) {
                for (fi = 0; fi < nd->nfields; fi++)
                    if (!(seen & (1u << fi))) break;
                return fail(ps->err, ps->err_cap, OSR_CP_EPARSE, "<%s> lacks <%s>", nd->name,
                            nd->fields[fi].name);
            }
            return OSR_CP_OK;
        }
        ps->i++;
        name = ps->p + ps->i;
        nl = scan_name(ps);
        if (nl == 0) return perr(ps, "markup that is not an element");
        if (next < nd->nfields && nd->fields[next].name_len == nl &&
            memcmp(nd->fields[next].name, name, nl) == 0) {
            fi = next;
        } else {
            for (fi = 0; fi < nd->nfields; fi++)
                if (nd->fields[fi].name_len == nl && memcmp(nd->fields[fi].name, name, nl) == 0)
                    break;
            if (fi == nd->nfields) {
                return fail(ps->err, ps->err_cap, OSR_CP_EPARSE,
                            "unknown element <%.*s> in <%s> at byte %lld", nl > 40 ? 40 : (int)nl,
                            (const char *)name, nd->name, (long long)(name - ps->p));
            }
        }
        f = &nd->fields[fi];
        if (seen & (1u << fi))
            return fail(ps->err, ps->err_cap, OSR_CP_EPARSE, "duplicate <%s> in <%s>", f->name,
                        nd->name);
        seen |= 1u << fi;
        next = fi + 1;

        selfclose = tag_end(ps);
        if (selfclose < 0) return perr(ps, "attributes or a bad character in a tag");
        switch (f->kind) {
        case K_NODE:
            if (selfclose) return fail(ps->err, ps->err_cap, OSR_CP_EPARSE, "empty <%s/>", f->name);
            rc = parse_children(ps, f->child, base);
            break;
        case K_PARTS:
            rc = selfclose ? OSR_CP_OK : parse_parts(ps);
            break;
        case K_STR:
        case K_MD5:
            if (f->kind == K_MD5) ps->md5_begin = ps->md5_end = ps->i;
            if (selfclose) {
                base[f->offset] = 0;
                rc = OSR_CP_OK;
                break;
            }
            rc = read_text(ps, base + f->offset, f->size, f->name);
            if (f->kind == K_MD5) ps->md5_end = ps->i;
            if (rc == OSR_CP_OK) rc = close_tag(ps, f->name, f->name_len);
            break;
        default:
            if (selfclose)
                return fail(ps->err, ps->err_cap, OSR_CP_EINVAL, "%s is empty", f->name);
            rc = read_number(ps, (enum kind)f->kind, base + f->offset, f->name);
            if (rc == OSR_CP_OK) rc = close_tag(ps, f->name, f->name_len);
            break;
        }
        if (rc) return rc;
    }
}

/* parts[] are in document order; put each at its Index (O(n) swaps, no memory). */
static int place_parts(parser *ps)
{
    osr_cp_part *parts = ps->cp->parts;
    int64_t n = ps->nparts, k;
    if (ps->cp->part_count != n)
        return fail(ps->err, ps->err_cap, OSR_CP_EINVAL, "Number is %lld but there are %lld parts",
                    (long long)ps->cp->part_count, (long long)n);
    for (k = 0; k < n; k++) {
        while (parts[k].index != k) {
            int64_t j = parts[k].index;
            osr_cp_part tmp;
            if (j < 0 || j >= n)
                return fail(ps->err, ps->err_cap, OSR_CP_EINVAL, "Index %lld out of range 0..%lld",
                            (long long)j, (long long)(n - 1));
            if (parts[j].index == j)
                return fail(ps->err, ps->err_cap, OSR_CP_EINVAL, "duplicate Index %lld",
                            (long long)j);
            tmp = parts[j];
            parts[j] = parts[k];
            parts[k] = tmp;
        }
    }
    return OSR_CP_OK;
}

static int check_md5(parser *ps)
{
    const unsigned char *m = ps->p + ps->md5_begin;
    int64_t len = ps->md5_end - ps->md5_begin, i;
    osr_md5_ctx ctx;
    unsigned char d[16];
    char hex[32];
    if (ps->cp->md5[0] == 0) return OSR_CP_OK; /* the C SDK never fills it */
    /* the element's text must be the digest itself, not entities spelling it */
    if (len != 32) return fail(ps->err, ps->err_cap, OSR_CP_EMD5, "MD5 is not 32 hex digits");
    for (i = 0; i < 32; i++)
        if (hexval(m[i]) < 0) return fail(ps->err, ps->err_cap, OSR_CP_EMD5, "MD5 is not 32 hex digits");
    osr_md5_init(&ctx);
    osr_md5_update(&ctx, ps->p, (size_t)ps->md5_begin);
    osr_md5_update(&ctx, ps->p + ps->md5_end, (size_t)(ps->n - ps->md5_end));
    osr_md5_final(&ctx, d);
    hex_lower(d, hex);
    for (i = 0; i < 32; i++) {
        unsigned char c = m[i];
        if (c >= 'A' && c <= 'F') c = (unsigned char)(c - 'A' + 'a');
        if (c != (unsigned char)hex[i])
            return fail(ps->err, ps->err_cap, OSR_CP_EMD5, "MD5 mismatch: document hashes to %.32s",
                        hex);
    }
    return OSR_CP_OK;
}

int osr_cp_load(const char *data, int64_t len, osr_checkpoint *cp, char *err, int64_t err_cap)
{
    parser ps;
    int rc, selfclose;
    osr_cp_part *parts;
    int64_t capacity;

    if (err != NULL && err_cap > 0) err[0] = 0;
    if (cp == NULL || len < 0 || (data == NULL && len > 0))
        return fail(err, err_cap, OSR_CP_EINVAL, "bad arguments");
    parts = cp->parts;
    capacity = parts == NULL || cp->part_capacity < 0 ? 0 : cp->part_capacity;
    memset(cp, 0, sizeof *cp);
    cp->parts = parts;
    cp->part_capacity = capacity;
    if (len == 0) return fail(err, err_cap, OSR_CP_EPARSE, "empty checkpoint");

    ps.p = (const unsigned char *)data;
    ps.n = len;
    ps.i = 0;
    ps.cp = cp;
    ps.nparts = 0;
    ps.md5_begin = ps.md5_end = 0;
    ps.err = err;
    ps.err_cap = err_cap;

    if (len >= 5 && memcmp(data, "<?xml", 5) == 0) {
        if (len < (int64_t)sizeof(CP_DECL) - 1 || memcmp(data, CP_DECL, sizeof(CP_DECL) - 1) != 0)
            return perr(&ps, "XML declaration other than " CP_DECL);
        ps.i = sizeof(CP_DECL) - 1;
    }
    skip_ws(&ps);
    if (ps.n - ps.i < 11 || memcmp(ps.p + ps.i, "<Checkpoint", 11) != 0)
        return perr(&ps, "expected <Checkpoint>");
    ps.i += 11;
    selfclose = tag_end(&ps);
    if (selfclose != 0) return perr(&ps, selfclose > 0 ? "empty <Checkpoint/>" : "expected <Checkpoint>");
    if ((rc = parse_children(&ps, &ROOT, (char *)cp)) != 0) return rc;
    skip_ws(&ps);
    if (ps.i != ps.n) return perr(&ps, "content after </Checkpoint>");

    if ((rc = check_md5(&ps)) != 0) return rc;
    if ((rc = place_parts(&ps)) != 0) return rc;
    return check_layout(cp, err, err_cap);
}
