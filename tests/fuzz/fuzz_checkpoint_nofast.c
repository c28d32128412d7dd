/*
 * The checkpoint codec again, built without its fast path for <Part>
 * elements and under other names, so that the harness can check that the
 * fast path never changes a result.
 */
#define OSR_CP_FAST_PATH 0
#define osr_cp_load osr_cp_load_nofast
#define osr_cp_dump osr_cp_dump_nofast
#define osr_cp_validate osr_cp_validate_nofast
#include "../../csrc/checkpoint.c"
