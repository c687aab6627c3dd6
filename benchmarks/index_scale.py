"""What each stored precision of the local index costs and keeps: memory per vector, search latency, recall@10
against exact float32 search, on real medquad vectors and on 1M synthetic ones.

    medquad   the corpus and test queries embedded once with edge-embed's default int8 MiniLM artifact (cached in
              --work); recall@10 = share of float32's top 10 each index finds
    synthetic N vectors (default 1M x 384, --synthetic-rows) scattered around the real medquad passage vectors: each
              is a random passage's vector plus isotropic noise, renormalized (cosine ~0.86 to its passage), so
              the set has the clustered shape of real embeddings (uniform random vectors are HNSW's worst case and
              nothing a corpus looks like); queries are real medquad test queries, recall@10 against exact float32
              search over the 1M

Latency: batch-1 searches (one query each) over interleaved rounds, p50 over all calls; each precision gets the
same queries in a rotated order per round. "+ann" rows take candidates from usearch's HNSW graph ([ann] extra)
and score them exactly; their memory includes the graph, and the graph's build time is printed and recorded.

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


def searchers(
    vectors: np.ndarray, multiplier: int, ann: bool
) -> tuple[dict[str, Search], dict[str, int], dict[str, float]]:
    """Each stored precision's exact search (and, with ``ann``, its HNSW-candidates search), with the bytes each
    keeps in memory and the seconds each HNSW graph took to build."""
    ranges = calibration_ranges(vectors)
    codes = encode(vectors, StoredPrecision.INT8, ranges)
    parts = {
        StoredPrecision.FLOAT32: (encode(vectors, StoredPrecision.FLOAT32, None), None, None),
        StoredPrecision.INT8: (codes, ranges, None),
        StoredPrecision.BINARY: (encode(vectors, StoredPrecision.BINARY, None), ranges, codes),
    }
    out: dict[str, Search] = {}
    memory: dict[str, int] = {}
    build: dict[str, float] = {}
    for precision, (stored, scale, rescore) in parts.items():
        out[precision.value] = partial(
            _exact, precision=precision, stored=stored, ranges=scale, rescore=rescore, multiplier=multiplier
        )
        memory[precision.value] = stored.nbytes
        if ann:
            name = f"{precision.value}+ann"
            print(f"building the HNSW graph for {precision.value} ({len(vectors)} rows)", file=sys.stderr)
            start = time.perf_counter()
            graph = approximate.new_graph(vectors.shape[1], precision)
            approximate.add_to_graph(graph, 0, vectors, precision)
            build[name] = time.perf_counter() - start
            print(f"  {build[name]:.0f} s", file=sys.stderr)
            count = 10 * (multiplier if precision is StoredPrecision.BINARY else 4)
            out[name] = partial(
                _approximate,
                precision=precision,
                stored=stored,
                ranges=scale,
                rescore=rescore,
                graph=graph,
                count=count,
            )
            memory[name] = stored.nbytes + int(graph.memory_usage)
    return out, memory, build


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


def medquad_vectors(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, Path]:
    """Unit vectors of the medquad corpus and test queries (embedded once, cached in ``--work``)."""
    artifact = Path(prepare(args.work)["edge-embed"])
    cache = args.work / "index_scale_vectors.npz"
    if cache.is_file():
        cached = np.load(cache)
        return cached["docs"], cached["queries"], artifact
    dataset = load_beir(args.data, "test")
    embedder = Embedder(artifact)
    print(f"embedding {len(dataset.corpus)} passages and {len(dataset.queries)} queries", file=sys.stderr)
    docs = normalize(embedder.embed(list(dataset.corpus.values()), kind="document", show_progress=True))
    queries = normalize(embedder.embed(list(dataset.queries.values()), kind="query"))
    np.savez(cache, docs=docs, queries=queries)
    return docs, queries, artifact


def measure(
    vectors: np.ndarray, queries: np.ndarray, latency_queries: np.ndarray, args: argparse.Namespace, ann: bool
) -> dict[str, dict[str, float]]:
    """Memory per vector, recall@10 against exact float32 and batch-1 p50 of every searcher over ``vectors``."""
    search, memory, build = searchers(vectors, args.rescore_multiplier, ann)
    exact = search["float32"](queries)
    lat = latency_ms(search, latency_queries, args.rounds)
    results = {}
    for name, run in search.items():
        results[name] = {
            "bytes_per_vector": memory[name] / len(vectors),
            "memory_mb": memory[name] / 1e6,
            "recall_at_10_vs_float32": recall(run(queries), exact),
            "p50_ms": lat[name],
            **({"graph_build_s": build[name]} if name in build else {}),
        }
    return results


def table(results: dict[str, dict[str, float]]) -> list[list[object]]:
    return [
        [
            name,
            f"{r['bytes_per_vector']:.0f}",
            f"{r['memory_mb']:.0f}",
            f"{r['recall_at_10_vs_float32']:.4f}",
            f"{r['p50_ms']:.2f}",
            f"{r['graph_build_s']:.0f}" if "graph_build_s" in r else "-",
        ]
        for name, r in results.items()
    ]


def synthetic_vectors(docs: np.ndarray, rows: int, noise_norm: float, seed: int = 0) -> np.ndarray:
    """``rows`` unit vectors around the real ones: a random real vector plus isotropic noise of norm
    ``noise_norm``, renormalized (built in blocks, so the float64 temporaries stay small)."""
    rng = np.random.default_rng(seed)
    out = np.empty((rows, docs.shape[1]), dtype=np.float32)
    for start in range(0, rows, 100_000):
        count = min(100_000, rows - start)
        noise = rng.standard_normal((count, docs.shape[1])).astype(np.float32)
        noise *= noise_norm / np.linalg.norm(noise, axis=1, keepdims=True)
        out[start : start + count] = normalize(docs[rng.integers(0, len(docs), count)] + noise)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency-queries", type=int, default=200, help="batch-1 searches per precision per round")
    parser.add_argument(
        "--rescore-multiplier", type=int, default=RESCORE_MULTIPLIER, help="binary: candidates rescored per hit"
    )
    parser.add_argument("--synthetic-rows", type=int, default=1_000_000)
    parser.add_argument("--synthetic-queries", type=int, default=200, help="medquad test queries searched at 1M")
    parser.add_argument("--noise", type=float, default=0.6, help="norm of the noise added to each real vector")
    parser.add_argument("--ann-rows", type=int, default=1_000_000, help="build HNSW graphs up to this many rows")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "edge-embed-peers")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "index_scale.json")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    headers = ["stored", "bytes/vector", "memory MB", "recall@10 vs float32", "p50 ms", "graph build s"]
    docs, queries, artifact = medquad_vectors(args)
    real = measure(docs, queries, queries[: args.latency_queries], args, ann=True)
    print(f"\nmedquad test: {len(docs)} passages, {len(queries)} queries, batch-1 search")
    print(format_table(headers, table(real)))
    vectors = synthetic_vectors(docs, args.synthetic_rows, args.noise)
    picked = queries[np.random.default_rng(1).permutation(len(queries))[: args.synthetic_queries]]
    fake = measure(vectors, picked, picked, args, ann=args.synthetic_rows <= args.ann_rows)
    del vectors
    print(f"\nsynthetic: {args.synthetic_rows} x {docs.shape[1]} around the medquad passages, batch-1 search")
    print(format_table(headers, table(fake)))
    write_result(
        args.out,
        "index_scale",
        {
            "settings": {k: str(v) for k, v in vars(args).items()},
            "medquad": {"documents": len(docs), "queries": len(queries), "artifact": str(artifact), **real},
            "synthetic": {"rows": args.synthetic_rows, "dim": int(docs.shape[1]), **fake},
        },
    )


if __name__ == "__main__":
    main()
