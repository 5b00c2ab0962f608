#!/usr/bin/env bash
# The podrec CLI as whole processes (fork + exec until it exits), in one run: `podrec apply -f`
# of the 2-container pod the peers were measured with, warm and cold, beside the C lower bound
# `podlb up`; `podrec apply -f DIR` of 50 pods, `podrec get` with them running, and a no-op
# `podrec diff -f DIR` over 200 running pods. Prints markdown tables and the budgets.
# See Benchmarks/README.md, "The CLI as whole processes (cli-run.sh)". Needs root and gcc.
#
#   bash Benchmarks/cli-run.sh [--scratch-path DIR] [--podlb-source FILE] [--runs N] [--gap-ms MS]
#                              [--pods N] [--diff-pods N] [--podman-runs N]
#
# --scratch-path: SwiftPM's build dir for podrec and podrec-supervisor, built in release from the
# main package (default Benchmarks/.build/cli). Progress goes to stderr, the tables to stdout.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
scratch="$here/.build/cli"
podlb_source="$(cd "$repo/.." && pwd)/shared/reference/peers/podlb.c"
peer_pod="$(cd "$repo/.." && pwd)/shared/reference/peers/pod.yaml"
runs=20 gap_ms=200 pods=50 diff_pods=200 podman_runs=5
usage="usage: $0 [--scratch-path DIR] [--podlb-source FILE] [--runs N] [--gap-ms MS] [--pods N] [--diff-pods N] [--podman-runs N]"
while [ $# -gt 0 ]; do
    case "$1" in
        --scratch-path) scratch="$2"; shift 2 ;;
        --podlb-source) podlb_source="$2"; shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        --gap-ms) gap_ms="$2"; shift 2 ;;
        --pods) pods="$2"; shift 2 ;;
        --diff-pods) diff_pods="$2"; shift 2 ;;
        --podman-runs) podman_runs="$2"; shift 2 ;;
        *) echo "$usage" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "cli-run.sh: run as root (cgroups, namespaces)" >&2; exit 1; }
command -v gcc >/dev/null || { echo "cli-run.sh: gcc is needed for podlb" >&2; exit 1; }
[ -f "$podlb_source" ] || { echo "cli-run.sh: no podlb source at $podlb_source (--podlb-source)" >&2; exit 1; }

# Everything this run makes: one temp dir (roots, manifests, the two C tools), one cgroup parent
# for podrec, one podlb pod name. Nothing else is touched.
. "$here/pods-lib.sh"
use_lab clibench
lbname="clibench-$$"
podrec="" helper_pid="" lb_made_parent=() lb_made_run=0 cleaned=0

