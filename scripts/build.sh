#!/usr/bin/env bash
# build.sh - build albd in the project root, warnings as errors.
#
#   scripts/build.sh [extra configure arguments, e.g. --enable-asan --enable-ubsan]
#
# Always regenerates and reconfigures (autoreconf -fi && ./configure), then
# make -j$(nproc). The binary is src/albd.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

autoreconf -fi
./configure --enable-werror "$@"
make -j"$(nproc)"
