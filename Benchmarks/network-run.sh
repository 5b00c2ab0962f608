#!/usr/bin/env bash
# What the pod network costs, in one run: `podrec apply -f` of the peers' 2-container pod with
# podrec's default CNI network against the same without a network and against `podman kube
# play` with its default bridge network; the time of each CNI plugin call; 50 pods applied from
# one dir and deleted, with and without the network; iperf3 throughput pod to pod and node to
# pod over podrec's bridge against a plain veth pair. Prints markdown tables.
# See Benchmarks/README.md, "Pod network (network-run.sh)". Needs root, gcc, iproute2
# (ip, ss), nsenter, iptables, iperf3, jq and containernetworking-plugins; podman optional.
#
#   bash Benchmarks/network-run.sh [--scratch-path DIR] [--runs N] [--plugin-runs N] [--pods N]
#                                  [--scale-rounds N] [--podman-runs N] [--no-podman]
#                                  [--iperf-runs N] [--iperf-seconds S] [--wait-load SECONDS]
#
# Nothing leaves the machine and nothing changes in the host's network namespace: every podrec,
# podman, plugin, iptables and iperf3 process runs in a network namespace this script made
# ("node" namespaces with only lo up, so no route off the machine; two more joined by a veth
# pair made inside them), or in a pod's namespace. The script snapshots the host namespace's
# links, addresses, routes, rules, iptables and ip_forward before and after, and fails if
# they differ. On exit (and on SIGINT, SIGTERM, SIGHUP) it removes everything it made:
# pods (with CNI DEL), processes (by pid), cgroups, mounts, namespaces, temp dirs.
#
# --scratch-path: SwiftPM's build dir for podrec and podrec-supervisor, built in release from
# the main package (default Benchmarks/.build/net). --wait-load: before measuring, wait up to
# SECONDS (polling every 10 s) for the 1-minute load average to fall below 1.0; the output says
# whether it did. Progress goes to stderr, the tables to stdout.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
scratch="$here/.build/net"
peers="$(cd "$repo/.." && pwd)/shared/reference/peers"
runs=20 plugin_runs=20 pods=50 scale_rounds=3 podman_runs=5 iperf_runs=5 iperf_seconds=5 wait_load=0 use_podman=1
usage="usage: $0 [--scratch-path DIR] [--runs N] [--plugin-runs N] [--pods N] [--scale-rounds N] [--podman-runs N] [--no-podman] [--iperf-runs N] [--iperf-seconds S] [--wait-load SECONDS]"
while [ $# -gt 0 ]; do
    case "$1" in
        --scratch-path) scratch="$2"; shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        --plugin-runs) plugin_runs="$2"; shift 2 ;;
        --pods) pods="$2"; shift 2 ;;
        --scale-rounds) scale_rounds="$2"; shift 2 ;;
        --podman-runs) podman_runs="$2"; shift 2 ;;
        --no-podman) use_podman=0; shift ;;
        --iperf-runs) iperf_runs="$2"; shift 2 ;;
        --iperf-seconds) iperf_seconds="$2"; shift 2 ;;
        --wait-load) wait_load="$2"; shift 2 ;;
        *) echo "$usage" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "network-run.sh: run as root (cgroups, namespaces)" >&2; exit 1; }
for t in gcc ip ss nsenter iptables iperf3 jq; do
    command -v "$t" >/dev/null || { echo "network-run.sh: $t is needed" >&2; exit 1; }
done
cni_dir=/usr/lib/cni
for p in bridge host-local portmap firewall tuning; do
    [ -x "$cni_dir/$p" ] || { echo "network-run.sh: no $cni_dir/$p (containernetworking-plugins)" >&2; exit 1; }
done

# Everything this run makes: one temp dir (roots, manifests, tools, podman's storage), one
# cgroup parent for podrec, and network namespaces named podrec-netbench-<pid>-*.
. "$here/pods-lib.sh"
use_lab netbench
export PODREC_CNI_CONF_DIR="$work/net.d" PODREC_CNI_BIN_DIR="$cni_dir"   # never /etc/podrec/net.d
tag="podrec-netbench-$$"
node="$tag-node"        # podrec's node: podrec0, its veths, the plugins' rules
pm_node="$tag-podman"   # podman's node (its kube network, 10.89.0.0/24, overlaps podrec's 10.89.0.0/16)
veth_a="$tag-va" veth_b="$tag-vb"   # the plain veth pair
made_netns=() helper_pid="" iperf_pids=() podrec="" podman_ready=0 cleaned=0
made_libpod_parent=() made_run_containers=0 made_run_networks=0
pm=()

