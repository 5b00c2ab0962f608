#!/usr/bin/env bash
# `podrec watch DIR`, in one run:
# 1. latency from a manifest appearing in DIR by rename to all of its containers running (the
#    supervisor's status file says so), over N changes back to back (warm) and N changes
#    spaced by --gap-ms (cold), each a new 2-container pod; each pod's file is removed again
#    (and its pod gone) before the next, so every change meets the same host;
# 2. the CPU the watcher uses while idle with 50 pods running, over --idle-seconds, from its
#    /proc/PID/stat (utime + stime), the resyncs included;
# 3. the latency again with those 50 pods running (each pass observes them all).
# Prints markdown tables and the budgets. See Benchmarks/README.md. Needs root and gcc.
#
#   bash Benchmarks/watch-run.sh [--scratch-path DIR] [--changes N] [--gap-ms MS] [--pods N]
#                                [--idle-seconds S] [--resync S]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
scratch="$here/.build/cli"
changes=100 gap_ms=500 pods=50 idle_seconds=60 resync=5
usage="usage: $0 [--scratch-path DIR] [--changes N] [--gap-ms MS] [--pods N] [--idle-seconds S] [--resync S]"
while [ $# -gt 0 ]; do
    case "$1" in
        --scratch-path) scratch="$2"; shift 2 ;;
        --changes) changes="$2"; shift 2 ;;
        --gap-ms) gap_ms="$2"; shift 2 ;;
        --pods) pods="$2"; shift 2 ;;
        --idle-seconds) idle_seconds="$2"; shift 2 ;;
        --resync) resync="$2"; shift 2 ;;
        *) echo "$usage" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "watch-run.sh: run as root (cgroups, namespaces)" >&2; exit 1; }
command -v gcc >/dev/null || { echo "watch-run.sh: gcc is needed" >&2; exit 1; }

# Everything this run makes: one temp dir (roots, manifests, the C tool) and one cgroup parent.
. "$here/pods-lib.sh"
use_lab watchbench
podrec="" watcher=""

cleanup() {
    set +e
    if [ -n "$watcher" ] && kill -0 "$watcher" 2>/dev/null; then kill -TERM "$watcher"; wait "$watcher" 2>/dev/null; fi
    if [ -n "$podrec" ]; then "$podrec" delete --all --grace-period 0 >/dev/null 2>&1; fi
    remove_parent
    grep -q " $work" /proc/self/mountinfo && echo "watch-run.sh: mounts left under $work" >&2
    rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/bin" "$work/manifests" "$work/staging"
chmod 755 "$work/manifests"

# watchlat: for each change, writes the pod's manifest in staging, takes the time, renames it
# into DIR, and waits with inotify (no polling tick) until the pod's status file shows both
# containers running; then removes the file and waits for the pod's state dir to go.
cat >"$work/bin/watchlat.c" <<'EOF'
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }

static int running(const char *status, int want) {
  char buf[65536]; int fd = open(status, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1); close(fd);
  if (n <= 0) return 0;
  buf[n] = 0; int count = 0;
  for (char *p = buf; (p = strstr(p, "\nstate running\n")); p++) count++;
  return count >= want;
}

/* Waits until cond() or the timeout, woken by inotify on `dir` (and the pod dir once it exists). */
static int wait_for(int ino, const char *pods, const char *poddir, const char *status, int want, int gone, double timeout_ms) {
  double end = now_ms() + timeout_ms; int podwd = -1; char ev[8192];
  for (;;) {
    if (podwd < 0 && !gone) podwd = inotify_add_watch(ino, poddir, IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE);
    if (gone ? access(poddir, F_OK) != 0 : running(status, want)) { if (podwd >= 0) inotify_rm_watch(ino, podwd); return 0; }
    double left = end - now_ms();
    if (left <= 0) { if (podwd >= 0) inotify_rm_watch(ino, podwd); return -1; }
    struct pollfd p = {ino, POLLIN, 0};
    poll(&p, 1, left > 50 ? 50 : (int)left + 1);
    while (read(ino, ev, sizeof ev) > 0) {}
    (void)pods;
  }
}

int main(int argc, char **argv) {
  if (argc != 9) { fprintf(stderr, "usage: watchlat DIR STAGING PODSDIR LABEL N GAP_MS PREFIX RAW\n"); return 2; }
  const char *dir = argv[1], *staging = argv[2], *pods = argv[3], *label = argv[4], *prefix = argv[7];
  int n = atoi(argv[5]), gap = atoi(argv[6]);
  FILE *raw = fopen(argv[8], "a");
  mkdir(pods, 0700);
  int ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (ino < 0 || inotify_add_watch(ino, pods, IN_CREATE | IN_MOVED_TO | IN_DELETE) < 0) { perror("inotify"); return 1; }
  for (int i = 0; i < n; i++) {
    if (gap > 0) usleep((useconds_t)gap * 1000);
    char name[64], tmp[4096], dst[4096], poddir[4096], status[4096];
    snprintf(name, sizeof name, "%s-%d", prefix, i);
    snprintf(tmp, sizeof tmp, "%s/%s.yaml", staging, name);
    snprintf(dst, sizeof dst, "%s/%s.yaml", dir, name);
    snprintf(poddir, sizeof poddir, "%s/default_%s", pods, name);
    snprintf(status, sizeof status, "%s/status", poddir);
    FILE *f = fopen(tmp, "w");
    fprintf(f, "apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec:\n  terminationGracePeriodSeconds: 0\n  containers:\n"
               "  - {name: a, image: host, command: [sleep, \"3600\"], resources: {limits: {memory: 64Mi, cpu: 500m}}}\n"
               "  - {name: b, image: host, command: [sleep, \"3600\"], resources: {limits: {memory: 32Mi, cpu: 250m}}}\n", name);
    fclose(f);
    chmod(tmp, 0644);
    double t0 = now_ms();
    if (rename(tmp, dst) < 0) { perror("rename"); return 1; }
    if (wait_for(ino, pods, poddir, status, 2, 0, 30000) < 0) { fprintf(stderr, "watchlat: %s never ran\n", name); return 1; }
    double ms = now_ms() - t0;
    fprintf(raw, "%s\t%d\t%.3f\n", label, i + 1, ms);
    unlink(dst);
    if (wait_for(ino, pods, poddir, status, 0, 1, 30000) < 0) { fprintf(stderr, "watchlat: %s never went\n", name); return 1; }
  }
  fclose(raw);
  return 0;
}
EOF
gcc -O2 -o "$work/bin/watchlat" "$work/bin/watchlat.c"

