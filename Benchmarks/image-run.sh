#!/usr/bin/env bash
# Images, in one run, loopback only: a ~100 MiB image of 5 gzip layers of incompressible data
# (Tests/Fixtures/images/make_image.py --layers 5 --layer-mb 20) pushed with skopeo into Debian's
# docker-registry on 127.0.0.1 (plain HTTP), then, as whole processes (clitime: fork + exec until
# exit), medians of N runs each, every run into an empty destination:
#   (a) podrec image pull, beside skopeo copy docker://… oci:DIR and podman pull (its own --root
#       and --runroot), interleaved;
#   (b) podrec image import of the same image as an OCI layout, beside umoci unpack of that
#       layout into a bundle, interleaved;
#   (c) podrec apply -f of a 2-container pod (the peers' pod, --pod-network none) whose image is
#       the 5-layer image, beside the same pod from a 1-layer image of the same files,
#       interleaved, warm.
# Prints a markdown table: measure, podrec, peer, ratio. See Benchmarks/README.md, "Images
# (image-run.sh)". Needs root, gcc, docker-registry, skopeo, umoci; podman is optional.
#
#   bash Benchmarks/image-run.sh [--scratch-path DIR] [--runs N] [--start-runs N]
#                                [--layers N] [--layer-mb MB]
#
# --runs: runs of each pull and import (default 5); --start-runs: runs of each pod start
# (default 20). --scratch-path: SwiftPM's build dir for podrec and podrec-supervisor, built in
# release (default Benchmarks/.build/cli, shared with cli-run.sh). Progress goes to stderr, the
# table to stdout.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
scratch="$here/.build/cli"
runs=5 start_runs=20 layers=5 layer_mb=20
usage="usage: $0 [--scratch-path DIR] [--runs N] [--start-runs N] [--layers N] [--layer-mb MB]"
while [ $# -gt 0 ]; do
    case "$1" in
        --scratch-path) scratch="$2"; shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        --start-runs) start_runs="$2"; shift 2 ;;
        --layers) layers="$2"; shift 2 ;;
        --layer-mb) layer_mb="$2"; shift 2 ;;
        *) echo "$usage" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "image-run.sh: run as root (cgroups, namespaces, image owners)" >&2; exit 1; }
for tool in gcc python3 docker-registry skopeo umoci; do
    command -v "$tool" >/dev/null || { echo "image-run.sh: $tool is needed (Tools/deps test installs the Debian ones)" >&2; exit 1; }
done
[ -x /bin/busybox ] || { echo "image-run.sh: /bin/busybox (busybox-static) goes into the images" >&2; exit 1; }

# Everything this run makes: one temp dir ($work: registry, images, data roots, podman's root),
# podman's runroot (short, under /tmp: podman refuses one longer than 50 bytes), one cgroup
# parent for podrec's pods. Nothing else is touched.
. "$here/pods-lib.sh"
use_lab imagebench
pm_runroot="$(mktemp -d /tmp/pmr-XXXXXX)"
pm_root="$work/podman"
podrec="" helper_pid="" registry_pid="" cleaned=0