snapshot_host_net() {  # the host namespace's network state, counters left out
    ip -o link show | sed -E 's/ (qlen|link-netnsid) [0-9]+//g'
    ip -o addr show | sed -E 's/valid_lft .*//'
    ip route show table all
    ip rule show
    iptables -S 2>/dev/null; iptables -t nat -S 2>/dev/null
    cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null
}
host_net_before="$(snapshot_host_net)"

ns_inode() { stat -L -c %i "/run/netns/$1" 2>/dev/null; }

cleanup() {
    [ "$cleaned" = 1 ] && return 0
    cleaned=1
    set +e
    stop_clitime
    local p
    for p in ${iperf_pids[@]+"${iperf_pids[@]}"}; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    # podrec's pods, with CNI DEL (the default plugins; the delete reads each attachment's record).
    if [ -n "$podrec" ] && [ -d "$work/run" ] && [ -e "/run/netns/$node" ]; then
        nsenter --net="/run/netns/$node" "$podrec" delete --all --grace-period 0 >/dev/null 2>&1
    fi
    if [ "$podman_ready" = 1 ]; then
        nsenter --net="/run/netns/$pm_node" "${pm[@]}" pod rm -a -f -t 0 >/dev/null 2>&1
        nsenter --net="/run/netns/$pm_node" "${pm[@]}" system reset -f >/dev/null 2>&1
    fi
    # Any process still in one of our namespaces (aardvark-dns, conmon, iperf3): killed by pid.
    local ino inodes="" pid
    for p in "${made_netns[@]+"${made_netns[@]}"}"; do ino="$(ns_inode "$p")" && inodes="$inodes $ino"; done
    if [ -n "$inodes" ]; then
        for pid in $(ls /proc | grep -E '^[0-9]+$'); do
            ino="$(stat -L -c %i "/proc/$pid/ns/net" 2>/dev/null)" || continue
            case " $inodes " in *" $ino "*) echo "cleanup: killing $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-60)) in one of our namespaces" >&2
                                           kill -KILL "$pid" 2>/dev/null ;; esac
        done
    fi
    remove_parent >/dev/null
    local c d
    for c in ${made_libpod_parent[@]+"${made_libpod_parent[@]}"}; do remove_cgroup_tree "/sys/fs/cgroup/$c/libpod_parent"; done
    [ "$made_run_networks" = 1 ] && rm -rf /run/containers/networks
    [ "$made_run_containers" = 1 ] && rmdir /run/containers 2>/dev/null
    # Mounts under the temp dir (netns pins, podman's overlay), deepest first.
    for d in $(awk -v w="$work" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do umount -l "$d" 2>/dev/null; done
    for p in "${made_netns[@]+"${made_netns[@]}"}"; do ip netns delete "$p" 2>/dev/null; done
    rm -rf "$work"
    set -e
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

mk_netns() {
    ip netns add "$1"
    made_netns+=("$1")
    ip -n "$1" link set lo up
}
in_ns() { local n="$1"; shift; nsenter --net="/run/netns/$n" "$@"; }

mkdir -p "$work/bin" "$work/m" "$work/log/pods" "$work/cniwrap"
echo "compiling clitime and cniwrap (gcc -O2) into $work/bin ..." >&2
gcc -O2 -o "$work/bin/clitime" "$here/clitime.c" -lm
gcc -O2 -DREAL_DIR="\"$cni_dir\"" -DLOG="\"$work/plugin-calls.tsv\"" -o "$work/bin/cniwrap" "$here/cniwrap.c"
for p in bridge host-local portmap firewall tuning loopback; do ln "$work/bin/cniwrap" "$work/cniwrap/$p"; done

build_podrec

# The namespaces. Only lo is up in each node: no interface leads off the machine.
mk_netns "$node"
mk_netns "$veth_a"
mk_netns "$veth_b"
ip -n "$veth_a" link add eth0 type veth peer name eth0 netns "$veth_b"
ip -n "$veth_a" addr add 10.199.0.1/24 dev eth0
ip -n "$veth_b" addr add 10.199.0.2/24 dev eth0
ip -n "$veth_a" link set eth0 up
ip -n "$veth_b" link set eth0 up

# The throughput pods: one container, no limits (iperf3 runs in the pod's net namespace, not
# its cgroups, but a pod without limits says so plainly).
iperf_pod_yaml() {
    cat <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $1
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: c
    image: host
    command: ["sleep", "3600"]
EOF
}
mkdir -p "$work/m/dir$pods" "$work/m/iperf"
pod_yaml bench >"$work/m/pod.yaml"
for i in $(seq -w 1 "$pods"); do pod_yaml "bench-$i" >"$work/m/dir$pods/bench-$i.yaml"; done
iperf_pod_yaml iperf-a >"$work/m/iperf/a.yaml"
iperf_pod_yaml iperf-b >"$work/m/iperf/b.yaml"

# check-pods N MODE: after an apply, `podrec get -o json` lists N pods, each 2/2 Running, each
# with a pod IP in 10.89.0.0/16 (cni) or none (none).
cat >"$work/bin/check-pods" <<EOF
#!/bin/bash
set -euo pipefail
out="\$("$podrec" get -o json)"
n="\$(jq '[.[] | select(.ready == "2/2" and .status == "Running")] | length' <<<"\$out")"
if [ "\$2" = cni ]; then ips="\$(jq '[.[] | select(.podIP | startswith("10.89."))] | length' <<<"\$out")"
else ips="\$(jq '[.[] | select(.podIP == "")] | length' <<<"\$out")"; fi
[ "\$n" = "\$1" ] && [ "\$ips" = "\$1" ] || { echo "check-pods: \$n of \$1 pods 2/2 Running, \$ips with the expected pod IP (\$2)" >&2; exit 1; }
EOF
chmod +x "$work/bin/check-pods"

: >"$work/results"
# clitime in $1's namespace; its lines go to $work/results (pods-lib.sh, run_clitime).
clitime() {
    local ns="$1"; shift
    run_clitime nsenter --net="/run/netns/$ns" -- "$@"
}
drop_logs=(/usr/bin/find "$work/log/pods" -mindepth 1 -maxdepth 1 -exec rm -rf {} +)
net() { echo "--pod-network" "$1"; }

revision="$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git -C "$repo" status --porcelain -- Sources Package.swift 2>/dev/null)" ]; then
    revision="$revision + uncommitted changes under Sources/"
