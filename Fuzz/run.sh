#!/usr/bin/env bash
# Builds the libFuzzer targets of the manifest layer and runs them (see Fuzz/README.md).
#
#   bash Fuzz/run.sh [SECONDS] [TARGET...]   fuzz each target for SECONDS (default 60), one
#                                            after the other; TARGET: fuzz-yaml, fuzz-manifest
#   bash Fuzz/run.sh --parallel SECONDS      both targets at once (the long runs)
#   bash Fuzz/run.sh --asan                  AddressSanitizer + LeakSanitizer over the corpora
#
# Seeds are copied from ../shared/corpus (pods/ and yaml-test-suite/) and manifests/ into a
# scratch directory, never written in place: FUZZ_WORK=DIR picks it (and keeps a corpus
# across runs), else a fresh one under /tmp, removed after a run that found nothing. The
# directory, with the crash artifacts, the grown corpora and the logs, is printed at the
# end. Exit status 1 on any crash, hang, OOM, leak or sanitizer report; the artifact names
# the input.
#
# Runs at nice 19: the machine is shared. FUZZ_NICE=N changes that. FUZZ_ARGS adds libFuzzer
# flags (e.g. FUZZ_ARGS=-max_len=65536).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
shared="$(cd "$repo/.." && pwd)/shared/corpus"
targets_all=(fuzz-yaml fuzz-manifest)
nice_level="${FUZZ_NICE:-19}"

log() { printf 'Fuzz/run.sh: %s\n' "$*" >&2; }
usage() { sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

mode=fuzz
seconds=60
targets=()
case "${1:-}" in
    --asan) mode=asan; shift; [ $# -eq 0 ] || usage ;;
    --parallel) mode=parallel; shift; seconds="${1:?--parallel needs SECONDS}"; shift; [ $# -eq 0 ] || usage ;;
    -h|--help) usage ;;