# Unmounts whatever is mounted below $1 (deepest first), e.g. podman's overlay.
unmount_below() {
    local m
    for m in $(awk -v p="$1" '$5 == p || index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
        umount -l "$m" 2>/dev/null || true
    done
}

cleanup() {
    [ "$cleaned" = 1 ] && return 0
    cleaned=1
    set +e
    stop_clitime
    if [ -n "$podrec" ] && [ -d "$work/run" ]; then
        "$podrec" delete --all --grace-period 0 >/dev/null 2>&1
    fi
    if [ -n "$registry_pid" ]; then
        kill -TERM "$registry_pid" 2>/dev/null
        wait "$registry_pid" 2>/dev/null
    fi
    remove_parent >/dev/null 2>&1
    unmount_below "$pm_root"
    unmount_below "$pm_runroot"
    unmount_below "$work"
    rm -rf "$work" "$pm_runroot"
    set -e
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

mkdir -p "$work/bin" "$work/img" "$work/m" "$work/log/pods"
echo "compiling clitime (gcc -O2) into $work/bin ..." >&2
gcc -O2 -o "$work/bin/clitime" "$here/clitime.c" -lm
build_podrec

# The images: the 5-layer one and the 1-layer one of the same files (busybox in the first
# layer, so that a pod runs from them).
make_image="$repo/Tests/Fixtures/images/make_image.py"
echo "making the images ($layers × $layer_mb MiB of random data) ..." >&2
python3 "$make_image" layout "$work/img/five" --layers "$layers" --layer-mb "$layer_mb" --busybox /bin/busybox \
    --ref localhost/bench/five:v1 >"$work/img/five.json"
python3 "$make_image" layout "$work/img/one" --layers "$layers" --layer-mb "$layer_mb" --busybox /bin/busybox \
    --one-layer --ref localhost/bench/one:v1 >"$work/img/one.json"
five_digest="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifest"])' "$work/img/five.json")"
image_bytes="$(python3 -c 'import json,sys; print(sum(l["size"] for l in json.load(open(sys.argv[1]))["layers"]))' "$work/img/five.json")"
image_mb="$(awk -v b="$image_bytes" 'BEGIN { printf "%.1f", b / 1e6 }')"

# The registry: Debian's docker-registry on 127.0.0.1, plain HTTP, its storage in $work.
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cat >"$work/registry.yml" <<EOF
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/registry}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port}
EOF
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break
    kill -0 "$registry_pid" 2>/dev/null || { echo "image-run.sh: docker-registry exited:" >&2; cat "$work/registry.log" >&2; exit 1; }
    sleep 0.1
done
ref="127.0.0.1:$port/bench/five:v1"
echo "pushing the 5-layer image ($image_mb MB compressed) to $ref with skopeo ..." >&2
skopeo copy -q --dest-tls-verify=false "oci:$work/img/five:localhost/bench/five:v1" "docker://$ref" >&2

clitime() { run_clitime -- "$@"; }
: >"$work/results"
revision="$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git -C "$repo" status --porcelain -- Sources Package.swift 2>/dev/null)" ]; then
    revision="$revision + uncommitted changes under Sources/"
fi
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
started=$SECONDS

# (a) Pulls. Each run into an empty destination, removed after the run, untimed.
pull_jobs=()
pull_note=""
if "$podrec" image --help 2>/dev/null | grep -qE '^ +pull '; then
    # Untimed first: the pull must give the pushed manifest and a clean store.
    "$podrec" image pull -q --data-root "$work/pull-check" "$ref" >&2
    "$podrec" image inspect --data-root "$work/pull-check" "$ref" | grep -q "${five_digest#sha256:}" \
        || { echo "image-run.sh: the pulled image is not $five_digest" >&2; exit 1; }
    "$podrec" image check --data-root "$work/pull-check" >&2
    rm -rf "$work/pull-check"
    pull_jobs+=("podrec pull" "$podrec" image pull -q --data-root "$work/pull-root" "$ref"
                --then /bin/rm -rf "$work/pull-root" ::)
else
    pull_note="podrec image pull: not in this build (podrec image --help lists no pull), not measured"
    echo "$pull_note" >&2
fi
pull_jobs+=("skopeo copy" "$(command -v skopeo)" copy -q --src-tls-verify=false "docker://$ref" "oci:$work/skopeo-dest:v1"
            --then /bin/rm -rf "$work/skopeo-dest")
podman_note="podman: not installed, not measured"
if command -v podman >/dev/null; then
    pm=("$(command -v podman)" --root "$pm_root" --runroot "$pm_runroot" --tmpdir "$pm_runroot/tmp"
        --storage-driver overlay --cgroup-manager cgroupfs --events-backend none)
    # After each podman pull: its image removed, anything it mounted unmounted, its dirs removed.
    cat >"$work/bin/podman-clean" <<EOF
