#!/usr/bin/env bash
# Scale: `podrec apply -f DIR` of N pods of two containers each, for N = 10, 100 and 500
# (by default), each from an empty host: the whole apply, the cost per pod, then a no-op
# `apply` and `diff` with the N pods running, and memory per pod (the supervisors' Pss,
# and MemAvailable's drop). Grows worse than linearly where the per-pod cost climbs with N.
# One run; prints markdown. Needs root. See Benchmarks/README.md.
#
#   bash Benchmarks/scale-run.sh [--scratch-path DIR] [--sizes "10 100 500"]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
scratch="$here/.build/cli"
sizes="10 100 500"
while [ $# -gt 0 ]; do
    case "$1" in
        --scratch-path) scratch="$2"; shift 2 ;;
        --sizes) sizes="$2"; shift 2 ;;
        *) echo "usage: $0 [--scratch-path DIR] [--sizes \"10 100 500\"]" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "scale-run.sh: run as root" >&2; exit 1; }

# The state root on a tmpfs, as /run is on a real host: on ext4, creating hundreds of state
# dirs right after deleting hundreds spends most of its time in the inode allocator's
# `recently_deleted` scan, a cost of the bench's own churn, not of podrec.
state="$(mktemp -d /dev/shm/podrec-scalebench-XXXXXX)"
. "$here/pods-lib.sh"
use_lab scalebench
podrec=""
cleanup() {
    set +e
    [ -n "$podrec" ] && "$podrec" delete --all --grace-period 0 >/dev/null 2>&1
    remove_parent
    rm -rf "$work" "$state"
}
trap cleanup EXIT

build_podrec

ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000 )); }
avail() { awk '/^MemAvailable:/ {print $2}' /proc/meminfo; }

echo "| pods (containers) | apply, whole | per pod | no-op apply | no-op diff | supervisor Pss / pod | MemAvailable drop / pod | delete --all, per pod |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
for n in $sizes; do
    dir="$work/pods-$n"
    mkdir -p "$dir"
    for i in $(seq 1 "$n"); do
        cat >"$dir/p$i.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: s$i}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - {name: a, image: host, command: [sleep, "3600"], resources: {limits: {memory: 32Mi, cpu: 50m}}}
  - {name: b, image: host, command: [sleep, "3600"]}
YAML
    done
    sync; sleep 1
    before="$(avail)"
    apply_us="$(ms "$podrec" apply -f "$dir")"
    sleep 2
    after="$(avail)"
    noop_us="$(ms "$podrec" apply -f "$dir")"
    diff_us="$(ms "$podrec" diff -f "$dir")"
    pss=0
    for f in "$state"/pods/*/supervisor; do
        p="$(cut -d' ' -f1 "$f")"; pss=$((pss + $(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup")))
    done
    delete_us="$(ms "$podrec" delete --all --grace-period 0)"
    python3 - "$n" "$apply_us" "$noop_us" "$diff_us" "$pss" "$before" "$after" "$delete_us" <<'PY'
import sys
n, apply_us, noop_us, diff_us, pss, before, after, delete_us = map(int, sys.argv[1:])
print(f"| {n} ({2 * n}) | {apply_us / 1e6:.2f} s | {apply_us / 1e3 / n:.2f} ms | {noop_us / 1e3:.0f} ms | {diff_us / 1e3:.0f} ms "
      f"| {pss / n / 1024:.2f} MiB | {(before - after) / n / 1024:.2f} MiB | {delete_us / 1e3 / n:.2f} ms |")
PY
    rm -rf "$dir"
    sleep 6  # past ext4's window for recently deleted inodes (the data and log dirs)
done
echo
echo "podrec revision: $(git -C "$repo" rev-parse --short HEAD); $(nproc) CPUs, kernel $(uname -r); load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; $(date -u '+%Y-%m-%d %H:%M UTC')."