fi

load_note="not waited for"
if [ "$wait_load" -gt 0 ]; then
    waited=0
    while awk '{ exit !($1 >= 1.0) }' /proc/loadavg && [ "$waited" -lt "$wait_load" ]; do
        echo "waiting for the 1-minute load average to fall below 1.0: $(cut -d' ' -f1-3 /proc/loadavg) ($waited of $wait_load s)" >&2
        sleep 10
        waited=$((waited + 10))
    done
    if awk '{ exit !($1 < 1.0) }' /proc/loadavg; then load_note="waited ${waited} s for the 1-minute load average to fall below 1.0"
    else load_note="waited ${waited} s; the 1-minute load average stayed at or above 1.0"; fi
fi
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
started=$SECONDS
date_started="$(date -u '+%Y-%m-%d %H:%M UTC')"

# 1. apply of the peer pod. The first networked apply on a fresh node writes the conflist and
# makes podrec0: timed once, for reference.
echo "1. first networked apply on a fresh node (writes the conflist, makes podrec0), once ..." >&2
clitime "$node" --runs 1 "first cni" "$podrec" apply $(net cni) -f "$work/m/pod.yaml"
in_ns "$node" "$work/bin/check-pods" 1 cni
first_ip="$(in_ns "$node" "$podrec" get -o json | jq -r '.[0].podIP')"
in_ns "$node" "$podrec" delete $(net cni) --all --grace-period 0 >/dev/null
"${drop_logs[@]}"
echo "1. apply of one pod, warm, with and without the network: $runs runs + 1 uncounted, interleaved ..." >&2
clitime "$node" --runs "$runs" --warmup 1 --interleave \
    "apply none" "$podrec" apply $(net none) -f "$work/m/pod.yaml" :: \
    "delete none" "$podrec" delete $(net none) --all --grace-period 0 --then "${drop_logs[@]}" :: \
    "apply cni" "$podrec" apply $(net cni) -f "$work/m/pod.yaml" :: \
    "delete cni" "$podrec" delete $(net cni) --all --grace-period 0 --then "${drop_logs[@]}"

