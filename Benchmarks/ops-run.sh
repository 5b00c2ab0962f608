#!/usr/bin/env bash
# Operating podrec (top, the watcher's metrics), in one run:
# 1. `get`, `top` and `top --containers` as whole processes with --pods N running (clitime);
# 2. the watcher's /metrics (`watch --metrics-address`) with 100 and then --scrape-pods pods:
#    curl's time for a whole scrape (median of --scrapes) and the body's size, hence its
#    growth per 100 pods;
# 3. the watcher's CPU while idle with --pods pods and metrics on, scraped every 15 s (as a
#    Prometheus server does by default), over --idle-seconds, from its /proc/PID/stat.
# Prints markdown tables and the budgets. See Benchmarks/README.md. Needs root, gcc and curl.
#
#   bash Benchmarks/ops-run.sh [--scratch-path DIR] [--pods N] [--scrape-pods N] [--scrapes N]
#                              [--idle-seconds S]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
scratch="$here/.build/cli"
pods=50 scrape_pods=500 scrapes=20 idle_seconds=60
usage="usage: $0 [--scratch-path DIR] [--pods N] [--scrape-pods N] [--scrapes N] [--idle-seconds S]"
while [ $# -gt 0 ]; do
    case "$1" in
        --scratch-path) scratch="$2"; shift 2 ;;
        --pods) pods="$2"; shift 2 ;;
        --scrape-pods) scrape_pods="$2"; shift 2 ;;
        --scrapes) scrapes="$2"; shift 2 ;;
        --idle-seconds) idle_seconds="$2"; shift 2 ;;
        *) echo "$usage" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "ops-run.sh: run as root (cgroups, namespaces)" >&2; exit 1; }
command -v gcc >/dev/null || { echo "ops-run.sh: gcc is needed for clitime" >&2; exit 1; }
command -v curl >/dev/null || { echo "ops-run.sh: curl is needed for the scrapes" >&2; exit 1; }
[ "$scrape_pods" -ge 100 ] || { echo "ops-run.sh: --scrape-pods must be 100 or more" >&2; exit 2; }

. "$here/pods-lib.sh"
use_lab opsbench
podrec="" watcher="" helper_pid=""

cleanup() {
    set +e
    stop_clitime
    if [ -n "$watcher" ] && kill -0 "$watcher" 2>/dev/null; then kill -TERM "$watcher"; wait "$watcher" 2>/dev/null; fi
    if [ -n "$podrec" ]; then "$podrec" delete --all --grace-period 0 >/dev/null 2>&1; fi
    remove_parent
    grep -q " $work" /proc/self/mountinfo && echo "ops-run.sh: mounts left under $work" >&2
    rm -rf "$work"
}
trap cleanup EXIT

build_podrec
mkdir -p "$work/bin" "$work/manifests" "$work/watched"
chmod 755 "$work/watched"
gcc -O2 -o "$work/bin/clitime" "$here/clitime.c" -lm

# pod NAME: one pod of one sleeping container with a memory limit.
pod() {
    printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec:\n  terminationGracePeriodSeconds: 0\n  containers:\n  - {name: app, image: host, command: [sleep, "3600"], resources: {limits: {memory: 32Mi}}}\n' "$1"
}

# 1. top and get as whole processes.
for i in $(seq 1 "$pods"); do pod "top-$i" >"$work/manifests/top-$i.yaml"; done
"$podrec" apply -f "$work/manifests" --wait --timeout 300 >/dev/null
sleep 2  # a CPU sample at least a second old for every pod: top's window
results=""
run_clitime -- --runs 20 --warmup 2 "get" "$podrec" get :: "top" "$podrec" top :: "top --containers" "$podrec" top --containers
results="$(cat "$work/results")"
"$podrec" delete --all --grace-period 0 >/dev/null

