#!/bin/sh
# Builds the kernel adapter: gcc only, no other dependency. Output: adapters/linux/build/steerspec-linux
set -e
here=$(dirname "$0")
mkdir -p "$here/build"
${CC:-gcc} -O2 -std=gnu11 -Wall -Wextra -Wno-return-type -o "$here/build/steerspec-linux" "$here/steerspec-linux.c"
