#!/usr/bin/env bash
# The chaos soak (issue 8, part 2): `podrec watch` on a directory of 50 pods (10 files of 5
# pods, two busybox `sleep` containers each, with limits and an env value) for SECONDS
# (default 600), while the driver, Benchmarks/soak.py, at random edits, renames, deletes and
# creates files, SIGKILLs containers, supervisors and the watcher (started again, as systemd
# would), and writes cgroup limits by hand. After each batch of actions the invariants must
# hold again within --settle seconds: every pod of the files runs with its env and limits (read
# in the kernel: cgroup files, /proc/PID/environ), no other pod or process runs, no restart
# that no action explains, nothing logged twice for one cause. At the end every file is
# deleted, every pod must go, and nothing may be left: cgroups, mounts, processes, state,
# data and log dirs; each watcher instance's RSS and fds must stay flat. Prints markdown and
# exits 1 on any failure. Needs root and python3. See Benchmarks/README.md.
#
#   bash Benchmarks/soak-run.sh [SECONDS] [--scratch-path DIR] [--resync S] [--settle S] [--seed N]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
scratch="$here/.build/cli"
seconds=600 resync=2 settle=20 seed=""
usage="usage: $0 [SECONDS] [--scratch-path DIR] [--resync S] [--settle S] [--seed N]"
while [ $# -gt 0 ]; do
    case "$1" in
        --scratch-path) scratch="$2"; shift 2 ;;
        --resync) resync="$2"; shift 2 ;;
        --settle) settle="$2"; shift 2 ;;
        --seed) seed="$2"; shift 2 ;;
        [0-9]*) seconds="$1"; shift ;;
        *) echo "$usage" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "soak-run.sh: run as root (cgroups, namespaces)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "soak-run.sh: python3 is needed" >&2; exit 1; }

# Everything this run makes: one temp dir (roots, manifests, the watcher's logs) and one
# cgroup parent.
. "$here/pods-lib.sh"
use_lab soak
podrec="" status=0

# The driver cleans up and proves it; this is the net for a driver that stopped early: it
# stops the watcher by its pid, deletes the pods with the same roots, kills what is left in
# our own cgroup parent only, and removes that parent.
cleanup() {
    set +e
    local watcher
    watcher="$(cat "$work/watcher.pid" 2>/dev/null)"
    if [ -n "$watcher" ] && kill -0 "$watcher" 2>/dev/null && grep -q "watch" "/proc/$watcher/cmdline" 2>/dev/null; then
        kill -KILL "$watcher"
    fi
    if [ -n "$podrec" ]; then "$podrec" delete --all --grace-period 0 >/dev/null 2>&1; fi
    remove_parent
    if grep -q "$work" /proc/self/mountinfo /proc/1/mountinfo; then
        echo "soak-run.sh: mounts left under $work; not removing it" >&2
    elif [ "$status" = 0 ]; then
        rm -rf "$work"
    else
        echo "soak-run.sh: failed; the watcher's logs stay in $work" >&2
        rm -rf "$work/run" "$work/data"
    fi
}
trap cleanup EXIT

build_podrec

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
started=$SECONDS
python3 "$here/soak.py" --podrec "$podrec" --work "$work" --seconds "$seconds" --resync "$resync" \
    --settle "$settle" ${seed:+--seed "$seed"} || status=$?
echo
echo "podrec revision: $(git -C "$repo" rev-parse --short HEAD)$(git -C "$repo" diff --quiet HEAD -- Sources || echo ' + uncommitted changes under Sources/')."
echo "Machine: $(nproc) CPUs, kernel $(uname -r); load average $load_before before, $(cut -d' ' -f1-3 /proc/loadavg) after; took $((SECONDS - started)) s; $(date -u '+%Y-%m-%d %H:%M UTC')."
exit "$status"
