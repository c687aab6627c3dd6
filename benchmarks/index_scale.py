"""What each stored precision of the local index costs and keeps: memory per vector, search latency, recall@10
against exact float32 search, on real medquad vectors and on 1M synthetic ones.

    medquad   the corpus and test queries embedded once with edge-embed's default int8 MiniLM artifact (cached in
              --work); recall@10 = share of float32's top 10 each index finds
    synthetic N random unit vectors (default 1M x 384, --synthetic-rows): latency and memory only (random vectors
              have no meaningful neighbours to recall)

Latency: batch-1 searches (one query each) over interleaved rounds, p50 over all calls; each precision gets the
same queries in a rotated order per round. ANN (usearch/faiss) is not built yet: exact search only.

    python benchmarks/index_scale.py [--rounds 3] [--synthetic-rows 1000000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import write_result  # noqa: E402
from peers import prepare  # noqa: E402

from edge_embed import Embedder  # noqa: E402
from edge_embed.data.beir import load_beir  # noqa: E402
from edge_embed.index.scoring import RESCORE_MULTIPLIER, StoredPrecision, encode, top_k  # noqa: E402
from edge_embed.runtime.pooling import normalize  # noqa: E402
from edge_embed.runtime.precision import calibration_ranges  # noqa: E402
from edge_embed.tables import format_table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "medquad"
PRECISIONS = (StoredPrecision.FLOAT32, StoredPrecision.INT8, StoredPrecision.BINARY)


def stored(vectors: np.ndarray) -> dict[StoredPrecision, tuple[np.ndarray, np.ndarray | None, np.ndarray | None]]:
    """Each precision's (searched vectors, ranges, int8 rescoring codes)."""
    ranges = calibration_ranges(vectors)
    rescore = encode(vectors, StoredPrecision.INT8, ranges)
    return {
        StoredPrecision.FLOAT32: (encode(vectors, StoredPrecision.FLOAT32, None), None, None),
        StoredPrecision.INT8: (rescore, ranges, None),
        StoredPrecision.BINARY: (encode(vectors, StoredPrecision.BINARY, None), ranges, rescore),
    }


def search(parts: tuple, precision: StoredPrecision, queries: np.ndarray, k: int, multiplier: int) -> np.ndarray:
    vectors, ranges, rescore = parts
    rows, _ = top_k(queries, vectors, precision, ranges, k, rescore, multiplier)
    return rows


def latency_ms(indexes: dict, queries: np.ndarray, rounds: int, multiplier: int) -> dict[StoredPrecision, float]:
    times: dict[StoredPrecision, list[float]] = {p: [] for p in indexes}
    order = list(indexes)
    for r in range(rounds):
        for precision in order[r % len(order) :] + order[: r % len(order)]:
            for query in queries:
                start = time.perf_counter()
                search(indexes[precision], precision, query[None], 10, multiplier)
                times[precision].append((time.perf_counter() - start) * 1000)
    return {p: statistics.median(t) for p, t in times.items()}


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(e)) / len(e) for f, e in zip(found, exact, strict=True)]))


def medquad(args: argparse.Namespace) -> tuple[list[list[object]], dict]:
    artifact = Path(prepare(args.work)["edge-embed"])
    dataset = load_beir(args.data, "test")
    cache = args.work / "index_scale_vectors.npz"
    if cache.is_file():
        cached = np.load(cache)
        docs, queries = cached["docs"], cached["queries"]
    else:
        embedder = Embedder(artifact)
        print(f"embedding {len(dataset.corpus)} passages and {len(dataset.queries)} queries", file=sys.stderr)
        docs = normalize(embedder.embed(list(dataset.corpus.values()), kind="document", show_progress=True))
        queries = normalize(embedder.embed(list(dataset.queries.values()), kind="query"))
        np.savez(cache, docs=docs, queries=queries)
    indexes = stored(docs)
    exact = search(indexes[StoredPrecision.FLOAT32], StoredPrecision.FLOAT32, queries, 10, 1)
    lat = latency_ms(indexes, queries[: args.latency_queries], args.rounds, args.rescore_multiplier)
    rows, payload = [], {}
    for precision in PRECISIONS:
        found = search(indexes[precision], precision, queries, 10, args.rescore_multiplier)
        bytes_per_vector = indexes[precision][0].nbytes / len(docs)
        rows.append(
            [precision.value, f"{bytes_per_vector:.0f}", f"{recall(found, exact):.4f}", f"{lat[precision]:.2f}"]
        )
        payload[precision.value] = {
            "bytes_per_vector": bytes_per_vector,
            "recall_at_10_vs_float32": recall(found, exact),
            "p50_ms": lat[precision],
        }
    return rows, {"documents": len(docs), "queries": len(queries), "artifact": str(artifact), **payload}


def synthetic(args: argparse.Namespace) -> tuple[list[list[object]], dict]:
    rng = np.random.default_rng(0)
    rows_n, dim = args.synthetic_rows, 384
    print(f"generating {rows_n} x {dim} synthetic unit vectors", file=sys.stderr)
    vectors = np.empty((rows_n, dim), dtype=np.float32)
    for start in range(0, rows_n, 100_000):
        block = rng.standard_normal((min(100_000, rows_n - start), dim)).astype(np.float32)
        vectors[start : start + len(block)] = normalize(block)
    indexes = stored(vectors)
    del vectors
    queries = normalize(rng.standard_normal((args.synthetic_queries, dim)).astype(np.float32))
    lat = latency_ms(indexes, queries, args.rounds, args.rescore_multiplier)
    rows, payload = [], {}
    for precision in PRECISIONS:
        in_memory = indexes[precision][0].nbytes
        rows.append([precision.value, f"{in_memory / rows_n:.0f}", f"{in_memory / 1e6:.0f}", f"{lat[precision]:.1f}"])
        payload[precision.value] = {
            "bytes_per_vector": in_memory / rows_n,
            "memory_mb": in_memory / 1e6,
            "p50_ms": lat[precision],
        }
    return rows, {"rows": rows_n, "dim": dim, **payload}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency-queries", type=int, default=200, help="batch-1 searches per precision per round")
    parser.add_argument(
        "--rescore-multiplier", type=int, default=RESCORE_MULTIPLIER, help="binary: candidates rescored per hit"
    )
    parser.add_argument("--synthetic-rows", type=int, default=1_000_000)
    parser.add_argument("--synthetic-queries", type=int, default=20)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "edge-embed-peers")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "index_scale.json")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    real_rows, real = medquad(args)
    print(f"\nmedquad test: {real['documents']} passages, {real['queries']} queries, batch-1 search")
    print(format_table(["stored", "bytes/vector", "recall@10 vs float32", "p50 ms"], real_rows))
    fake_rows, fake = synthetic(args)
    print(f"\nsynthetic: {fake['rows']} x {fake['dim']}, batch-1 search")
    print(format_table(["stored", "bytes/vector", "memory MB", "p50 ms"], fake_rows))
    write_result(
        args.out,
        "index_scale",
        {"settings": {k: str(v) for k, v in vars(args).items()}, "medquad": real, "synthetic": fake},
    )


if __name__ == "__main__":
    main()