# 2. The watcher's /metrics.
"$podrec" watch "$work/watched" --metrics-address 127.0.0.1:0 >"$work/watch.log" 2>&1 &
watcher=$!
for _ in $(seq 100); do grep -q "metrics on http://" "$work/watch.log" && break; sleep 0.1; done
url="$(grep -o 'http://[^ ]*/metrics' "$work/watch.log" | head -n 1)"
[ -n "$url" ] || { echo "ops-run.sh: the watcher did not say where its metrics are" >&2; cat "$work/watch.log" >&2; exit 1; }

# running N: waits until the scrape shows N pods in phase Running.
running() {
    local n
    for _ in $(seq 1200); do
        n="$(curl -s "$url" | grep -c 'phase="Running"} 1.0' || true)"
        [ "$n" = "$1" ] && return 0
        sleep 0.5
    done
    echo "ops-run.sh: $1 pods never ran (saw $n)" >&2
    exit 1
}

# scrape LABEL: the median and p90 of --scrapes whole scrapes (ms), and the body's bytes.
scrapes_table=""
scrape() {
    local times size
    times="$(for _ in $(seq "$scrapes"); do curl -s -o /dev/null -w '%{time_total}\n' "$url"; done | sort -n)"
    size="$(curl -s "$url" | wc -c)"
    median="$(awk '{ a[NR] = $1 * 1000 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }' <<<"$times")"
    p90="$(awk '{ a[NR] = $1 * 1000 } END { i = int(0.9 * NR); if (i < 0.9 * NR) i++; print a[i] }' <<<"$times")"
    scrapes_table+="| $1 | $(printf '%.1f' "$median") ms | $(printf '%.1f' "$p90") ms | $size |"$'\n'
    eval "size_$2=$size"
}

for i in $(seq 1 100); do pod "m-$i" >"$work/watched/m-$i.yaml"; done
running 100
scrape "100 pods" 100
for i in $(seq 101 "$scrape_pods"); do pod "m-$i" >"$work/watched/m-$i.yaml"; done
running "$scrape_pods"
scrape "$scrape_pods pods" big
growth=$(( (size_big - size_100) * 100 / (scrape_pods - 100) ))

# 3. Idle with --pods pods, scraped every 15 s.
for i in $(seq $((pods + 1)) "$scrape_pods"); do rm -f "$work/watched/m-$i.yaml"; done
running "$pods"
# The deletions end with their supervisors' exits, each a pass: idle means after the last.
for _ in $(seq 600); do [ "$(ls "$PODREC_ROOT/pods" | wc -l)" -le "$pods" ] && break; sleep 0.5; done
sleep 12  # two resyncs and a supervisor sample: nothing left from the deletions
ticks() { awk '{ print $14 + $15 }' "/proc/$watcher/stat"; }
hz="$(getconf CLK_TCK)"
before="$(ticks)"
start="$(date +%s.%N)"
end=$(( $(date +%s) + idle_seconds ))
while [ "$(date +%s)" -lt "$end" ]; do
    curl -s -o /dev/null "$url"
    sleep "$(( end - $(date +%s) < 15 ? end - $(date +%s) : 15 ))" 2>/dev/null || true
done
after="$(ticks)"
elapsed="$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { print e - s }')"
cpu="$(awk -v t=$((after - before)) -v hz="$hz" -v s="$elapsed" 'BEGIN { printf "%.2f", 100 * t / hz / s }')"

echo
echo "## Operating podrec ($(date -u +%Y-%m-%d), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "| command ($pods pods) | median | p90 | CPU median |"
echo "| --- | ---: | ---: | ---: |"
for l in "get" "top" "top --containers"; do
    echo "| $l | $(field "$l" 3) ms | $(field "$l" 4) ms | $(field "$l" 7) ms |"
done
echo
echo "| /metrics | median | p90 | bytes |"
echo "| --- | ---: | ---: | ---: |"
printf '%s' "$scrapes_table"
echo
echo "Growth of a scrape: $growth bytes per 100 pods. Idle watcher with $pods pods and metrics on, scraped every 15 s: $cpu% of a CPU over ${idle_seconds} s."
echo
echo "Budgets: top with 50 pods < 20 ms; a scrape with 500 pods < 50 ms and < 1 MiB of growth per 100 pods; the idle watcher < 1% of a CPU."
