#!/usr/bin/env bash
# What probes cost: 50 idle pods, each a busybox httpd with an httpGet liveness probe, a
# tcpSocket readiness probe and an exec probe (readiness of a second container), all with
# kubelet's default 10 s period; then, over --seconds, the CPU of every supervisor (their
# own time and their reaped children's: the exec probes' processes) and their memory (Pss).
# One run; prints markdown. Needs root. See Benchmarks/README.md.
#
#   bash Benchmarks/probe-run.sh [--scratch-path DIR] [--pods N] [--seconds S]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
scratch="$here/.build/cli"
pods=50 seconds=60
while [ $# -gt 0 ]; do
    case "$1" in
        --scratch-path) scratch="$2"; shift 2 ;;
        --pods) pods="$2"; shift 2 ;;
        --seconds) seconds="$2"; shift 2 ;;
        *) echo "usage: $0 [--scratch-path DIR] [--pods N] [--seconds S]" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "probe-run.sh: run as root" >&2; exit 1; }

. "$here/pods-lib.sh"
use_lab probebench
podrec=""
cleanup() {
    set +e
    [ -n "$podrec" ] && "$podrec" delete --all --grace-period 0 >/dev/null 2>&1
    remove_parent
    rm -rf "$work"
}
trap cleanup EXIT

build_podrec

mkdir -p "$work/pods"
for i in $(seq 1 "$pods"); do
    cat >"$work/pods/p$i.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: probed-$i}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: web
    image: host
    command: [busybox, httpd, -f, -p, "8080", -h, /etc]
    livenessProbe: {httpGet: {path: /hostname, port: 8080}}
    readinessProbe: {tcpSocket: {port: 8080}}
  - name: worker
    image: host
    command: [sleep, "3600"]
    readinessProbe: {exec: {command: ["true"]}}
YAML
done
echo "applying $pods pods ..." >&2
"$podrec" apply -f "$work/pods" --wait --timeout 120 >/dev/null
sleep 12  # every probe has run at least once

sups() { for d in "$work"/run/pods/*/supervisor; do cut -d' ' -f1 "$d"; done; }
cpu() { local t=0; for p in $(sups); do t=$((t + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$p/stat"))); done; echo "$t"; }
ticks="$(getconf CLK_TCK)"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
c0="$(cpu)"; t0="$(date +%s.%N)"
sleep "$seconds"
c1="$(cpu)"; t1="$(date +%s.%N)"
pss=0; n=0
for p in $(sups); do pss=$((pss + $(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup"))); n=$((n + 1)); done
ready="$("$podrec" get | awk 'NR > 1 && $2 == "2/2"' | wc -l)"
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$c0" "$c1" "$t0" "$t1" "$ticks" "$pods" "$pss" "$n" "$ready" <<'PY'
import sys
c0, c1, t0, t1, ticks, pods, pss, n, ready = sys.argv[1:]
cpu = (int(c1) - int(c0)) / int(ticks); wall = float(t1) - float(t0)
share = 100 * cpu / wall
print(f"### Probes of {pods} idle pods, one run\n")
print(f"- {pods} pods × (httpGet liveness + tcpSocket readiness + exec readiness), period 10 s: {int(pods) * 3 / 10:.0f} probes a second; {ready} of {pods} pods READY 2/2.")
print(f"- Every supervisor's CPU over {wall:.1f} s, the exec probes' processes included: {cpu:.2f} s = **{share:.2f}% of one CPU** (budget < 1%: {'within' if share < 1 else '**over**'}).")
print(f"- Supervisor Pss: {int(pss) / int(n) / 1024:.2f} MiB a pod (budget 1 MiB: {'within' if int(pss) / int(n) < 1024 else '**over**'}).")
PY
echo
echo "podrec revision: $(git -C "$repo" rev-parse --short HEAD)$(git -C "$repo" diff --quiet HEAD -- Sources || echo ' + uncommitted changes under Sources/'); load average $load_before before, $load_after after; $(nproc) CPUs; $(date -u '+%Y-%m-%d %H:%M UTC')."