# 1b. podman kube play, as peer-baseline.md ran it (reference/peers: pod.yaml, the localhost/bbox
# image from mkimage.sh's recipe, env.sh's containers.conf with the crun-v1 wrapper), with its
# storage, state and network config under the temp dir, in a node namespace of its own.
podman_note="podman: not measured (--no-podman)"
if [ "$use_podman" = 1 ]; then
    if ! command -v podman >/dev/null; then
        podman_note="podman: not installed here, not measured"
    elif [ ! -f "$peers/crun-v1.c" ] || [ ! -f "$peers/pod.yaml" ]; then
        podman_note="podman: no $peers/crun-v1.c or pod.yaml, not measured"
    else
        echo "1. podman: its own node namespace, storage and the localhost/bbox image ..." >&2
        mk_netns "$pm_node"
        for c in $(ls /sys/fs/cgroup); do
            [ -d "/sys/fs/cgroup/$c" ] && [ ! -L "/sys/fs/cgroup/$c" ] && [ ! -d "/sys/fs/cgroup/$c/libpod_parent" ] && made_libpod_parent+=("$c")
        done
        [ -d /run/containers ] || made_run_containers=1
        [ -d /run/containers/networks ] || made_run_networks=1
        gcc -O2 -o "$work/bin/crun-v1" "$peers/crun-v1.c"
        cat >"$work/containers.conf" <<CONF
[containers]
log_driver = "k8s-file"
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "crun"