cleanup() {
    [ "$cleaned" = 1 ] && return 0
    cleaned=1
    set +e
    stop_clitime
    if [ -n "$podrec" ] && [ -d "$work/run" ]; then
        "$podrec" delete --all --grace-period 0 >/dev/null 2>&1
    fi
    if [ -e "/run/podlb/$lbname" ] && [ -x "$work/bin/podlb" ]; then
        "$work/bin/podlb" down "$lbname" >/dev/null 2>&1
    fi
    local d c
    for d in /sys/fs/cgroup/*/"$parent" /sys/fs/cgroup/*/podlb/"$lbname"; do remove_cgroup_tree "$d"; done
    rmdir "/run/podlb/$lbname/data" "/run/podlb/$lbname/vol" "/run/podlb/$lbname" 2>/dev/null
    for c in ${lb_made_parent[@]+"${lb_made_parent[@]}"}; do rmdir "/sys/fs/cgroup/$c/podlb" 2>/dev/null; done
    [ "$lb_made_run" = 1 ] && rmdir /run/podlb 2>/dev/null
    rm -rf "$work"
    set -e
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# clitime (Benchmarks/clitime.c): times whole processes, as a child subreaper (supervisors and podlb's infra that
# outlive the command are reaped here, never by the host's init). Stdout of the timed command
# goes to /dev/null, stderr to the log; any command that exits non-zero stops the run.
#   clitime [--runs N] [--warmup W] [--gap-ms G] [--interleave] [--raw FILE] [--log FILE]
#           LABEL ARGV... [--then ARGV...]... [:: LABEL ARGV... [--then ARGV...]...]...
# Per run: sleep G ms, then the clock: fork, exec, wait until that pid exits; then the --then
# commands, untimed. Jobs run in blocks (all runs of one, then the next) or, with
# --interleave, one run of each in turn. The first W runs of each job are not counted.
# Prints per job: LABEL<TAB>n<TAB>median<TAB>p90<TAB>min<TAB>max<TAB>CPU median (ms). Median:
# the mean of the middle two for an even count; p90: the ceil(0.9 n)-th smallest. CPU is the
# timed process's own user + system time (wait4's rusage; a supervisor it leaves running is
# not in it).
mkdir -p "$work/bin"

echo "compiling podlb and clitime (gcc -O2) into $work/bin ..." >&2
gcc -O2 -o "$work/bin/podlb" "$podlb_source"
gcc -O2 -o "$work/bin/clitime" "$here/clitime.c" -lm

build_podrec

# podlb keeps its pods under <ctl>/podlb/NAME and /run/podlb/NAME; its parents are removed at
# the end only if this run made them.
[ ! -e "/run/podlb/$lbname" ] || { echo "cli-run.sh: /run/podlb/$lbname exists already" >&2; exit 1; }
for c in memory cpu pids; do [ -d "/sys/fs/cgroup/$c/podlb" ] || lb_made_parent+=("$c"); done
[ -d /run/podlb ] || lb_made_run=1

mkdir -p "$work/m/dir$pods" "$work/m/dir$diff_pods" "$work/log/pods"
pod_yaml bench >"$work/m/pod.yaml"
for i in $(seq -w 1 "$pods"); do pod_yaml "bench-$i" >"$work/m/dir$pods/bench-$i.yaml"; done
for i in $(seq -w 1 "$diff_pods"); do pod_yaml "bench-$i" >"$work/m/dir$diff_pods/bench-$i.yaml"; done

# clitime's lines go to $work/results (pods-lib.sh, run_clitime).
clitime() { run_clitime -- "$@"; }
: >"$work/results"
# Between apply runs, untimed: delete the pod, and remove its log dir, which delete keeps until
# the next pass (else every timed apply would also remove the last run's logs).
drop_logs=(/usr/bin/find "$work/log/pods" -mindepth 1 -maxdepth 1 -exec rm -rf {} +)
apply_cmd=("$podrec" apply -f "$work/m/pod.yaml" --then "$podrec" delete --all --grace-period 0 --then "${drop_logs[@]}")
podlb_cmd=("$work/bin/podlb" up "$lbname" --then "$work/bin/podlb" down "$lbname")

revision="$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git -C "$repo" status --porcelain -- Sources Package.swift 2>/dev/null)" ]; then
    revision="$revision + uncommitted changes under Sources/"
fi
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
started=$SECONDS

echo "1. the CLI's floor: podrec --help, then podrec get with no pods, warm ..." >&2
clitime --runs "$runs" --warmup 1 "help" "$podrec" --help :: "get0" "$podrec" get
echo "1. apply of one pod, warm: $runs runs + 1 uncounted, podrec block then podlb block ..." >&2
clitime --runs "$runs" --warmup 1 "warm podrec" "${apply_cmd[@]}" :: "warm podlb" "${podlb_cmd[@]}"
echo "1. apply of one pod, cold: $runs runs each, ${gap_ms} ms before each, alternating ..." >&2
clitime --runs "$runs" --gap-ms "$gap_ms" --interleave "cold podrec" "${apply_cmd[@]}" :: "cold podlb" "${podlb_cmd[@]}"

podman_note="podman: not installed, skipped"
if command -v podman >/dev/null; then
    # As the baseline ran it (reference/peers: pod.yaml, the localhost/bbox image, env.sh's
    # containers.conf); kube down, untimed, takes about 3.4 s per run there.
    if ! podman image exists localhost/bbox:latest 2>/dev/null; then
        podman_note="podman: installed, but no localhost/bbox image (reference/peers/mkimage.sh): skipped"
    elif podman pod exists bench 2>/dev/null; then
        podman_note="podman: a pod named bench exists already: skipped"
    else
        # A podman failure skips podman, not the run (this branch did not run where the
        # benchmark was written: podman was not installed there).
        pm="$(command -v podman)"
        echo "1. podman kube play, warm and cold: $podman_runs runs each ..." >&2
        if "$work/bin/clitime" --log "$work/stderr.log" --runs "$podman_runs" --warmup 1 \
               "warm podman" "$pm" kube play "$peer_pod" --then "$pm" kube down "$peer_pod" >>"$work/results" &&
           "$work/bin/clitime" --log "$work/stderr.log" --runs "$podman_runs" --gap-ms "$gap_ms" \
               "cold podman" "$pm" kube play "$peer_pod" --then "$pm" kube down "$peer_pod" >>"$work/results"; then
            podman_note="podman: $("$pm" --version), measured here ($podman_runs runs each, kube down untimed between runs)"
        else
            "$pm" kube down "$peer_pod" >/dev/null 2>&1 || true
            sed -i '/^warm podman\t/d; /^cold podman\t/d' "$work/results"
            podman_note="podman: kube play failed ($(tail -n 1 "$work/stderr.log")), skipped"
        fi
    fi
