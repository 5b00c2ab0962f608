#!/usr/bin/env bash
# Throughput of podrec's manifest layer against libyaml's own event rate, Yams and PyYAML,
# in one run, on the same corpus. Builds manifest-bench (release) and the C event loop
# libyaml_events.c (cc -O2, system libyaml, into a temp dir), runs them and pyyaml_bench.py,
# and prints one markdown table. See Benchmarks/README.md.
#
#   bash Benchmarks/run.sh [--corpus DIR] [--seconds S] [--repetitions N]
#
# Options are passed to both benchmarks. Progress goes to stderr, the table to stdout.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
corpus="$(cd "$repo/.." && pwd)/shared/corpus/pods"
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --corpus) corpus="$2"; shift 2 ;;
        --seconds|--repetitions) args+=("$1" "$2"); shift 2 ;;
        *) echo "usage: $0 [--corpus DIR] [--seconds S] [--repetitions N]" >&2; exit 2 ;;
    esac
done

python3 -c 'import yaml, sys; sys.exit(0 if yaml.__with_libyaml__ else 1)' 2>/dev/null || {
    echo "run.sh: PyYAML with libyaml is needed (pip install pyyaml)" >&2
    exit 1
}

echo "building manifest-bench (release) ..." >&2
swift build -c release --package-path "$here" --product manifest-bench >&2
bin="$(swift build -c release --package-path "$here" --show-bin-path)/manifest-bench"
# The floor: libyaml's events and nothing else, built now so that it is the same libyaml
# and compiler as this run's (no binary lands in the repo).
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "building libyaml_events (cc -O2, system libyaml) ..." >&2
cc -O2 -o "$work/libyaml_events" "$here/libyaml_events.c" $(pkg-config --cflags --libs yaml-0.1)

revision="$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git -C "$repo" status --porcelain -- Sources Package.swift 2>/dev/null)" ]; then
    revision="$revision + uncommitted changes under Sources/"
fi

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "running manifest-bench ..." >&2
swift_json="$("$bin" --corpus "$corpus" --json ${args[@]+"${args[@]}"})"
echo "running libyaml_events ..." >&2
c_json="$("$work/libyaml_events" --corpus "$corpus" ${args[@]+"${args[@]}"})"
echo "running pyyaml_bench.py ..." >&2
py_json="$(python3 "$here/pyyaml_bench.py" --corpus "$corpus" ${args[@]+"${args[@]}"})"
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

yams_version="$(python3 - "$here/Package.resolved" <<'EOF' 2>/dev/null || echo unknown
import json, sys
pins = json.load(open(sys.argv[1]))["pins"]
print(next(p["state"].get("version") for p in pins if p["identity"] == "yams"))
EOF
)"

SWIFT_JSON="$swift_json" PY_JSON="$py_json" C_JSON="$c_json" \
MACHINE_NPROC="$(nproc)" MACHINE_KERNEL="$(uname -r)" MACHINE_DATE="$(date -u '+%Y-%m-%d %H:%M UTC')" \
MACHINE_CPU="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
LOAD_BEFORE="$load_before" LOAD_AFTER="$load_after" REVISION="$revision" \
SWIFT_VERSION="$(swift --version 2>/dev/null | head -1)" YAMS_VERSION="$yams_version" \
LIBYAML_VERSION="$(pkg-config --modversion yaml-0.1 2>/dev/null || echo unknown)" \
python3 - <<'EOF'
import json, os

s = json.loads(os.environ["SWIFT_JSON"])
p = json.loads(os.environ["PY_JSON"])
c = json.loads(os.environ["C_JSON"])
for other in (p, c):
    assert s["bytes"] == other["bytes"] and s["files"] == other["files"], "the benchmarks read different corpora"
rows = {r["key"]: r for r in s["results"]}
rows[p["key"]] = p
rows[c["key"]] = c
order = [
    ("libyaml-events", "libyaml events, C loop (`yaml_parser_parse` + `yaml_event_delete`, nothing built)"),
    ("podrec-yaml", "podrec YAML (`YAMLParser.parse`)"),
    ("podrec-full", "podrec parse+decode+validate (`ManifestLoader.load`, one file at a time)"),
    ("yams-compose", "Yams compose (`Yams.compose_all(yaml:)`)"),
    ("yams-compose-utf8", "Yams compose, `.utf8` passed (skips its per-call environment read)"),
    ("pyyaml-csafe-compose", "PyYAML CSafeLoader compose (`yaml.compose_all`)"),
]
base = rows["libyaml-events"]["median_mbps"]
print(f"Corpus: {s['corpus']} ({s['files']} files, {s['bytes']:,} bytes); "
      f"each row: median of {s['repetitions']} repetitions of ~{s['target_seconds']} s; MB = 10^6 bytes.")
print()
print("| measurement | MB/s (median) | ratio vs libyaml events | min–max MB/s | CPU-time MB/s | MB per repetition | docs / rejected files per pass |")
print("|---|---:|---:|---:|---:|---:|---:|")
for key, title in order:
    r = rows.get(key)
    if r is None:
        continue
    print(f"| {title} | {r['median_mbps']:.1f} | {r['median_mbps'] / base:.2f} | "
          f"{r['min_mbps']:.1f}–{r['max_mbps']:.1f} | {r['median_cpu_mbps']:.1f} | {r['mb_per_repetition']:.1f} | "
          f"{r['documents_per_pass']} / {r['rejected_per_pass']} |")
print()
def goals(field):
    c, full, yaml_row, py = (rows[k][field] for k in ("libyaml-events", "podrec-full", "podrec-yaml", "pyyaml-csafe-compose"))
    return (f"podrec parse+decode+validate / libyaml events = {full / c:.2f} (goal ≥ 0.5); "
            f"podrec YAML / libyaml events = {yaml_row / c:.2f} (goal ≥ 0.8); "
            f"podrec parse+decode+validate / PyYAML compose = {full / py:.2f} (goal ≥ 3)")
# The rows run one after the other, so on a busy machine the wall-clock ratios move with
# the load; the CPU-time ones much less.
print(f"Issue 20's goals, from this run, by median MB/s: {goals('median_mbps')}.")
print()
print(f"The same by CPU-time MB/s: {goals('median_cpu_mbps')}.")
print()
print(f"podrec revision: {os.environ['REVISION']}.")
print(f"Machine: {os.environ['MACHINE_NPROC']} CPUs ({os.environ['MACHINE_CPU']}), kernel {os.environ['MACHINE_KERNEL']}; "
      f"load average {os.environ['LOAD_BEFORE']} before, {os.environ['LOAD_AFTER']} after; {os.environ['MACHINE_DATE']}.")
print(f"Versions: {os.environ['SWIFT_VERSION']}; system libyaml {os.environ['LIBYAML_VERSION']} (podrec); "
      f"Yams {os.environ['YAMS_VERSION']} (its bundled libyaml); Python {p['python']}, PyYAML {p['pyyaml']} "
      f"(libyaml {p['libyaml']}).")
print(f"libyaml events: {c['events_per_pass']} events per pass, system libyaml {c['libyaml']} through the shared library; "
      "manifest-bench's podrec rows run on the libyaml copy Yams compiles in (see README).")
print("docs: documents composed (YAML rows) or objects accepted (full row). rejected: files the parser "
      "rejected (YAML rows) or files with an error diagnostic (full row).")
EOF