[engine.runtimes]
crun = ["$work/bin/crun-v1"]
CONF
        export CONTAINERS_CONF="$work/containers.conf"
        pm=("$(command -v podman)" --root "$work/pm/root" --runroot "$work/pm/run" --tmpdir "$work/pm/tmp"
            --network-config-dir "$work/pm/net" --volumepath "$work/pm/vol")
        podman_ready=1
        r="$work/bbox"
        mkdir -p "$r"/{bin,etc,proc,sys,dev,tmp,data,root}
        cp /bin/busybox "$r/bin/busybox"
        for a in $("$r/bin/busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"; done
        echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
        echo 'root:x:0:' >"$r/etc/group"
        tar -C "$r" -cf "$work/bbox.tar" .
        if in_ns "$pm_node" "${pm[@]}" import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' "$work/bbox.tar" localhost/bbox:latest >/dev/null 2>>"$work/stderr.log"; then
            echo "1. podman kube play (bridge), warm: $podman_runs runs + 1 uncounted (kube down untimed) ..." >&2
            if nsenter --net="/run/netns/$pm_node" "$work/bin/clitime" --raw "$work/raw.tsv" --log "$work/stderr.log" --runs "$podman_runs" --warmup 1 \
                   "apply podman" "${pm[@]}" kube play "$peers/pod.yaml" --then "${pm[@]}" kube down "$peers/pod.yaml" >>"$work/results"; then
                podman_note="podman: $(podman --version | sed 's/podman version //') with netavark, measured here in a node namespace of its own ($podman_runs runs + 1 uncounted; kube down untimed between runs)"
            else
                in_ns "$pm_node" "${pm[@]}" kube down "$peers/pod.yaml" >/dev/null 2>&1 || true
                podman_note="podman: kube play failed ($(tail -n 1 "$work/stderr.log")), not measured"
            fi
        else
            podman_note="podman: import of localhost/bbox failed ($(tail -n 1 "$work/stderr.log")), not measured"
        fi
    fi
fi
echo "$podman_note" >&2

# 2. Each plugin call, through the wrappers (this part only).
echo "2. plugin calls through timing wrappers: $plugin_runs applies and deletes + 1 uncounted ..." >&2
wrapped=(--cni-bin-dir "$work/cniwrap")
clitime "$node" --runs 1 "wrapped warmup" "$podrec" apply $(net cni) "${wrapped[@]}" -f "$work/m/pod.yaml" \
    --then "$podrec" delete $(net cni) "${wrapped[@]}" --all --grace-period 0 --then "${drop_logs[@]}"
sed -i '/^wrapped warmup\t/d' "$work/results"
: >"$work/plugin-calls.tsv"
clitime "$node" --runs "$plugin_runs" --interleave \
    "apply cni wrapped" "$podrec" apply $(net cni) "${wrapped[@]}" -f "$work/m/pod.yaml" :: \
    "delete cni wrapped" "$podrec" delete $(net cni) "${wrapped[@]}" --all --grace-period 0 --then "${drop_logs[@]}"
cp "$work/plugin-calls.tsv" "$work/plugin-calls.kept"
# For reference: one iptables process in the node namespace (the plugins run 19 per ADD and
# 10 per DEL, and podrec's sweep after each full pass 2; see README).
clitime "$node" --runs "$plugin_runs" --warmup 1 "iptables nat -S" "$(command -v iptables)" -w -t nat -S
# And what the kernel takes to make and remove a veth pair (`ip` as a whole process).
ipbin="$(command -v ip)"
clitime "$node" --runs "$plugin_runs" --warmup 1 --interleave \
    "veth add" "$ipbin" link add nbveth0 type veth peer name nbveth1 :: "veth del" "$ipbin" link del nbveth0

# 3. Many pods from one dir, with and without the network, interleaved.
echo "3. apply -f DIR of $pods pods and delete --all, with and without the network: $scale_rounds rounds, interleaved ..." >&2
clitime "$node" --runs "$scale_rounds" --interleave \
    "apply$pods none" "$podrec" apply $(net none) -f "$work/m/dir$pods" --then "$work/bin/check-pods" "$pods" none :: \
    "delete$pods none" "$podrec" delete $(net none) --all --grace-period 0 --then "${drop_logs[@]}" :: \
    "apply$pods cni" "$podrec" apply $(net cni) -f "$work/m/dir$pods" --then "$work/bin/check-pods" "$pods" cni :: \
    "delete$pods cni" "$podrec" delete $(net cni) --all --grace-period 0 --then "${drop_logs[@]}"
leases_left="$(find "$work/run/network/ipam" -type f -name '10.89.*' 2>/dev/null | wc -l)"
pins_left="$(find "$work/run/network/netns" -mindepth 1 2>/dev/null | wc -l)"
veths_left="$(in_ns "$node" ip -o link show type veth | wc -l)"

# 4. Throughput. Two pods on podrec's bridge; iperf3 runs in their net namespaces through the
# pins under <root>/network/netns (nsenter --net=PIN), and in the node's namespace; the plain
# veth pair joins two namespaces of this script's. Runs interleaved: veth, pod→pod, node→pod.
echo "4. iperf3: two pods, servers, $iperf_runs runs of ${iperf_seconds} s per path, interleaved ..." >&2
in_ns "$node" "$podrec" apply $(net cni) -f "$work/m/iperf" >/dev/null
ipjson="$(in_ns "$node" "$podrec" get -o json)"
ip_a="$(jq -r '.[] | select(.name == "iperf-a") | .podIP' <<<"$ipjson")"
ip_b="$(jq -r '.[] | select(.name == "iperf-b") | .podIP' <<<"$ipjson")"
pin_a="" pin_b=""
for pin in "$work/run/network/netns"/*; do
    a="$(nsenter --net="$pin" ip -4 -o addr show dev eth0 | awk '{ sub("/.*", "", $4); print $4 }')"
    [ "$a" = "$ip_a" ] && pin_a="$pin"
    [ "$a" = "$ip_b" ] && pin_b="$pin"
done
[ -n "$pin_a" ] && [ -n "$pin_b" ] || { echo "network-run.sh: no netns pin for $ip_a / $ip_b" >&2; exit 1; }
nsenter --net="$pin_a" iperf3 -s -p 5201 >/dev/null 2>&1 &
iperf_pids+=($!)
in_ns "$veth_b" iperf3 -s -p 5201 >/dev/null 2>&1 &
iperf_pids+=($!)
for tries in $(seq 50); do
    if [ -n "$(nsenter --net="$pin_a" ss -Hltn 'sport = :5201')" ] && [ -n "$(in_ns "$veth_b" ss -Hltn 'sport = :5201')" ]; then break; fi
    sleep 0.1
done
bridge_nf="$(in_ns "$node" cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null || echo absent)"
: >"$work/iperf.tsv"
iperf_run() {  # label, then the nsenter target and the server address
    local label="$1" target="$2" addr="$3" out
    out="$(nsenter --net="$target" iperf3 -c "$addr" -p 5201 -t "$iperf_seconds" -O 1 -J)"
    jq -r --arg l "$label" '[$l, .end.sum_received.bits_per_second / 1e9, .end.sum_sent.retransmits,
        .end.cpu_utilization_percent.host_total, .end.cpu_utilization_percent.remote_total] | @tsv' <<<"$out" >>"$work/iperf.tsv"
}
for k in $(seq "$iperf_runs"); do
    iperf_run veth "/run/netns/$veth_a" 10.199.0.2
    iperf_run pod2pod "$pin_b" "$ip_a"
    iperf_run node2pod "/run/netns/$node" "$ip_a"
    # Diagnostic: the same pod-to-pod path with bridged frames kept out of iptables in the
    # node namespace (a per-namespace sysctl of the node this script made), then back.
    if [ "$bridge_nf" = 1 ]; then
        in_ns "$node" sh -c 'echo 0 >/proc/sys/net/bridge/bridge-nf-call-iptables'
        iperf_run pod2pod-nobrnf "$pin_b" "$ip_a"
        in_ns "$node" sh -c 'echo 1 >/proc/sys/net/bridge/bridge-nf-call-iptables'
    fi
done
for p in "${iperf_pids[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; done
iperf_pids=()
in_ns "$node" "$podrec" delete $(net cni) --all --grace-period 0 >/dev/null
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
elapsed=$((SECONDS - started))
results="$(cat "$work/results")"
raw="$(cat "$work/raw.tsv")"
calls="$(cat "$work/plugin-calls.kept")"
iperf="$(cat "$work/iperf.tsv")"
pm_version="$(command -v podman >/dev/null && podman --version | sed 's/podman version //' || echo none)"

# Clean up, then check that nothing of this run is left, and that the host's network namespace
# is as it was.
cleanup
sleep 0.5
leftovers="$(ls -d /sys/fs/cgroup/*/"$parent" "$work" /run/netns/"$tag"-* 2>/dev/null || true)"
mounts="$(grep -c -e "$parent" -e "$work" -e "$tag" /proc/self/mountinfo || true)"
procs="$(grep -l -e "$parent" /proc/[0-9]*/cgroup 2>/dev/null || true)"
host_net_after="$(snapshot_host_net)"
if [ -n "$leftovers" ] || [ "$mounts" != 0 ] || [ -n "$procs" ]; then
    echo "network-run.sh: left behind: $leftovers; $mounts mounts; processes: $procs" >&2
    exit 1
