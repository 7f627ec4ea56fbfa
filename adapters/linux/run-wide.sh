#!/bin/sh
# The kernel checks on all of this machine's CPUs (for a machine with more than 2; it runs on 2 as well):
# installs what is missing (as root), builds the adapters, then runs properties/kernel.test.ts with
# STEERSPEC_KERNEL_CPUS = the CPU count (the generated runs and so_incoming_cpu.c's placements on every
# CPU) and the README's check command on five seeds. Exit 0 iff every part passed; RUNS sets --runs.
set -u
cd "$(dirname "$0")/../.."
sh adapters/linux/setup.sh
sh adapters/linux/build.sh
if [ ! -x adapters/linux/build/steerspec-linux ]; then
  echo "run-wide: not built: $(cat adapters/linux/build/missing 2>/dev/null)" >&2
  exit 1
fi
probe=$(adapters/linux/build/steerspec-linux --probe)
if [ "$probe" != ok ]; then
  echo "run-wide: the kernel can't be used here: $probe" >&2
  exit 1
fi
cpus=$(nproc)
echo "run-wide: $cpus CPUs"
status=0
STEERSPEC_KERNEL_CPUS=$cpus npx vitest run --coverage.enabled=false properties/kernel.test.ts || status=1
for seed in 1 2 3 4 5; do
  npx steerspec check --scheme linux-reuseport --exec adapters/linux/build/steerspec-linux --seed "$seed" --runs "${RUNS:-200}" --traces traces/new || status=1
done
echo "run-wide: $([ $status = 0 ] && echo passed || echo FAILED) on $cpus CPUs"
exit $status
