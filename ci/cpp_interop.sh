#!/usr/bin/env bash
# Build the OSS C++ SDK and the two interoperability programs of ci/cpp_interop/.
#
#   ci/cpp_interop.sh SDK_SRC_DIR [BUILD_DIR]
#
# SDK_SRC_DIR: a checkout of github.com/aliyun/aliyun-oss-cpp-sdk (1.10.x).
# BUILD_DIR (default /tmp/ossresume-cpp-build): where the SDK and programs are
# built, outside the repository.  Debian 12: apt-get install cmake g++
# libcurl4-openssl-dev libssl-dev.  Prints the two programs' paths; run the
# interop tests with:
#   OSSRESUME_CPP_RESUMABLE=BUILD_DIR/resumable python -m pytest tests/test_cpp_interop.py
set -euo pipefail
src=$(cd "${1:?usage: ci/cpp_interop.sh SDK_SRC_DIR [BUILD_DIR]}" && pwd)
build=${2:-/tmp/ossresume-cpp-build}
here=$(cd "$(dirname "$0")/cpp_interop" && pwd)
mkdir -p "$build/sdk"
lib="$build/sdk/lib/libalibabacloud-oss-cpp-sdk.a"
if [ ! -f "$lib" ]; then
    # cmake >= 4 refuses the SDK's old cmake_minimum_required without the policy floor.
    cmake -S "$src" -B "$build/sdk" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
        -DBUILD_SAMPLE=OFF -DBUILD_TESTS=OFF -DCMAKE_POLICY_VERSION_MINIMUM=3.5 \
        -DCMAKE_CXX_FLAGS="-Wno-error=deprecated-declarations" >/dev/null
    cmake --build "$build/sdk" --target cpp-sdk -j "$(nproc)" >/dev/null
fi
[ -f "$lib" ] || { echo "SDK library not found: $lib" >&2; exit 1; }
flags=(-std=c++11 -O2 -I "$src/sdk/include" -I "$src/sdk/src/external" -I "$src/sdk/src")
libs=("$lib" -lcurl -lssl -lcrypto -lpthread)
g++ "${flags[@]}" "$here/resumable.cc" -o "$build/resumable" "${libs[@]}"
g++ "${flags[@]}" "$here/jsoncpp_vectors.cc" -o "$build/jsoncpp_vectors" "${libs[@]}"
echo "$build/resumable"
echo "$build/jsoncpp_vectors"