#!/bin/sh
$(printf '%q ' "${pm[@]}") rmi -a -f >/dev/null 2>&1
for m in \$(awk -v a="$pm_root" -v b="$pm_runroot" '\$5 == a || index(\$5, a "/") == 1 || \$5 == b || index(\$5, b "/") == 1 { print \$5 }' /proc/self/mountinfo | sort -r); do
    umount -l "\$m"
done
rm -rf "$pm_root" && mkdir -p "$pm_root" && find "$pm_runroot" -mindepth 1 -delete
EOF
    chmod 755 "$work/bin/podman-clean"
    pull_jobs+=(:: "podman pull" "${pm[@]}" pull -q --tls-verify=false "$ref" --then "$work/bin/podman-clean")
    podman_note="podman: $(podman --version) (overlay storage in its own --root, --events-backend none)"
fi
echo "(a) pulls of $ref: $runs runs each + 1 uncounted, interleaved ..." >&2
clitime --runs "$runs" --warmup 1 --interleave "${pull_jobs[@]}"

# (b) Import of the OCI layout beside umoci unpack of it (root, so owners are kept as podrec
# keeps them). umoci also writes an mtree manifest of the unpacked tree (a second read of it).
echo "(b) import of the layout vs umoci unpack: $runs runs each + 1 uncounted, interleaved ..." >&2
clitime --runs "$runs" --warmup 1 --interleave \
    "podrec import" "$podrec" image import --data-root "$work/import-root" localhost/bench/five:v1 "$work/img/five" \
        --then /bin/rm -rf "$work/import-root" :: \
    "umoci unpack" "$(command -v umoci)" unpack --image "$work/img/five:localhost/bench/five:v1" "$work/bundle" \
        --then /bin/rm -rf "$work/bundle"

# (c) Pod start from the 5-layer image and from the 1-layer image of the same files, both
# imported once into the lab's data root.
"$podrec" image import localhost/bench/five:v1 "$work/img/five" >&2
"$podrec" image import localhost/bench/one:v1 "$work/img/one" >&2
# The peers' pod with the image, its emptyDir at /scratch (at /data it would hide the image's files).
pod_yaml five | sed 's|image: host|image: localhost/bench/five:v1|; s|mountPath: /data|mountPath: /scratch|' >"$work/m/five.yaml"
pod_yaml one | sed 's|image: host|image: localhost/bench/one:v1|; s|mountPath: /data|mountPath: /scratch|' >"$work/m/one.yaml"
drop_logs=(/usr/bin/find "$work/log/pods" -mindepth 1 -maxdepth 1 -exec rm -rf {} +)
# Untimed first: each pod runs from its image (2/2 Running, the image's files in the container).
for p in five one; do
    "$podrec" apply -f "$work/m/$p.yaml" >&2
    ok=0
    for _ in $(seq 50); do
        "$podrec" get | grep -q "^$p  *2/2  *Running" && { ok=1; break; }
        sleep 0.1
    done
    [ "$ok" = 1 ] || { echo "image-run.sh: pod $p is not 2/2 Running:" >&2; "$podrec" get >&2; exit 1; }
    files="$("$podrec" exec "$p" -c a -- /bin/ls /data | tr '\n' ' ')"
    [ "$files" = "$(seq -f '%g.bin' 0 $((layers - 1)) | tr '\n' ' ')" ] \
        || { echo "image-run.sh: pod $p's /data holds: $files" >&2; exit 1; }
    "$podrec" delete --all --grace-period 0 >/dev/null
    "${drop_logs[@]}"