build_podrec

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
started=$SECONDS
"$podrec" watch "$work/manifests" --resync "$resync" 2>"$work/watch.log" &
watcher=$!
for _ in $(seq 1 100); do grep -q "watching " "$work/watch.log" 2>/dev/null && break; sleep 0.05; done

echo "1. latency: $changes changes back to back, then $changes spaced by $gap_ms ms ..." >&2
raw="$work/raw"
"$work/bin/watchlat" "$work/manifests" "$work/staging" "$work/run/pods" warm "$changes" 0 warm "$raw"
"$work/bin/watchlat" "$work/manifests" "$work/staging" "$work/run/pods" cold "$changes" "$gap_ms" cold "$raw"

echo "2. idle: $pods pods, then the watcher's CPU over $idle_seconds s ..." >&2
for i in $(seq 1 "$pods"); do
    cat >"$work/staging/idle-$i.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata: {name: idle-$i}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - {name: a, image: host, command: [sleep, "3600"]}
  - {name: b, image: host, command: [sleep, "3600"]}
EOF
    chmod 644 "$work/staging/idle-$i.yaml"
    mv "$work/staging/idle-$i.yaml" "$work/manifests/"
done
for _ in $(seq 1 600); do
    [ "$("$podrec" get | grep -c ' Running ')" = "$pods" ] && break
    sleep 0.1
done
sleep 2
echo "3. latency again, with the $pods pods running: 20 changes back to back ..." >&2
"$work/bin/watchlat" "$work/manifests" "$work/staging" "$work/run/pods" "warm, $pods other pods running" 20 0 busy "$raw"
sleep 2
ticks="$(getconf CLK_TCK)"
cpu() { awk '{print $14 + $15}' "/proc/$watcher/stat"; }
c0="$(cpu)"; t0="$(date +%s.%N)"
sleep "$idle_seconds"
c1="$(cpu)"; t1="$(date +%s.%N)"
rss="$(awk '/^Pss:/ {print $2}' "/proc/$watcher/smaps_rollup")"
elapsed=$((SECONDS - started))
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$raw" "$c0" "$c1" "$t0" "$t1" "$ticks" "$pods" "$idle_seconds" "$rss" <<'EOF'
import statistics, sys
raw, c0, c1, t0, t1, ticks, pods, idle, pss = sys.argv[1:]
rows = {}
for line in open(raw):
    label, _, ms = line.split("\t")
    rows.setdefault(label, []).append(float(ms))
def pct(v, p):
    v = sorted(v); k = max(0, min(len(v) - 1, int(round(p / 100 * len(v) + 0.5)) - 1))
    return v[k]
print("### podrec watch, one run\n")
print("| change | runs | p50 (ms) | p90 | p99 | min | max | budget |")
print("|---|---:|---:|---:|---:|---:|---:|---|")
for label in rows:
    v = rows[label]
    if not v: continue
    p50, p99 = pct(v, 50), pct(v, 99)
    ok = "within" if p50 < 20 and p99 < 100 else "**over**"
    print(f"| {label}: file renamed into DIR → both containers running | {len(v)} | {p50:.2f} | {pct(v, 90):.2f} | {p99:.2f} | {min(v):.2f} | {max(v):.2f} | p50 < 20, p99 < 100: {ok} |")
cpu_s = (float(c1) - float(c0)) / float(ticks)
wall = float(t1) - float(t0)
share = 100 * cpu_s / wall
print()
print(f"Idle watcher with {pods} pods over {wall:.1f} s: {cpu_s:.2f} s of CPU = **{share:.2f}%** of one CPU "
      f"(budget < 1%: {'within' if share < 1 else '**over**'}); its Pss {int(pss) / 1024:.1f} MiB.")
EOF
echo
echo "podrec revision: $(git -C "$repo" rev-parse --short HEAD)$(git -C "$repo" diff --quiet HEAD -- Sources || echo ' + uncommitted changes under Sources/'); resync every $resync s."
echo "Machine: $(nproc) CPUs, kernel $(uname -r); load average $load_before before, $load_after after; took ${elapsed} s; $(date -u '+%Y-%m-%d %H:%M UTC')."
