"""The OSS C++ SDK's resumable upload sample (ResumableUploadObject with a
checkpoint directory), ported line by line.

    python examples/upload_cpp_style.py LOCAL_FILE [OBJECT_KEY] [CHECKPOINT_DIR]

Settings come from the environment: OSS_ENDPOINT, OSS_REGION, OSS_BUCKET,
OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET.  Run it again after an interruption
and it continues from the checkpoint in CHECKPOINT_DIR.
"""
from __future__ import annotations

import os
import sys

from ossresume_c.cpp import (ClientConfiguration, InitializeSdk, OssClient, ShutdownSdk,
                             SignatureVersionType, UploadObjectRequest)


def main(argv: list) -> int:
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[3].strip(), file=sys.stderr)
        return 2
    # std::string Endpoint = "...", Region = "...", BucketName = "...", ObjectName = "...";
    Endpoint = os.environ.get("OSS_ENDPOINT", "https://oss-cn-hangzhou.aliyuncs.com")
    Region = os.environ.get("OSS_REGION", "cn-hangzhou")
    BucketName = os.environ.get("OSS_BUCKET", "examplebucket")
    UploadFilePath = argv[1]
    ObjectName = argv[2] if len(argv) > 2 else "exampledir/" + os.path.basename(UploadFilePath)
    CheckpointFilePath = argv[3] if len(argv) > 3 else os.path.join(os.getcwd(), "checkpoints")

    InitializeSdk()

    conf = ClientConfiguration()
    conf.signatureVersion = SignatureVersionType.V4
    # credentials from the environment, as EnvironmentVariableCredentialsProvider does
    client = OssClient(Endpoint, os.environ.get("OSS_ACCESS_KEY_ID", ""),
                       os.environ.get("OSS_ACCESS_KEY_SECRET", ""), conf)
    client.SetRegion(Region)

    # UploadObjectRequest request(BucketName, ObjectName, UploadFilePath, CheckpointFilePath);
    request = UploadObjectRequest(BucketName, ObjectName, UploadFilePath, CheckpointFilePath)
    request.setPartSize(100 * 1024)
    request.setThreadNum(3)
    outcome = client.ResumableUploadObject(request)

    if not outcome.isSuccess():
        print("ResumableUploadObject fail"
              f",code:{outcome.error().Code()}"
              f",message:{outcome.error().Message()}"
              f",requestId:{outcome.error().RequestId()}")
        ShutdownSdk()
        return 1

    print(f"ResumableUploadObject success, ETag:{outcome.result().ETag()}, "
          f"requestId:{outcome.result().RequestId()}")
    ShutdownSdk()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
