// A resumable upload or download with the OSS C++ SDK, for the interoperability
// tests (tests/test_cpp_interop.py) and for producing tests/data/cpp/.
//
//   resumable up|down ENDPOINT BUCKET KEY FILE CHECKPOINT_DIR PART_SIZE THREADS
//
// Keys come from OSS_ACCESS_KEY_ID / OSS_ACCESS_KEY_SECRET.  Prints one line:
// "OK <ETag> <CRC-64>" or "FAIL <code> <message>"; exit status 0 or 1.
#include <alibabacloud/oss/OssClient.h>

#include <cstdlib>
#include <iostream>
#include <string>

using namespace AlibabaCloud::OSS;

static std::string env(const char *name)
{
    const char *value = std::getenv(name);
    return value ? value : "";
}

static int fail(const OssError &error)
{
    std::cout << "FAIL " << error.Code() << " " << error.Message() << std::endl;
    return 1;
}

static int report(PutObjectOutcome outcome)
{
    if (!outcome.isSuccess())
        return fail(outcome.error());
    PutObjectResult result = outcome.result();  // CRC64() is not const
    std::cout << "OK " << result.ETag() << " " << result.CRC64() << std::endl;
    return 0;
}

static int report(const GetObjectOutcome &outcome)
{
    if (!outcome.isSuccess())
        return fail(outcome.error());
    const auto &meta = outcome.result().Metadata();
    std::cout << "OK " << meta.ETag() << " " << meta.CRC64() << std::endl;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 9) {
        std::cerr << "usage: " << argv[0]
                  << " up|down ENDPOINT BUCKET KEY FILE CHECKPOINT_DIR PART_SIZE THREADS" << std::endl;
        return 2;
    }
    const std::string mode = argv[1], endpoint = argv[2], bucket = argv[3], key = argv[4];
    const std::string file = argv[5], checkpointDir = argv[6];
    const uint64_t partSize = std::strtoull(argv[7], nullptr, 10);
    const uint32_t threads = static_cast<uint32_t>(std::strtoul(argv[8], nullptr, 10));

    InitializeSdk();
    int rc;
    {
        ClientConfiguration conf;
        OssClient client(endpoint, env("OSS_ACCESS_KEY_ID"), env("OSS_ACCESS_KEY_SECRET"), conf);
        if (mode == "up") {
            UploadObjectRequest request(bucket, key, file, checkpointDir, partSize, threads);
            rc = report(client.ResumableUploadObject(request));
        } else if (mode == "down") {
            DownloadObjectRequest request(bucket, key, file, checkpointDir, partSize, threads);
            rc = report(client.ResumableDownloadObject(request));
        } else {
            std::cerr << "mode must be up or down" << std::endl;
            rc = 2;
        }
    }
    ShutdownSdk();
    return rc;
}
