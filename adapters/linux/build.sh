#!/bin/sh
# Builds the kernel adapters into adapters/linux/build/: steerspec-linux (linux-reuseport, with its
# observing eBPF programs) and steerspec-reuserps-bpf (SO_REUSERPS as an eBPF program). Needs gcc, clang, bpftool, libbpf-dev and the kernel's BTF
# (npm run setup:kernel installs the packages). Whatever is missing is named and the build exits 0:
# the kernel checks then skip with that reason, nothing else fails.
set -e
here=$(cd "$(dirname "$0")" && pwd)
out="$here/build"
cc=${CC:-gcc}
clang=${CLANG:-$(command -v clang || command -v clang-14 || command -v clang-15 || command -v clang-16 || true)}
missing=""
command -v "$cc" >/dev/null 2>&1 || missing="$missing $cc"
{ [ -n "$clang" ] && command -v "$clang" >/dev/null 2>&1; } || missing="$missing clang"
command -v bpftool >/dev/null 2>&1 || [ -x /usr/sbin/bpftool ] || missing="$missing bpftool"
[ -f /usr/include/bpf/libbpf.h ] || missing="$missing libbpf-dev"
[ -r /sys/kernel/btf/vmlinux ] || missing="$missing /sys/kernel/btf/vmlinux"
if [ -n "$missing" ]; then
  echo "adapters/linux: missing$missing (npm run setup:kernel): the kernel adapters are not built, the kernel checks will be skipped" >&2
  rm -f "$out/steerspec-linux" "$out/steerspec-reuserps-bpf" "$out/missing"
  mkdir -p "$out" && echo "missing$missing (npm run setup:kernel)" > "$out/missing"
  exit 0
fi
# Up to date: both programs newer than every source here (npm test builds first, every time).
if [ -x "$out/steerspec-linux" ] && [ -x "$out/steerspec-reuserps-bpf" ] && [ -z "$(find "$here" -maxdepth 1 \( -name '*.c' -o -name '*.h' -o -name build.sh \) \( -newer "$out/steerspec-linux" -o -newer "$out/steerspec-reuserps-bpf" \))" ]; then
  exit 0
fi
bpftool=$(command -v bpftool || echo /usr/sbin/bpftool)
mkdir -p "$out"
rm -f "$out/missing"
[ -s "$out/vmlinux.h" ] || "$bpftool" btf dump file /sys/kernel/btf/vmlinux format c > "$out/vmlinux.h"
arch=$(uname -m | sed 's/x86_64/x86/; s/aarch64/arm64/')
bpf() { # bpf <name>: <name>.bpf.c -> build/<name>.skel.h (-mcpu=v3: the compare-and-swap of reuserps.bpf.c)
  "$clang" -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_"$arch" -I"$out" -I"$here" -c "$here/$1.bpf.c" -o "$out/$1.bpf.o"
  "$bpftool" gen skeleton "$out/$1.bpf.o" name "$1" > "$out/$1.skel.h"
}
bpf observe
bpf reuserps
"$cc" -O2 -std=gnu11 -Wall -Wextra -I"$out" -o "$out/steerspec-linux" "$here/steerspec-linux.c" -lbpf
"$cc" -O2 -std=gnu11 -Wall -Wextra -I"$out" -o "$out/steerspec-reuserps-bpf" "$here/steerspec-reuserps-bpf.c" -lbpf -lm
