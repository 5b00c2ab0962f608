# Sourced by the benchmarks that run real pods (cli-run.sh, probe-run.sh, scale-run.sh,
# soak-run.sh, watch-run.sh): the release build they measure, the roots and the cgroup
# parent that hold everything a run makes, and the removal of that parent at the end.
# The caller sets $repo (the package) and $scratch (SwiftPM's build dir).

# build_podrec: podrec and podrec-supervisor in release into $scratch (exits if either is
# missing); the supervisor is found beside podrec. Sets $podrec_bin (the directory) and
# $podrec.
build_podrec() {
    echo "building podrec and podrec-supervisor (release) into $scratch ..." >&2
    swift build -c release --package-path "$repo" --scratch-path "$scratch" --product podrec-supervisor >&2
    swift build -c release --package-path "$repo" --scratch-path "$scratch" --product podrec >&2
    podrec_bin="$(swift build -c release --package-path "$repo" --scratch-path "$scratch" --show-bin-path)"
    [ -x "$podrec_bin/podrec" ] && [ -x "$podrec_bin/podrec-supervisor" ] || { echo "no podrec or podrec-supervisor in $podrec_bin" >&2; exit 1; }
    podrec="$podrec_bin/podrec"
}

# use_lab NAME: one temp dir, $work (/tmp/podrec-NAME-*), and one cgroup parent, $parent
# (podrec-NAME-PID), for everything this run makes; podrec's roots below them. The state
# root is $state when the caller set one (a tmpfs, as /run is on a real host), else
# $work/run. $work is 0755, so that a container's non-root user can reach its volumes.
use_lab() {
    work="$(mktemp -d "/tmp/podrec-$1-XXXXXX")"
    chmod 755 "$work"
    parent="podrec-$1-$$"
    export PODREC_ROOT="${state:-$work/run}" PODREC_DATA_ROOT="$work/data" PODREC_LOG_DIR="$work/log"
    export PODREC_CGROUP_ROOT="$parent" NO_COLOR=1
    # Pods with only lo unless a benchmark runs podrec in a namespace of its own with a
    # network (network-run.sh sets PODREC_POD_NETWORK=cni there).
    export PODREC_POD_NETWORK="${PODREC_POD_NETWORK:-none}"
    unset PODREC_SUPERVISOR
}

# remove_cgroup_tree DIR: kills whatever is still in one cgroup subtree of ours, then removes
# it, deepest first, retrying while the last processes exit (EBUSY).
remove_cgroup_tree() {
    local top="$1" pids tries
    [ -d "$top" ] || return 0
    pids="$(find "$top" -name cgroup.procs -exec cat {} + 2>/dev/null || true)"
    if [ -n "$pids" ]; then
        echo "cleanup: killing processes left in $top: $(echo $pids)" >&2
        kill -KILL $pids 2>/dev/null || true
    fi
    for tries in 1 2 3 4 5 6 7 8 9 10; do
        find "$top" -depth -type d -exec rmdir {} \; 2>/dev/null || true
        [ -d "$top" ] || return 0
        sleep 0.1
    done
}

# remove_parent: removes $parent in every hierarchy (remove_cgroup_tree), then says whether
# any is left; returns 1 if so.
remove_parent() {
    local d left
    for d in $(find /sys/fs/cgroup -maxdepth 3 -type d -name "$parent" 2>/dev/null); do remove_cgroup_tree "$d"; done
    left="$(find /sys/fs/cgroup -maxdepth 3 -type d -name "$parent" 2>/dev/null)"
    if [ -n "$left" ]; then
        echo "cleanup: cgroups left: $left" >&2
        return 1
    fi
    echo "cleanup checked: no $parent cgroup" >&2
}
