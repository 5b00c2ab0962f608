#!/usr/bin/env bash
# Instructions per input byte for each measurement of run.sh, counted by
# valgrind --tool=callgrind: a cross-check of the MB/s table that does not depend on what
# else the machine is doing (instruction counts, not time: cache misses and branch
# mispredictions are not in it). For each measurement it counts a run of N passes and a
# run of 0 passes (start-up, corpus loading, one-time initialisation) and reports
# (Ir(N) - Ir(0)) / (N * corpus bytes).
#
#   bash Benchmarks/instructions.sh [--corpus DIR] [--passes N]
#
# Needs valgrind (Debian: valgrind). Builds manifest-bench (release) like run.sh.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
corpus="$(cd "$repo/.." && pwd)/shared/corpus/pods"
passes=10
while [ $# -gt 0 ]; do
    case "$1" in
        --corpus) corpus="$2"; shift 2 ;;
        --passes) passes="$2"; shift 2 ;;
        *) echo "usage: $0 [--corpus DIR] [--passes N]" >&2; exit 2 ;;
    esac
done
command -v valgrind >/dev/null || { echo "instructions.sh: valgrind is needed (apt-get install valgrind)" >&2; exit 1; }

swift build -c release --package-path "$here" --product manifest-bench >&2
bin="$(swift build -c release --package-path "$here" --show-bin-path)/manifest-bench"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# valgrind 3.19 cannot read the DWARF that Swift 6.3 writes ("Possibly corrupted
# debuginfo file"): profile a copy without it. Function names come from the symbol table.
cp "$bin" "$work/manifest-bench"
strip --strip-debug "$work/manifest-bench"
python="$(python3 -c 'import sys; print(sys.executable)')"
# The floor, as run.sh builds it: libyaml's events and nothing else.
cc -O2 -o "$work/libyaml_events" "$here/libyaml_events.c" $(pkg-config --cflags --libs yaml-0.1)

count() {  # count OUTFILE COMMAND... -> prints the instruction total
    valgrind --tool=callgrind --callgrind-out-file="$1" "${@:2}" >/dev/null 2>"$1.log"
    grep -o 'refs: *[0-9,]*' "$1.log" | tr -dc '0-9'
}

bytes="$(find "$corpus" -maxdepth 1 -type f ! -name '.*' -printf '%s\n' | awk '{s += $1} END {print s}')"
echo "Corpus: $corpus ($bytes bytes); $passes passes; callgrind instruction counts."
echo
echo "| measurement | instructions per byte | libyaml events' instructions / these (1 = the floor) |"
echo "|---|---:|---:|"
base=""
for key in libyaml-events podrec-yaml podrec-full yams-compose yams-compose-utf8 pyyaml-csafe-compose; do
    if [ "$key" = pyyaml-csafe-compose ]; then
        cmd=("$python" "$here/pyyaml_bench.py" --corpus "$corpus")
    elif [ "$key" = libyaml-events ]; then
        cmd=("$work/libyaml_events" --corpus "$corpus")
    else
        cmd=("$work/manifest-bench" --corpus "$corpus" --only "$key")
    fi
    n0="$(count "$work/$key.0.out" "${cmd[@]}" --passes 0)"
    n1="$(count "$work/$key.n.out" "${cmd[@]}" --passes "$passes")"
    per="$(python3 -c "print(($n1 - $n0) / ($passes * $bytes))")"
    [ -n "$base" ] || base="$per"
    python3 -c "print(f'| $key | {$per:.0f} | {$base / $per:.2f} |')"
done
