// Writes checkpoint records exactly as the OSS C++ SDK builds them (same
// Json::Value calls, same jsoncpp, same md5Sum rule), to check
// ossresume_c.cpp_checkpoint byte for byte (tests/data/cpp/jsoncpp_vectors.json).
//
// stdin: one JSON array per line, strings hex-encoded (any bytes):
//   ["u", bucket, key, filePath, mtime, uploadID, size, partSize]
//   ["d", bucket, key, filePath, mtime, size, partSize, [[partNumber, size, crc64], ...]]
// stdout: per line, the record's bytes in hex.
#include "json/json.h"
#include "utils/Utils.h"

#include <iostream>
#include <sstream>
#include <string>

using namespace AlibabaCloud::OSS;

static std::string unhex(const std::string &hex)
{
    std::string out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
}

static std::string tohex(const std::string &data)
{
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : data) {
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 15]);
    }
    return out;
}

int main()
{
    std::string line;
    while (std::getline(std::cin, line)) {
        Json::Value in;
        Json::CharReaderBuilder builder;
        std::string err;
        std::istringstream is(line);
        if (!Json::parseFromStream(builder, is, &in, &err)) {
            std::cerr << err << std::endl;
            return 1;
        }
        Json::Value root;
        if (in[0].asString() == "u") {
            root["opType"] = "ResumableUpload";
            root["uploadID"] = unhex(in[5].asString());
            root["filePath"] = unhex(in[3].asString());
            root["bucket"] = unhex(in[1].asString());
            root["key"] = unhex(in[2].asString());
            root["mtime"] = unhex(in[4].asString());
            root["size"] = in[6].asUInt64();
            root["partSize"] = in[7].asUInt64();
        } else {
            root["opType"] = "ResumableDownload";
            root["bucket"] = unhex(in[1].asString());
            root["key"] = unhex(in[2].asString());
            root["filePath"] = unhex(in[3].asString());
            root["mtime"] = unhex(in[4].asString());
            root["size"] = in[5].asUInt64();
            root["partSize"] = in[6].asUInt64();
            root["parts"].resize(0);
            for (Json::ArrayIndex i = 0; i < in[7].size(); i++) {
                root["parts"][i]["partNumber"] = in[7][i][0].asInt();
                root["parts"][i]["size"] = in[7][i][1].asInt64();
                root["parts"][i]["crc64"] = in[7][i][2].asUInt64();
            }
        }
        std::stringstream ss;
        ss << root;
        root["md5Sum"] = ComputeContentETag(ss);
        std::stringstream out;
        out << root;
        std::cout << tohex(out.str()) << std::endl;
    }
    return 0;
}
