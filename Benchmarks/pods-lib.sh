# Sourced by the benchmarks that run real pods (cli-run.sh, network-run.sh, probe-run.sh,
# scale-run.sh, soak-run.sh, watch-run.sh): the release build they measure, the roots and the
# cgroup parent that hold everything a run makes, and the removal of that parent at the end;
# and for cli-run.sh and network-run.sh the peers' pod and clitime's runs and results.
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

# The peers' pod (../shared/reference/peers/pod.yaml) for podrec's image contract: the same
# two containers, commands, limits and emptyDir; `image: host` instead of the busybox image,
# and terminationGracePeriodSeconds 0. `sleep` ignores SIGTERM as PID 1 of its PID namespace,
# and `delete --grace-period 0` does not shorten the grace period the supervisor gives the
# containers (the plan's, default 30 s): it only bounds the CLI's wait, to 0 + 2 s, after which
# it kills the pod's cgroups. With the default, every untimed delete took 2 s.
pod_yaml() {
    cat <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $1
spec:
  restartPolicy: Always
  terminationGracePeriodSeconds: 0
  containers:
  - name: a
    image: host
    command: ["sleep", "3600"]
    resources:
      limits: {memory: 64Mi, cpu: 500m}
    volumeMounts:
    - {name: scratch, mountPath: /data}
  - name: b
    image: host
    command: ["sleep", "3600"]
    resources:
      limits: {memory: 32Mi, cpu: 250m}
    volumeMounts:
    - {name: scratch, mountPath: /data}
  volumes:
  - name: scratch
    emptyDir: {}
EOF
}

# run_clitime [WRAPPER...] -- ARGS...: runs $work/bin/clitime ARGS (behind WRAPPER, e.g.
# nsenter into a namespace) in the background, so that a signal reaches the caller's trap at
# once (the trap kills $helper_pid), and appends its lines to $work/results. A measured
# command that fails ends the run with clitime's stderr.
run_clitime() {
    local wrapper=()
    while [ "$1" != "--" ]; do wrapper+=("$1"); shift; done
    shift
    "${wrapper[@]}" "$work/bin/clitime" --raw "$work/raw.tsv" --log "$work/stderr.log" "$@" >"$work/part" &
    helper_pid=$!
    local status=0
    wait "$helper_pid" || status=$?
    helper_pid=""
    if [ "$status" != 0 ]; then
        echo "$(basename "$0"): a measured command failed (clitime status $status); its stderr:" >&2
        tail -n 20 "$work/stderr.log" >&2
        exit 1
    fi
    cat "$work/part" >>"$work/results"
}

# stop_clitime: the first step of every script's cleanup: a clitime still running (an
# interrupted run) is stopped; it stops after the command it is running.
stop_clitime() {
    if [ -n "$helper_pid" ] && kill -0 "$helper_pid" 2>/dev/null; then
        kill -TERM "$helper_pid" 2>/dev/null
        wait "$helper_pid" 2>/dev/null
    fi
}

# field LABEL COLUMN: a column of clitime's line LABEL in $results; ratio A B: A / B.
field() { awk -F'\t' -v l="$1" -v c="$2" '$1 == l { print $c }' <<<"$results"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