esac
if [ "$mode" = fuzz ]; then
    if [ $# -gt 0 ] && [[ "$1" =~ ^[0-9]+$ ]]; then seconds="$1"; shift; fi
    targets=("$@")
fi
[ ${#targets[@]} -gt 0 ] || targets=("${targets_all[@]}")
for t in "${targets[@]}"; do
    [[ " ${targets_all[*]} " == *" $t "* ]] || { log "unknown target '$t' (${targets_all[*]})"; exit 2; }
done
[ -d "$shared/pods" ] && [ -d "$shared/yaml-test-suite" ] || { log "no seed corpus at $shared"; exit 1; }

# Swift's own backtracer would run inside the sanitizer on a trap (and ASan reports its
# stack reads as a bug); libFuzzer's and ASan's handlers already print the stack.
export SWIFT_BACKTRACE=enable=no

work="${FUZZ_WORK:-$(mktemp -d /tmp/podrec-fuzz.XXXXXX)}"
# A fresh directory of a run that found nothing holds nothing worth keeping: removed at the
# end, so CI leaves no trace. A failure, or FUZZ_WORK, keeps it.
done_with_work() {
    if [ "$1" -eq 0 ] && [ -z "${FUZZ_WORK:-}" ]; then
        rm -rf "$work"
        log "passed; removed $work"
    fi
    exit "$1"
}
mkdir -p "$work/seeds" "$work/artifacts" "$work/logs"
log "work directory: $work"

# Seeds: every YAML and JSON input of the corpora, flattened to one directory. The suite's
# in.yaml, out.yaml, emit.yaml and in.json are all YAML streams (JSON is YAML).
seed() {
    [ -n "$(ls -A "$work/seeds")" ] && return
    cp "$shared"/pods/* "$work/seeds/"
    local case_dir f
    for case_dir in "$shared"/yaml-test-suite/*/; do
        for f in in.yaml out.yaml emit.yaml in.json; do
            [ -f "$case_dir$f" ] && cp "$case_dir$f" "$work/seeds/suite-$(basename "$case_dir")-$f"
        done
    done
    cp "$repo"/manifests/*.yaml "$work/seeds/"
    log "seeds: $(ls "$work/seeds" | wc -l) files"
}

if [ "$mode" = asan ]; then
    # A plain driver, not the fuzzers: it reads every file once and exits normally, so
    # LeakSanitizer's exit-time check sees everything the layer left allocated.
    scratch="$here/.build-asan"
    log "building sanitize-corpus with -sanitize=address ..."
    nice -n "$nice_level" swift build --package-path "$here" --scratch-path "$scratch" \
        --sanitize=address -Xswiftc -sanitize=address --product sanitize-corpus >&2
    bin_dir="$(swift build --package-path "$here" --scratch-path "$scratch" --show-bin-path)"
    bin="$bin_dir/sanitize-corpus"
    # The point is the layer's own code: make sure it, not only the driver, is instrumented.
    for o in "$bin_dir"/YAML.build/Parser.swift.o "$bin_dir"/Manifest.build/Loader.swift.o; do
        # grep -c, not -q: -q stops reading early, nm gets SIGPIPE and pipefail fails it.
        [ "$(nm "$o" | grep -c __asan_)" -gt 0 ] || { log "$o is not built with AddressSanitizer"; exit 1; }
    done
    seed
    # detect_leaks is ASan's default on Linux x86_64; said out loud so no environment turns
    # it off. halt_on_error: the first report fails the run.
    status=0
    ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=1:${ASAN_OPTIONS:-}" \
        nice -n "$nice_level" "$bin" "$work/seeds" 2>&1 | tee "$work/logs/asan.log" || status=$?
    if [ "$status" -ne 0 ] || grep -q 'ERROR: \(AddressSanitizer\|LeakSanitizer\)' "$work/logs/asan.log"; then
        log "FAILED: AddressSanitizer/LeakSanitizer report (exit $status); log: $work/logs/asan.log"
        exit 1
    fi
    log "ASan+LSan: no report over $(ls "$work/seeds" | wc -l) files"
    done_with_work 0
fi

# The fuzzers: release (the optimizer keeps Swift's bounds and overflow checks), libFuzzer
# plus AddressSanitizer, so an out-of-bounds access in an unsafe-pointer path or in libyaml's
# use of our buffers is a report, not silent corruption.
#
# Both `--sanitize` and `-Xswiftc -sanitize=`: with `--sanitize` alone (SwiftPM 6.3.1), the
# first product built into a fresh build directory came out with no coverage counters in the
# YAML and Manifest modules (and the second rebuilt them), so libFuzzer ran blind: "no
# interesting inputs". `-Xswiftc` reaches every module; `--sanitize=fuzzer` is still needed
# so that SwiftPM leaves `main` to libFuzzer.
scratch="$here/.build-fuzz"
log "building ${targets[*]} (release, -sanitize=fuzzer,address) ..."
for t in "${targets[@]}"; do
    nice -n "$nice_level" swift build --package-path "$here" --scratch-path "$scratch" -c release \
        --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address --product "$t" >&2
done
bin="$(swift build --package-path "$here" --scratch-path "$scratch" -c release --show-bin-path)"
seed
# A fuzzer without coverage still "passes"; refuse to run one.
for t in "${targets[@]}"; do
    counters="$("$bin/$t" -runs=0 "$shared/pods/$(ls "$shared/pods" | head -1)" 2>&1 \
        | sed -nE 's/.*Loaded 1 modules +\(([0-9]+) inline 8-bit counters.*/\1/p')"
    [ "${counters:-0}" -gt 10000 ] || { log "$t has ${counters:-no} coverage counters: not instrumented"; exit 1; }
done

# fuzz-manifest's dictionary: the YAML tokens plus every field name and enum value of the
# upstream schema that the manifest layer is generated from, so mutations reach the decoder
# and the validators, not only the "unknown field" path.
cp "$here/yaml.dict" "$work/fuzz-yaml.dict"
{
    cat "$here/yaml.dict"
    sed -n '/^0 enum/,/^"""/p' "$repo/Sources/Manifest/Schema/UpstreamSchema.generated.swift" \
        | grep -oE '[A-Za-z][A-Za-z0-9_$-]*!?:[0-9]+' | sed -E 's/!?:[0-9]+$//' | sort -u \
        | sed 's/.*/"&: "/'
    printf '%s\n' '"apiVersion: v1\x0a"' '"kind: Pod\x0a"' '"kind: ConfigMap\x0a"' '"kind: Secret\x0a"' \
        '"image: host"' '"100m"' '"1Gi"' '"0.5"' '"8Ei"' '"RestartContainer"' '"NotRequired"' \
        '"Always"' '"OnFailure"' '"Never"' '"SIGTERM"' '"SIGUSR1"' '"HugePages-2Mi"' '"Memory"' \
        '"/dev/null"' '"../x"' '"optional: true"' '"configMapKeyRef"' '"secretKeyRef"'
} > "$work/fuzz-manifest.dict"

run_one() {  # target seconds
    local t="$1" s="$2"
    mkdir -p "$work/corpus/$t" "$work/artifacts/$t"
    # -timeout: an input that takes 10 s is a hang; -rss_limit_mb: 2 GiB is an OOM. The
    # layer's own limits (16 MiB input, 2,000,000 nodes, depth 128) stay well inside both.
    nice -n "$nice_level" "$bin/$t" "$work/corpus/$t" "$work/seeds" \
        -max_total_time="$s" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -dict="$work/$t.dict" -artifact_prefix="$work/artifacts/$t/" ${FUZZ_ARGS:-} \
        >"$work/logs/$t.log" 2>&1
}

summary() {  # target status
    local t="$1" st="$2" done_line
    done_line="$(grep -E '^#[0-9]+' "$work/logs/$t.log" | tail -1 || true)"
    printf '%-14s exit %-3s %s\n' "$t" "$st" "$done_line"
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$work/logs/$t.log" | sed 's/^/               /' || true
    printf '               corpus: %s files; artifacts: %s\n' \
        "$(ls "$work/corpus/$t" | wc -l)" "$(ls "$work/artifacts/$t" | wc -l)"
}

failed=0
declare -A status
if [ "$mode" = parallel ]; then
    declare -A pids
    for t in "${targets[@]}"; do
        log "$t: ${seconds} s, in the background"
        run_one "$t" "$seconds" & pids[$t]=$!
    done
    for t in "${targets[@]}"; do
        status[$t]=0; wait "${pids[$t]}" || status[$t]=$?
    done
else
    for t in "${targets[@]}"; do
        log "$t: ${seconds} s"
        status[$t]=0; run_one "$t" "$seconds" || status[$t]=$?
    done
fi

echo "fuzz results ($(date -u +%FT%TZ), ${seconds} s per target, load $(cut -d' ' -f1-3 /proc/loadavg)):"
for t in "${targets[@]}"; do
    summary "$t" "${status[$t]}"
    if [ "${status[$t]}" -ne 0 ] || [ -n "$(ls -A "$work/artifacts/$t")" ]; then
        failed=1
        log "FAILED: $t (exit ${status[$t]}); artifacts in $work/artifacts/$t, log $work/logs/$t.log:"
        grep -E 'ERROR|==[0-9]+==|Fatal error|invariant broken|SUMMARY|Test unit written' "$work/logs/$t.log" | head -20 >&2 || true
    fi
done
echo "work directory: $work (artifacts/, corpus/, logs/)"
done_with_work "$failed"
