"""The OSS C SDK's resumable upload sample, ported line by line.

    python examples/upload_c_style.py LOCAL_FILE [OBJECT_KEY]

Settings come from the environment: OSS_ENDPOINT (e.g.
https://oss-cn-hangzhou.aliyuncs.com), OSS_REGION, OSS_BUCKET, and the
credentials OSS_ACCESS_KEY_ID / OSS_ACCESS_KEY_SECRET.  To try it locally:
`ossresume emulator --bucket examplebucket` prints the endpoint and key pair.
"""
from __future__ import annotations

import os
import sys

import ossresume_c as oss

ENDPOINT = os.environ.get("OSS_ENDPOINT", "https://oss-cn-hangzhou.aliyuncs.com")
REGION = os.environ.get("OSS_REGION", "cn-hangzhou")
BUCKET_NAME = os.environ.get("OSS_BUCKET", "examplebucket")


def init_options(options: oss.RequestOptions) -> None:
    # C: options->config = oss_config_create(options->pool); aos_str_set(&options->config->endpoint, ...)
    options.config = oss.config_create()
    options.config.endpoint = ENDPOINT
    options.config.access_key_id = os.environ.get("OSS_ACCESS_KEY_ID")
    options.config.access_key_secret = os.environ.get("OSS_ACCESS_KEY_SECRET")
    options.config.region = REGION
    options.config.signature_version = 4
    options.config.is_cname = False
    # C: options->ctl = aos_http_controller_create(options->pool, 0);
    options.ctl = oss.http_controller_create()


def main(argv: list) -> int:
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    filename = argv[1]
    object_name = argv[2] if len(argv) > 2 else "exampledir/" + os.path.basename(filename)

    # C: if (aos_http_io_initialize(NULL, 0) != AOSE_OK) exit(1);
    if oss.http_io_initialize(None, 0) != 0:
        return 1
    # C: aos_pool_create(&pool, NULL) -- Python manages memory: no pool.
    options = oss.request_options_create()
    init_options(options)

    # C: aos_str_set(&bucket, ...); aos_list_init(&resp_body); headers = aos_table_make(pool, 0);
    bucket, obj, file = BUCKET_NAME, object_name, filename
    resp_body: list = []
    headers: dict = {}
    resp_headers: dict = {}

    # C: clt_params = oss_create_resumable_clt_params_content(pool, 1024 * 100, 3, AOS_TRUE, NULL);
    clt_params = oss.create_resumable_clt_params(1024 * 100, 3, True, None)
    # C: resp_status = oss_resumable_upload_file(options, &bucket, &object, &file, headers, NULL,
    #                                            clt_params, NULL, &resp_headers, &resp_body);
    resp_status = oss.resumable_upload_file(options, bucket, obj, file, headers, None,
                                            clt_params, None, resp_headers, resp_body)
    if oss.status_is_ok(resp_status):
        print(f"resumable upload succeeded: oss://{bucket}/{obj} (request id {resp_status.req_id})")
        rc = 0
    else:
        print(f"resumable upload failed: code {resp_status.code}, error_code {resp_status.error_code}, "
              f"error_msg {resp_status.error_msg}, request id {resp_status.req_id}")
        rc = 1

    # C: aos_pool_destroy(pool); aos_http_io_deinitialize();
    oss.http_io_deinitialize()
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
