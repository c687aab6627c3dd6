"""OpenVINO's sequence buckets: 16-token steps everywhere (the rule before) against 8-token steps up to 64 tokens.

The same OpenVINO int8 artifact in one process, the two padding rules alternated round by round (each rule's shapes
warmed first): short texts/s (medquad test queries, batches of 32) and docs/s (the longest test passages, batches of
32, where both rules pad alike), medians over rounds, and the ratio new / old.

    python benchmarks/openvino_buckets.py ARTIFACT [--rounds 7]    # about a minute on 2 cores
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import write_result  # noqa: E402

import edge_embed.runtime.openvino as openvino_runner  # noqa: E402
from edge_embed import Embedder  # noqa: E402
from edge_embed.data import load_beir  # noqa: E402
from edge_embed.tables import format_table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "medquad"


def sixteen_token_steps(length: int) -> int:
    """The bucket rule before short sequences got finer steps."""
    return -(-length // 16) * 16


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("artifact", type=Path, help="an OpenVINO int8 artifact (quantize --method openvino-int8)")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--short", type=int, default=256, help="short texts per rule per round")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "openvino_buckets.json")
    args = parser.parse_args()

    embedder = Embedder.load(args.artifact)
    if embedder.manifest.graph.backend.value != "openvino":
        raise SystemExit(f"{args.artifact} is not an OpenVINO artifact")
    test = load_beir(args.data, "test")
    shorts = sorted(test.queries.values())
    docs = sorted(test.corpus.values(), key=len, reverse=True)[:32]
    rules: dict[str, Callable[[int], int]] = {
        "16-token steps": sixteen_token_steps,
        "8 up to 64": openvino_runner.bucket_length,
    }
    for rule in rules.values():  # every shape of either rule compiled before timing
        openvino_runner.bucket_length = rule
        embedder.embed(shorts, batch_size=32, kind="query")
        embedder.embed(docs, batch_size=32)
    short_rate: dict[str, list[float]] = {name: [] for name in rules}
    docs_rate: dict[str, list[float]] = {name: [] for name in rules}
    for r in range(args.rounds):
        batch = [shorts[(r * args.short + i) % len(shorts)] for i in range(args.short)]
        for name in list(rules) if r % 2 == 0 else list(rules)[::-1]:
            openvino_runner.bucket_length = rules[name]
            start = time.perf_counter()
            embedder.embed(batch, batch_size=32, kind="query")
            short_rate[name].append(len(batch) / (time.perf_counter() - start))
            start = time.perf_counter()
            embedder.embed(docs, batch_size=32)
            docs_rate[name].append(len(docs) / (time.perf_counter() - start))
    old, new = rules
    rows = [
        [name, f"{statistics.median(short_rate[name]):.0f}", f"{statistics.median(docs_rate[name]):.1f}"]
        for name in rules
    ]
    ratio = {
        "short_per_s": statistics.median(short_rate[new]) / statistics.median(short_rate[old]),
        "docs_per_s": statistics.median(docs_rate[new]) / statistics.median(docs_rate[old]),
    }
    print(format_table(["buckets", "short texts/s", "docs/s"], rows))  # noqa: T201
    print(f"new / old: short texts {ratio['short_per_s']:.3f}x, docs {ratio['docs_per_s']:.3f}x")  # noqa: T201
    write_result(
        args.out,
        "openvino_buckets",
        {
            "artifact": str(args.artifact),
            "rounds": args.rounds,
            "short_per_s": {name: short_rate[name] for name in rules},
            "docs_per_s": {name: docs_rate[name] for name in rules},
            "ratio_new_over_old": ratio,
        },
    )


if __name__ == "__main__":
    main()
