"""What each stored precision of the local index costs and keeps: memory per vector, search latency, recall@10
against exact float32 search, on real medquad vectors and on 1M synthetic ones.

    medquad   the corpus and test queries embedded once with edge-embed's default int8 MiniLM artifact (cached in
              --work); recall@10 = share of float32's top 10 each index finds
    synthetic N random unit vectors (default 1M x 384, --synthetic-rows): latency and memory only (random vectors
              have no meaningful neighbours to recall)

Latency: batch-1 searches (one query each) over interleaved rounds, p50 over all calls; each precision gets the
same queries in a rotated order per round. "+ann" rows take candidates from usearch's HNSW graph ([ann] extra)
and score them exactly; their memory includes the graph.

    python benchmarks/index_scale.py [--rounds 3] [--synthetic-rows 1000000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import write_result  # noqa: E402
from peers import prepare  # noqa: E402

from edge_embed import Embedder  # noqa: E402
from edge_embed.data.beir import load_beir  # noqa: E402
from edge_embed.index import ann as approximate  # noqa: E402
from edge_embed.index.scoring import RESCORE_MULTIPLIER, StoredPrecision, encode, rerank, top_k  # noqa: E402
from edge_embed.runtime.pooling import normalize  # noqa: E402
from edge_embed.runtime.precision import calibration_ranges  # noqa: E402
from edge_embed.tables import format_table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "medquad"


Search = Callable[[np.ndarray], np.ndarray]  # unit queries -> (n, 10) row indices


def searchers(vectors: np.ndarray, multiplier: int, ann: bool) -> tuple[dict[str, Search], dict[str, int]]:
    """Each stored precision's exact search (and, with ``ann``, its HNSW-candidates search), with the bytes each
    keeps in memory."""
    ranges = calibration_ranges(vectors)
    codes = encode(vectors, StoredPrecision.INT8, ranges)
    parts = {
        StoredPrecision.FLOAT32: (encode(vectors, StoredPrecision.FLOAT32, None), None, None),
        StoredPrecision.INT8: (codes, ranges, None),
        StoredPrecision.BINARY: (encode(vectors, StoredPrecision.BINARY, None), ranges, codes),
    }
    out: dict[str, Search] = {}
    memory: dict[str, int] = {}
    for precision, (stored, scale, rescore) in parts.items():
        out[precision.value] = partial(
            _exact, precision=precision, stored=stored, ranges=scale, rescore=rescore, multiplier=multiplier
        )
        memory[precision.value] = stored.nbytes
        if ann:
            start = time.perf_counter()
            graph = approximate.new_graph(vectors.shape[1], precision)
            approximate.add_to_graph(graph, 0, vectors, precision)
            print(f"HNSW graph for {precision.value}: {time.perf_counter() - start:.0f} s", file=sys.stderr)
            count = 10 * (multiplier if precision is StoredPrecision.BINARY else 4)
            out[f"{precision.value}+ann"] = partial(
                _approximate,
                precision=precision,
                stored=stored,
                ranges=scale,
                rescore=rescore,
                graph=graph,
                count=count,
            )
            memory[f"{precision.value}+ann"] = stored.nbytes + int(graph.memory_usage)
    return out, memory


def _exact(
    queries: np.ndarray,
    *,
    precision: StoredPrecision,
    stored: np.ndarray,
    ranges: np.ndarray | None,
    rescore: np.ndarray | None,
    multiplier: int,
) -> np.ndarray:
    return top_k(queries, stored, precision, ranges, 10, rescore, multiplier)[0]


def _approximate(
    queries: np.ndarray,
    *,
    precision: StoredPrecision,
    stored: np.ndarray,
    ranges: np.ndarray | None,
    rescore: np.ndarray | None,
    graph: object,
    count: int,
) -> np.ndarray:
    found = approximate.candidate_rows(graph, queries, count, precision)
    return np.vstack([row[:10] for row in rerank(queries, found, stored, precision, ranges, 10, rescore)[0]])


def latency_ms(search: dict[str, Search], queries: np.ndarray, rounds: int) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in search}
    order = list(search)
    for r in range(rounds):
        for name in order[r % len(order) :] + order[: r % len(order)]:
            for query in queries:
                start = time.perf_counter()
                search[name](query[None])
                times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(t) for name, t in times.items()}


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
    search, memory = searchers(docs, args.rescore_multiplier, ann=True)
    exact = search["float32"](queries)
    lat = latency_ms(search, queries[: args.latency_queries], args.rounds)
    rows, payload = [], {}
    for name, run in search.items():
        found = run(queries)
        per_vector = memory[name] / len(docs)
        rows.append([name, f"{per_vector:.0f}", f"{recall(found, exact):.4f}", f"{lat[name]:.2f}"])
        payload[name] = {
            "bytes_per_vector": per_vector,
            "recall_at_10_vs_float32": recall(found, exact),
            "p50_ms": lat[name],
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
    search, memory = searchers(vectors, args.rescore_multiplier, ann=rows_n <= args.ann_rows)
    del vectors
    queries = normalize(rng.standard_normal((args.synthetic_queries, dim)).astype(np.float32))
    lat = latency_ms(search, queries, args.rounds)
    rows, payload = [], {}
    for name in search:
        rows.append([name, f"{memory[name] / rows_n:.0f}", f"{memory[name] / 1e6:.0f}", f"{lat[name]:.1f}"])
        payload[name] = {
            "bytes_per_vector": memory[name] / rows_n,
            "memory_mb": memory[name] / 1e6,
            "p50_ms": lat[name],
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
    parser.add_argument("--ann-rows", type=int, default=1_000_000, help="build HNSW graphs up to this many rows")
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