fi
if [ "$host_net_before" != "$host_net_after" ]; then
    echo "network-run.sh: the host's network namespace changed:" >&2
    diff <(echo "$host_net_before") <(echo "$host_net_after") >&2 || true
    exit 1
fi
echo "cleanup checked: no $parent cgroup, no $tag-* namespace, no mount or process left; the host's network namespace is unchanged" >&2

# The tables.
minus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.2f", a - b }'; }
row() {  # text, key, then the key to divide this row's median by ("" for none)
    local r=""
    [ -n "$3" ] && r="$(ratio "$(field "$2" 3)" "$(field "$3" 3)")×"
    echo "| $1 | $(field "$2" 2) | $(field "$2" 3) | $(field "$2" 4) | $(field "$2" 5) | $(field "$2" 6) | $(field "$2" 7) | $r |"
}
echo "### 1. apply of the 2-container pod, whole process (fork + exec until exit), warm, ms"
echo
echo "| measurement | runs | median | p90 | min | max | CPU, median | ÷ podrec with the network (medians) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
row "**podrec apply -f pod.yaml, default network** (bridge, host-local, portmap, firewall, tuning)" "apply cni" ""
row "podrec apply -f pod.yaml, \`--pod-network none\`" "apply none" "apply cni"
if [ -n "$(field "apply podman" 3)" ]; then
    row "podman kube play pod.yaml, its default bridge network (netavark)" "apply podman" "apply cni"
else
    echo "| podman kube play pod.yaml, bridge: **not measured here**; peer-baseline.md's figure from another run | 15 | 303.6 | | 266.9 | 348.8 | | $(ratio 303.6 "$(field "apply cni" 3)")× |"