done
echo "(c) apply of the pod from each image, warm: $start_runs runs each + 1 uncounted, interleaved ..." >&2
clitime --runs "$start_runs" --warmup 1 --interleave \
    "start five" "$podrec" apply -f "$work/m/five.yaml" --then "$podrec" delete --all --grace-period 0 --then "${drop_logs[@]}" :: \
    "start one" "$podrec" apply -f "$work/m/one.yaml" --then "$podrec" delete --all --grace-period 0 --then "${drop_logs[@]}"
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
elapsed=$((SECONDS - started))
results="$(cat "$work/results")"
raw="$(cat "$work/raw.tsv")"

# Clean up, then check that nothing of this run is left: the registry, cgroups, mounts, dirs.
registry_was="$registry_pid"
cleanup
sleep 0.5
leftovers="$(ls -d /sys/fs/cgroup/*/"$parent" "$work" "$pm_runroot" 2>/dev/null || true)"
mounts="$(grep -c -e "$parent" -e "$work" -e "$pm_runroot" /proc/self/mountinfo || true)"
procs="$(grep -l -e "$parent" /proc/[0-9]*/cgroup 2>/dev/null || true)"
if kill -0 "$registry_was" 2>/dev/null; then procs="$procs registry $registry_was"; fi
if [ -n "$leftovers" ] || [ "$mounts" != 0 ] || [ -n "${procs// /}" ]; then
    echo "image-run.sh: left behind: $leftovers; $mounts mounts; processes: $procs" >&2
    exit 1
fi
echo "cleanup checked: no registry, no $parent cgroup, no mount, no temp dir left" >&2

# The table: medians (ms); ratio = peer ÷ podrec (above 1: podrec is faster).
cell() { local m; m="$(field "$1" 3)"; [ -n "$m" ] && echo "$m" || echo "–"; }
row() {  # measure, podrec key, peer key, peer text
    local a b r="–"
    a="$(field "$2" 3)" b="$(field "$3" 3)"
    [ -n "$a" ] && [ -n "$b" ] && r="$(ratio "$b" "$a")"
    echo "| $1 | $(cell "$2") | $4: $(cell "$3") | $r |"
}
echo "### Images: median ms, whole processes (fork + exec until exit)"
echo
echo "| measure | podrec | peer | peer ÷ podrec |"
echo "|---|---:|---:|---:|"
row "pull, $layers layers, $image_mb MB, from docker-registry on 127.0.0.1 (HTTP)" "podrec pull" "skopeo copy" "skopeo copy to oci:DIR"
row "pull, the same" "podrec pull" "podman pull" "podman pull"
row "import of the same image's OCI layout" "podrec import" "umoci unpack" "umoci unpack"
row "pod start (apply -f, 2 containers, no network), $layers-layer image vs 1-layer image of the same files" "start five" "start one" "podrec, 1 layer"
d5="$(field "start five" 3)" d1="$(field "start one" 3)"
echo
echo "Pod start, $layers layers minus 1 layer: $(awk -v a="$d5" -v b="$d1" 'BEGIN { printf "%+.1f", a - b }') ms (medians)."
[ -n "$pull_note" ] && echo "$pull_note."
echo "$podman_note."
echo
echo "| job | runs | median | p90 | min | max | CPU, median |"
echo "|---|---:|---:|---:|---:|---:|---:|"
while IFS=$'\t' read -r l n med p90 mn mx cpu; do echo "| $l | $n | $med | $p90 | $mn | $mx | $cpu |"; done <<<"$results"
echo
echo "podrec revision: $revision; podrec $(stat -c %s "$podrec") bytes. $(skopeo --version); $(umoci --version);" \
     "docker-registry $(dpkg-query -W -f '${Version}' docker-registry 2>/dev/null || echo '?')."
echo "Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), kernel $(uname -r);" \
     "load average $load_before before, $load_after after; measurements took ${elapsed} s; $(date -u '+%Y-%m-%d %H:%M UTC')."
echo
echo "<details><summary>every run (ms)</summary>"
echo
echo '```'
echo "$raw"
echo '```'
echo "</details>"
