#!/bin/sh
# npm run setup:kernel — installs what the kernel adapters need to build (Debian/Ubuntu packages):
#   gcc, clang (BPF programs), bpftool (vmlinux.h and skeletons), libbpf-dev, libelf-dev.
# Installs only what is missing, with apt-get, as root. Elsewhere (not root, no apt-get) it names what
# is missing and exits 0: the kernel checks then report themselves skipped with that reason.
set -u
need=""
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
command -v gcc >/dev/null 2>&1 || need="$need gcc"
command -v clang >/dev/null 2>&1 || command -v clang-14 >/dev/null 2>&1 || command -v clang-15 >/dev/null 2>&1 || command -v clang-16 >/dev/null 2>&1 || need="$need clang"
command -v bpftool >/dev/null 2>&1 || [ -x /usr/sbin/bpftool ] || need="$need bpftool"
[ -f /usr/include/bpf/libbpf.h ] || need="$need libbpf-dev"
[ -f /usr/include/libelf.h ] || need="$need libelf-dev"
if [ -z "$need" ]; then
  echo "setup:kernel: gcc, clang, bpftool, libbpf-dev and libelf-dev are installed"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "setup:kernel: missing$need; install them (as root: apt-get install -y$need) — until then the kernel checks are skipped"
  exit 0
fi
echo "setup:kernel: installing$need"
export DEBIAN_FRONTEND=noninteractive
# Another apt may hold the lock (a shared machine): wait for it rather than fail.
apt-get -o DPkg::Lock::Timeout=300 update -qq && apt-get -o DPkg::Lock::Timeout=300 install -y -qq $need \
  || echo "setup:kernel: apt-get could not install$need — the kernel checks will be skipped"
exit 0
