#!/usr/bin/env python3
"""PyYAML compose throughput over the same corpus as manifest-bench, timed the same way.

Every regular, non-hidden file of the corpus directory is read once into memory as bytes
(libyaml detects the encoding itself, as it does for podrec). One pass composes every
file with yaml.compose_all(data, Loader=yaml.CSafeLoader) and consumes the generator; a
file that raises a YAMLError counts as rejected and the pass goes on. After a warm-up of
at least 0.3 s, a repetition is sized to take about --seconds, and the median MB/s over
--repetitions repetitions is reported (MB = 10^6 bytes), as one JSON line.
--passes N runs N passes untimed instead, for a profiler (see instructions.sh).
"""

import argparse
import json
import os
import statistics
import sys
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CORPUS = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "corpus", "pods"))


def load_corpus(directory):
    files = []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if name.startswith(".") or not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            files.append(f.read())
    return files


def one_pass(datas):
    documents = 0
    rejected = 0
    checksum = 0
    for data in datas:
        try:
            for node in yaml.compose_all(data, Loader=yaml.CSafeLoader):
                documents += 1
                if isinstance(node, yaml.MappingNode):
                    checksum += len(node.value)
        except yaml.YAMLError:
            rejected += 1
    return documents, rejected, checksum


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=DEFAULT_CORPUS)
    parser.add_argument("--seconds", type=float, default=1.5, help="target length of one repetition")
    parser.add_argument("--repetitions", type=int, default=7)
    parser.add_argument("--passes", type=int, help="run this many passes, untimed, for a profiler, and exit")
    args = parser.parse_args()

    assert yaml.__with_libyaml__, "PyYAML was built without libyaml: yaml.CSafeLoader is missing"
    datas = load_corpus(args.corpus)
    if not datas:
        sys.exit(f"pyyaml_bench: no files in {args.corpus}")
    corpus_bytes = sum(len(d) for d in datas)
    if args.passes is not None:
        result = None
        for _ in range(args.passes):
            result = one_pass(datas)
        print(f"pyyaml-csafe-compose: {args.passes} passes, last {result}")
        return

    # Warm up and calibrate.
    expected = one_pass(datas)
    passes = 0
    start = time.perf_counter()
    elapsed = 0.0
    while passes < 2 or elapsed < 0.3:
        assert one_pass(datas) == expected
        passes += 1
        elapsed = time.perf_counter() - start
    per_pass = elapsed / passes
    n = max(1, int(-(-args.seconds // per_pass)))

    times = []
    cpu_times = []
    for _ in range(args.repetitions):
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        for _ in range(n):
            result = one_pass(datas)
        t1 = time.perf_counter()
        cpu1 = time.process_time()
        assert result == expected
        times.append(t1 - t0)
        cpu_times.append(cpu1 - cpu0)

    mb = corpus_bytes * n / 1e6
    rates = [mb / t for t in times]
    print(json.dumps({
        "key": "pyyaml-csafe-compose",
        "title": "PyYAML compose (yaml.compose_all, CSafeLoader)",
        "python": sys.version.split()[0],
        "pyyaml": yaml.__version__,
        "libyaml": yaml._yaml.get_version_string(),
        "files": len(datas),
        "bytes": corpus_bytes,
        "repetitions": args.repetitions,
        "passes_per_repetition": n,
        "mb_per_repetition": mb,
        "median_seconds": statistics.median(times),
        "median_mbps": statistics.median(rates),
        "min_mbps": min(rates),
        "max_mbps": max(rates),
        "median_cpu_mbps": statistics.median(mb / t for t in cpu_times),
        "documents_per_pass": expected[0],
        "rejected_per_pass": expected[1],
    }, sort_keys=True))


if __name__ == "__main__":
    main()
