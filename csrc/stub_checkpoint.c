/* TEMPORARY stubs so the module builds while checkpoint.c is written. */
#include "ossresume.h"
int64_t osr_cp_dump(const osr_checkpoint *cp, int f, char *o, int64_t cap) { (void)cp;(void)f;(void)o;(void)cap; return OSR_CP_EINVAL; }
int osr_cp_load(const char *d, int64_t l, osr_checkpoint *cp, char *e, int64_t ec) { (void)d;(void)l;(void)cp;(void)e;(void)ec; return OSR_CP_EINVAL; }
int osr_cp_validate(const osr_checkpoint *cp, char *e, int64_t ec) { (void)cp;(void)e;(void)ec; return OSR_CP_EINVAL; }
