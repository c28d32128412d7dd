/*
 * csdk_upload.c - the official OSS C SDK's resumable upload of one file, for bench_wire.py.
 *
 * Usage: csdk_upload ENDPOINT FILE PART_SIZE THREADS
 * Calls oss_resumable_upload_file (checkpoint off, CRC-64 on: the SDK's defaults apart
 * from the checkpoint) to bucket "bench", object "object", as ossresume_c's row does.
 * Built by bench_wire.py against the SDK's sources only when --csdk-src (or
 * OSSRESUME_CSDK_SRC) names a checkout of github.com/aliyun/aliyun-oss-c-sdk.
 * Exit status 0 when the SDK reports success.
 */
#include <stdio.h>
#include <stdlib.h>

#include "aos_http_io.h"
#include "aos_log.h"
#include "oss_api.h"

int main(int argc, char **argv)
{
    aos_pool_t *pool = NULL;
    oss_request_options_t *options;
    oss_resumable_clt_params_t *params;
    aos_string_t bucket, object, file;
    aos_table_t *resp_headers = NULL;
    aos_list_t resp_body;
    aos_status_t *s;
    int ok;

    if (argc != 5) {
        fprintf(stderr, "usage: csdk_upload ENDPOINT FILE PART_SIZE THREADS\n");
        return 2;
    }
    if (aos_http_io_initialize(NULL, 0) != AOSE_OK)
        return 1;
    aos_log_set_level(AOS_LOG_ERROR);
    aos_pool_create(&pool, NULL);
    options = oss_request_options_create(pool);
    options->config = oss_config_create(pool);
    aos_str_set(&options->config->endpoint, argv[1]);
    aos_str_set(&options->config->access_key_id, "bench");
    aos_str_set(&options->config->access_key_secret, "bench");
    options->config->is_cname = 0;
    options->ctl = aos_http_controller_create(pool, 0);
    aos_str_set(&bucket, "bench");
    aos_str_set(&object, "object");
    aos_str_set(&file, argv[2]);
    aos_list_init(&resp_body);
    params = oss_create_resumable_clt_params_content(pool, atoll(argv[3]), atoi(argv[4]), AOS_FALSE,
                                                     NULL);
    s = oss_resumable_upload_file(options, &bucket, &object, &file, aos_table_make(pool, 0), NULL,
                                  params, NULL, &resp_headers, &resp_body);
    ok = aos_status_is_ok(s);
    if (!ok)
        fprintf(stderr, "csdk_upload: %d %s %s\n", s->code, s->error_code ? s->error_code : "",
                s->error_msg ? s->error_msg : "");
    aos_pool_destroy(pool);
    aos_http_io_deinitialize();
    return ok ? 0 : 1;
}