fi
row "for reference: podrec delete --all, the networked pod (CNI DEL of 4 plugins)" "delete cni" ""
row "for reference: podrec delete --all, the pod without a network" "delete none" ""
echo "| for reference: the first networked apply on a fresh node (writes the conflist, makes podrec0; one run) | 1 | $(field "first cni" 3) | | | | $(field "first cni" 7) | |"
row "for reference: podrec apply, default network, plugins behind the timing wrappers (part 2)" "apply cni wrapped" "apply cni"
echo
echo "$podman_note. The first pod's IP: $first_ip."
echo
added="$(minus "$(field "apply cni" 3)" "$(field "apply none" 3)")"
cpu_added="$(minus "$(field "apply cni" 7)" "$(field "apply none" 7)")"
if [ -n "$(field "apply podman" 3)" ]; then pmed="$(field "apply podman" 3)"; pm_where="measured here"
else pmed=303.6; pm_where="peer-baseline.md, **another run**"; fi
x="$(ratio "$pmed" "$(field "apply cni" 3)")"
echo "Goals:"
echo
echo "- the network adds at most 25 ms to an apply (difference of medians): ${added} ms (CPU ${cpu_added} ms) → $(awk -v a="$added" 'BEGIN { print (a <= 25 ? "within" : "**over**") }')"
echo "- the networked apply at least 10× faster than podman kube play with its bridge ($pm_where, $pmed ms): ${x}× → $(awk -v a="$x" 'BEGIN { print (a >= 10 ? "within" : "**over**") }')"
echo
echo "### 2. Each plugin call, ms (wall time of the plugin process, from the wrapper; $plugin_runs applies and deletes)"
echo
echo "| plugin | command | calls | median | p90 | min | max | failed |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
stats() {  # reads numbers, one a line: n median p90 min max
    sort -n | awk '{ v[NR] = $1 } END { n = NR; if (n == 0) { print "0 - - - -"; exit }
        m = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2; r = int(0.9 * n); if (r < 0.9 * n) r++; if (r < 1) r = 1
        printf "%d %.2f %.2f %.2f %.2f\n", n, m, v[r], v[1], v[n] }'
}
sum_add=0 sum_del=0
for cmd in ADD DEL CHECK; do
    for p in bridge host-local portmap firewall tuning loopback; do
        vals="$(awk -F'\t' -v p="$p" -v c="$cmd" '$1 == p && $2 == c { print $3 }' <<<"$calls")"
        [ -n "$vals" ] || continue
        failed="$(awk -F'\t' -v p="$p" -v c="$cmd" '$1 == p && $2 == c && $4 != 0' <<<"$calls" | wc -l)"
        read -r n med p90 mn mx < <(stats <<<"$vals")
        label="$p"; [ "$p" = host-local ] && label="host-local (run by bridge; inside bridge's time)"
        echo "| $label | $cmd | $n | $med | $p90 | $mn | $mx | $failed |"
        if [ "$p" != host-local ]; then
            [ "$cmd" = ADD ] && sum_add="$(awk -v a="$sum_add" -v b="$med" 'BEGIN { print a + b }')"
            [ "$cmd" = DEL ] && sum_del="$(awk -v a="$sum_del" -v b="$med" 'BEGIN { print a + b }')"
        fi
    done
done
ipt="$(field "iptables nat -S" 3)"
echo "| for reference: one \`iptables -w -t nat -S\` process in the node namespace (clitime) | | $(field "iptables nat -S" 2) | $ipt | $(field "iptables nat -S" 4) | $(field "iptables nat -S" 5) | $(field "iptables nat -S" 6) | |"
for k in "veth add" "veth del"; do
    echo "| for reference: \`ip link $(cut -d' ' -f2 <<<"$k")\` of a veth pair in the node namespace (clitime) | | $(field "$k" 2) | $(field "$k" 3) | $(field "$k" 4) | $(field "$k" 5) | $(field "$k" 6) | |"
