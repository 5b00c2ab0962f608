#!/usr/bin/env bash
# Pod start latency of podrec next to the C lower bound podlb, and the memory of idle pods,
# in one run. Builds pod-bench and podrec-supervisor (release; the supervisor with
# -static-executable, from its linkerSettings), compiles ../shared/reference/peers/podlb.c with
# gcc -O2 into a temp dir, runs pod-bench and prints markdown tables. See Benchmarks/README.md.
# Needs root (cgroups, namespaces) and gcc.
#
#   bash Benchmarks/pod-run.sh [--scratch-path DIR] [--podlb-source FILE]
#                              [--runs N] [--block N] [--gap-ms MS] [--pods N] [--settle-ms MS] [--only start|memory]
#
# --scratch-path: SwiftPM's build dir for pod-bench (default Benchmarks/.build); the
# supervisor is built from the main package into DIR/supervisor. The other options go to
# pod-bench. Progress goes to stderr, the tables to stdout.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
scratch="$here/.build"
podlb_source="$(cd "$repo/.." && pwd)/shared/reference/peers/podlb.c"
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --scratch-path) scratch="$2"; shift 2 ;;
        --podlb-source) podlb_source="$2"; shift 2 ;;
        --runs|--block|--gap-ms|--pods|--settle-ms|--only) args+=("$1" "$2"); shift 2 ;;
        *) echo "usage: $0 [--scratch-path DIR] [--podlb-source FILE] [--runs N] [--block N] [--gap-ms MS] [--pods N] [--settle-ms MS] [--only start|memory]" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "pod-run.sh: run as root (cgroups, namespaces)" >&2; exit 1; }
command -v gcc >/dev/null || { echo "pod-run.sh: gcc is needed for podlb" >&2; exit 1; }
[ -f "$podlb_source" ] || { echo "pod-run.sh: no podlb source at $podlb_source (--podlb-source)" >&2; exit 1; }

work="$(mktemp -d /tmp/pod-run-XXXXXX)"
bench_pid=""
cleanup() {
    if [ -n "$bench_pid" ] && kill -0 "$bench_pid" 2>/dev/null; then
        kill -TERM "$bench_pid" 2>/dev/null || true   # pod-bench cleans up on SIGTERM
        wait "$bench_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "compiling podlb (gcc -O2) into $work ..." >&2
gcc -O2 -o "$work/podlb" "$podlb_source"

echo "building pod-bench (release) ..." >&2
swift build -c release --package-path "$here" --scratch-path "$scratch" --product pod-bench >&2
bench="$(swift build -c release --package-path "$here" --scratch-path "$scratch" --show-bin-path)/pod-bench"
echo "building podrec-supervisor (release, -static-executable) ..." >&2
swift build -c release --package-path "$repo" --scratch-path "$scratch/supervisor" --product podrec-supervisor >&2
supervisor="$(swift build -c release --package-path "$repo" --scratch-path "$scratch/supervisor" --show-bin-path)/podrec-supervisor"
if ldd "$supervisor" 2>/dev/null | grep -q libswiftCore; then
    echo "pod-run.sh: $supervisor links libswiftCore.so: it should be built with -static-executable" >&2
    exit 1
fi

revision="$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git -C "$repo" status --porcelain -- Sources Package.swift 2>/dev/null)" ]; then
    revision="$revision + uncommitted changes under Sources/"
fi
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

echo "running pod-bench ..." >&2
"$bench" --supervisor "$supervisor" --podlb "$work/podlb" ${args[@]+"${args[@]}"} >"$work/out" &
bench_pid=$!
status=0
wait "$bench_pid" || status=$?
parent="podrec-bench-$bench_pid"
bench_pid=""
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

# What pod-bench created must be gone: its cgroup parent and podlb's pod.
leftovers="$(ls -d /sys/fs/cgroup/*/"$parent" /sys/fs/cgroup/*/podlb/bench /run/podlb/bench 2>/dev/null || true)"
if [ -n "$leftovers" ]; then
    echo "pod-run.sh: left behind:" >&2
    echo "$leftovers" >&2
    status=1
fi
[ "$status" = 0 ] || { echo "pod-run.sh: pod-bench failed (status $status)" >&2; exit "$status"; }

cat "$work/out"
echo
libs=$(ldd "$supervisor" 2>/dev/null | grep -c '=>' || true)
if [ "$libs" = 0 ]; then linking="statically linked"; else linking="$libs shared libraries (no libswiftCore)"; fi
echo "podrec revision: $revision; supervisor $(stat -c %s "$supervisor") bytes, $linking."
echo "Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), kernel $(uname -r);" \
     "load average $load_before before, $load_after after; $(date -u '+%Y-%m-%d %H:%M UTC')."
echo "Versions: $(swift --version 2>/dev/null | head -1); $(gcc --version | head -1) (podlb: gcc -O2)."