fi
echo "$podman_note" >&2

echo "2. apply -f DIR of $pods pods, once ..." >&2
clitime --runs 1 "apply$pods" "$podrec" apply -f "$work/m/dir$pods"
running="$("$podrec" get | grep -c ' 2/2 .*Running' || true)"
[ "$running" = "$pods" ] || { echo "cli-run.sh: after apply, $running of $pods pods are 2/2 Running" >&2; exit 1; }
echo "2. get with $pods pods running: $runs runs + 1 uncounted ..." >&2
clitime --runs "$runs" --warmup 1 "get$pods" "$podrec" get
echo "2. delete --all of $pods pods, once ..." >&2
clitime --runs 1 "delete$pods" "$podrec" delete --all --grace-period 0
echo "2. apply -f DIR of $diff_pods pods, once ..." >&2
clitime --runs 1 "apply$diff_pods" "$podrec" apply -f "$work/m/dir$diff_pods"
running="$("$podrec" get | grep -c ' 2/2 .*Running' || true)"
[ "$running" = "$diff_pods" ] || { echo "cli-run.sh: after apply, $running of $diff_pods pods are 2/2 Running" >&2; exit 1; }
diff_status=0
diff_out="$("$podrec" diff -f "$work/m/dir$diff_pods" 2>&1)" || diff_status=$?
[ "$diff_status" = 0 ] && [ -z "$diff_out" ] || { echo "cli-run.sh: diff is not a no-op (status $diff_status): $diff_out" >&2; exit 1; }
echo "2. no-op diff -f DIR over $diff_pods pods: $runs runs + 1 uncounted, each must exit 0 ..." >&2
clitime --runs "$runs" --warmup 1 "diff$diff_pods" "$podrec" diff -f "$work/m/dir$diff_pods"
echo "2. delete --all of $diff_pods pods, once ..." >&2
clitime --runs 1 "delete$diff_pods" "$podrec" delete --all --grace-period 0
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
elapsed=$((SECONDS - started))
results="$(cat "$work/results")"
raw="$(cat "$work/raw.tsv")"

# Clean up, then check that nothing of this run is left: cgroups, podlb's pod, mounts, processes.
cleanup
sleep 0.5
leftovers="$(ls -d /sys/fs/cgroup/*/"$parent" /sys/fs/cgroup/*/podlb/"$lbname" "/run/podlb/$lbname" "$work" 2>/dev/null || true)"
mounts="$(grep -c -e "$parent" -e "$work" /proc/self/mountinfo || true)"
procs="$(grep -l -e "$parent" -e "podlb/$lbname" /proc/[0-9]*/cgroup 2>/dev/null || true)"
if [ -n "$leftovers" ] || [ "$mounts" != 0 ] || [ -n "$procs" ]; then
    echo "cli-run.sh: left behind: $leftovers; $mounts mounts; processes: $procs" >&2
    exit 1
fi
echo "cleanup checked: no $parent cgroup in any hierarchy, no podlb/$lbname, no mount, no process left" >&2