done
echo
echo "Sum of the medians of the chain's calls (bridge, portmap, firewall, tuning; host-local is inside bridge): ADD $(printf '%.2f' "$sum_add") ms, DEL $(printf '%.2f' "$sum_del") ms."
echo "Against part 1: the apply's added time $added ms, the delete's $(minus "$(field "delete cni" 3)" "$(field "delete none" 3)") ms."
echo
echo "### 3. $pods pods from one dir, then delete --all, ms ($scale_rounds rounds, interleaved; each apply checked: $pods pods 2/2 Running, with a 10.89 pod IP or none)"
echo
echo "| measurement | rounds | median | min | max | per pod | CPU, median |"
echo "|---|---:|---:|---:|---:|---:|---:|"
perpod() { awk -v a="$(field "$1" 3)" -v n="$pods" 'BEGIN { printf "%.2f", a / n }'; }
srow() { echo "| $1 | $(field "$2" 2) | $(field "$2" 3) | $(field "$2" 5) | $(field "$2" 6) | $(perpod "$2") | $(field "$2" 7) |"; }
srow "**podrec apply -f DIR, $pods pods, default network**" "apply$pods cni"
srow "podrec apply -f DIR, $pods pods, \`--pod-network none\`" "apply$pods none"
srow "**podrec delete --all --grace-period 0, $pods networked pods**" "delete$pods cni"
srow "podrec delete --all --grace-period 0, $pods pods without a network" "delete$pods none"
echo
echo "The network adds $(awk -v a="$(field "apply$pods cni" 3)" -v b="$(field "apply$pods none" 3)" -v n="$pods" 'BEGIN { printf "%.2f", (a - b) / n }') ms a pod to the apply and $(awk -v a="$(field "delete$pods cni" 3)" -v b="$(field "delete$pods none" 3)" -v n="$pods" 'BEGIN { printf "%.2f", (a - b) / n }') ms a pod to the delete. After the last delete: $leases_left leases, $pins_left netns pins, $veths_left veths left in the node."
echo
echo "### 4. Throughput, iperf3 TCP, Gbit/s ($iperf_runs runs of ${iperf_seconds} s each, first second omitted, interleaved)"
echo
echo "| path | runs | median | min | max | ÷ plain veth (medians) | loss against the veth | retransmits, median | CPU % sender / receiver, median |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
veth_med=""
for l in veth pod2pod node2pod pod2pod-nobrnf; do
    grep -q "^$l"$'\t' <<<"$iperf" || continue
    read -r n med p90 mn mx < <(awk -F'\t' -v l="$l" '$1 == l { print $2 }' <<<"$iperf" | stats)
    rt="$(awk -F'\t' -v l="$l" '$1 == l { print $3 }' <<<"$iperf" | stats | cut -d' ' -f2)"
    cs="$(awk -F'\t' -v l="$l" '$1 == l { print $4 }' <<<"$iperf" | stats | cut -d' ' -f2)"
    cr="$(awk -F'\t' -v l="$l" '$1 == l { print $5 }' <<<"$iperf" | stats | cut -d' ' -f2)"
    [ "$l" = veth ] && veth_med="$med"
    case "$l" in
        veth) text="plain veth pair, namespace to namespace (baseline)" ;;
        pod2pod) text="**pod to pod** over podrec0 (veth → bridge → veth)" ;;
        node2pod) text="**node to pod** (the node's podrec0 address → veth)" ;;
        pod2pod-nobrnf) text="diagnostic: pod to pod with bridge-nf-call-iptables 0 in the node namespace (bridged frames skip iptables)" ;;
    esac
    loss=""; r=""
    if [ "$l" != veth ]; then
        r="$(ratio "$med" "$veth_med")"
        loss="$(awk -v a="$med" -v b="$veth_med" 'BEGIN { printf "%.1f %%", (1 - a / b) * 100 }') → $(awk -v a="$med" -v b="$veth_med" 'BEGIN { print ((1 - a / b) < 0.10 ? "within" : "**over**") }')"
    fi
    printf '| %s | %s | %.2f | %.2f | %.2f | %s | %s | %s | %s / %s |\n' "$text" "$n" "$med" "$mn" "$mx" "$r" "$loss" "$rt" "$cs" "$cr"
done
echo
echo "Goal: the bridge path loses under 10% against the plain veth pair (median). MTU 1500 on both; bridge-nf-call-iptables in the node namespace: $bridge_nf."
echo
echo "podrec revision: $revision. Load average $load_before before, $load_after after ($load_note); measurements took ${elapsed} s; $date_started."
echo "Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), kernel $(uname -r); containernetworking-plugins $(dpkg-query -W -f '${Version}' containernetworking-plugins 2>/dev/null || echo '?'), $(iptables --version), $(iperf3 --version | head -1 | cut -d' ' -f1-2), podman $pm_version."
echo
echo "<details><summary>every run (ms), every plugin call, every iperf3 run</summary>"
echo
echo '```'
echo "$raw"
echo
echo "$calls"
echo
echo "$iperf"
echo '```'
echo "</details>"
