#!/bin/sh
# Builds the kernel adapter with gcc (no other dependency): adapters/linux/build/steerspec-linux.
# Without a C compiler it says so and exits 0: the kernel checks then skip with that reason, nothing else fails.
set -e
here=$(dirname "$0")
cc=${CC:-gcc}
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "adapters/linux: no C compiler ($cc): steerspec-linux not built, the kernel checks will be skipped" >&2
  exit 0
fi
mkdir -p "$here/build"
"$cc" -O2 -std=gnu11 -Wall -Wextra -o "$here/build/steerspec-linux" "$here/steerspec-linux.c"