# The tables.
row() {  # text, key, and the key of the podrec row to divide by this row ("" for none)
    local r=""
    [ -n "$3" ] && r="$(ratio "$(field "$3" 3)" "$(field "$2" 3)")×"
    echo "| $1 | $(field "$2" 2) | $(field "$2" 3) | $(field "$2" 4) | $(field "$2" 5) | $(field "$2" 6) | $(field "$2" 7) | $r |"
}
echo "### podrec CLI, whole processes (fork + exec until exit), ms"
echo
echo "| measurement | runs | median | p90 | min | max | CPU, median | podrec ÷ this (medians) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
row "warm: **podrec apply -f pod.yaml** (the 2-container pod)" "warm podrec" ""
row "warm: podlb up" "warm podlb" "warm podrec"
[ -n "$(field "warm podman" 3)" ] && row "warm: podman kube play pod.yaml" "warm podman" "warm podrec"
row "cold (${gap_ms} ms apart): **podrec apply -f pod.yaml**" "cold podrec" ""
row "cold (${gap_ms} ms apart): podlb up" "cold podlb" "cold podrec"
[ -n "$(field "cold podman" 3)" ] && row "cold (${gap_ms} ms apart): podman kube play pod.yaml" "cold podman" "cold podrec"
row "for reference: podrec --help (starting the process, no work)" "help" ""
row "for reference: podrec get, no pods" "get0" ""
echo
echo "$podman_note."
echo
echo "| measurement | runs | median | p90 | min | max | CPU, median | per pod |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
perpod() { awk -v a="$(field "$1" 3)" -v n="$2" 'BEGIN { printf "%.2f", a / n }'; }
echo "| podrec apply -f DIR, $pods pods (one run) | 1 | $(field "apply$pods" 3) | | | | $(field "apply$pods" 7) | $(perpod "apply$pods" "$pods") |"
row "podrec get, $pods pods running" "get$pods" ""
echo "| for reference: podrec delete --all --grace-period 0, $pods pods (one run) | 1 | $(field "delete$pods" 3) | | | | $(field "delete$pods" 7) | $(perpod "delete$pods" "$pods") |"
echo "| for reference: podrec apply -f DIR, $diff_pods pods (one run) | 1 | $(field "apply$diff_pods" 3) | | | | $(field "apply$diff_pods" 7) | $(perpod "apply$diff_pods" "$diff_pods") |"
row "**podrec diff -f DIR, no-op, $diff_pods pods running** (every run exit 0)" "diff$diff_pods" ""
echo "| for reference: podrec delete --all --grace-period 0, $diff_pods pods (one run) | 1 | $(field "delete$diff_pods" 3) | | | | $(field "delete$diff_pods" 7) | $(perpod "delete$diff_pods" "$diff_pods") |"
echo
echo "Budgets:"
echo
verdict() { awk -v v="$1" -v lim="$2" -v dir="$3" 'BEGIN { ok = dir == "min" ? v >= lim : v < lim; print ok ? "within" : "**over**" }'; }
for mode in warm cold; do
    ours="$(field "$mode podrec" 3)"
    if [ -n "$(field "$mode podman" 3)" ]; then
        theirs="$(field "$mode podman" 3)"
        x="$(ratio "$theirs" "$ours")"
        echo "- apply of the pod, $mode, ≥ 20× faster than podman kube play (measured here, $theirs ms): ${x}× → $(verdict "$x" 20 min)"
    else
        lo="$(ratio 266.9 "$ours")" hi="$(ratio 303.6 "$ours")"
        echo "- apply of the pod, $mode, ≥ 20× faster than podman kube play: podman **not measured here**; against peer-baseline.md's kube play medians (crun, 266.9 ms with --network none, 303.6 ms with the bridge): ${lo}×–${hi}× (podrec $ours ms; 20× needs ≤ 13.3–15.2 ms) → $(verdict "$lo" 20 min) against 266.9 ms, $(verdict "$hi" 20 min) against 303.6 ms"
    fi
done
d="$(field "diff$diff_pods" 3)"
echo "- no-op diff over $diff_pods pods < 100 ms (median): $d ms → $(verdict "$d" 100 max)"
echo
echo "podrec revision: $revision; podrec $(stat -c %s "$podrec") bytes ($(ldd "$podrec" 2>/dev/null | grep -c '=>' || true) shared libraries), podrec-supervisor $(stat -c %s "$podrec_bin/podrec-supervisor") bytes."
echo "Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), kernel $(uname -r);" \
     "load average $load_before before, $load_after after; measurements took ${elapsed} s; $(date -u '+%Y-%m-%d %H:%M UTC')."
echo "Versions: $(swift --version 2>/dev/null | head -1); $(gcc --version | head -1) (podlb: gcc -O2)."
echo
echo "<details><summary>every run (ms)</summary>"
echo
echo '```'
echo "$raw"
echo '```'
echo "</details>"
