"""Corpus embedding on one process, Ray Data and Spark: throughput, engine overhead, per-core cost, where time goes.

    python benchmarks/scale_embed.py ../shared/data/medquad [--rounds 2] [--limit N] [--workdir /tmp/scale-bench]

1. **Engines.** Each round runs ``embed_corpus`` once per engine (order rotating), each in a fresh process, on the
   same corpus and int8 artifact with the machine's cores: ``local`` (1 process x all cores), ``ray`` (Ray Data,
   local cluster, 1 actor per core, 1 thread each) and ``spark`` (``local[cores]``, 1 thread per task). The job
   time includes starting the cluster; the same job on 64 passages gives that fixed cost, so the steady-state
   overhead is also shown. Medians over rounds; every engine's vectors are checked against the local run's.
2. **Per core.** passages/s of one onnxruntime thread for each artifact precision and passage length (tokens),
   each artifact in its own process, rounds interleaved: the input of the cost model in ``docs/scale.md``.
3. **Profile.** A local job under cProfile: shares of tokenization, the onnxruntime session, reading the corpus
   and writing Parquet.

Target (issue #17): each engine's overhead over the one-process path <= 15% on this machine.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import default_int8_artifact, write_result  # noqa: E402

from edge_embed.tables import format_table  # noqa: E402

ENGINES = ("local", "ray", "spark")
TARGET_OVERHEAD = 0.15
LENGTHS = ((1, 32), (33, 64), (65, 128))  # token buckets (the artifact truncates at 128)
PER_BUCKET = 192
STARTUP_PASSAGES = 64


# --- workers (each runs in its own process) ------------------------------------------------------------------------


def job_worker(engine: str, artifact: str, corpus: str, output: str) -> dict[str, Any]:
    """One ``embed_corpus`` job; the cluster is started by the job, as a user's command would."""
    from edge_embed.scale import embed_corpus

    started = time.perf_counter()
    job = embed_corpus(artifact, corpus, output, engine, overwrite=True)
    return {"job_s": job.seconds, "wall_s": time.perf_counter() - started, "passages": job.passages}


def per_core_worker(artifact: str, buckets: str) -> dict[str, float]:
    """passages/s of one onnxruntime thread on each bucket of passages."""
    from edge_embed import Embedder

    embedder = Embedder.load(artifact, threads=1)
    texts = json.loads(Path(buckets).read_text())
    embedder.embed(texts[next(iter(texts))][:32])  # warm-up
    rates = {}
    for bucket, passages in texts.items():
        start = time.perf_counter()
        embedder.embed(passages, batch_size=32)
        rates[bucket] = len(passages) / (time.perf_counter() - start)
    return rates


def profile_worker(artifact: str, corpus: str, output: str) -> dict[str, float]:
    """Seconds per category of a local job under cProfile."""
    from edge_embed.scale import embed_corpus

    profiler = cProfile.Profile()
    profiler.enable()
    embed_corpus(artifact, corpus, output, "local", overwrite=True)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    # (category, matches (file, function), count the whole call): C methods are leaves, so their own time is
    # their whole time; the Python entry points of reading and writing count with what they call.
    categories = (
        ("tokenize", lambda where, name: "encode_batch" in name, False),
        ("onnxruntime session", lambda where, name: "onnxruntime" in name and "run" in name, False),
        ("load artifact", lambda where, name: name in ("load", "_load") and "runtime" in where, True),
        ("read corpus", lambda where, name: name == "read_documents", True),
        ("write parquet", lambda where, name: name == "write_table" and "parquet" in where, True),
    )
    seconds = {category: 0.0 for category, _, _ in categories}
    total = sum(tottime for (_, _, tottime, _, _) in stats.values())
    for (filename, _, name), (_, _, tottime, cumtime, _) in stats.items():
        for category, matches, whole in categories:
            if matches(filename, name):
                seconds[category] += cumtime if whole else tottime
                break
    seconds["other (python: batching, pooling, numpy)"] = max(total - sum(seconds.values()), 0.0)
    seconds["total"] = total
    return seconds


def run_worker(kind: str, *args: str) -> Any:
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    child = subprocess.run(
        [sys.executable, __file__, "--worker", kind, *args], capture_output=True, text=True, env=env, timeout=3600
    )
    if child.returncode != 0:
        raise SystemExit(f"{kind} worker failed:\n{child.stderr[-3000:]}")
    return json.loads(child.stdout.strip().splitlines()[-1])


# --- the benchmark -------------------------------------------------------------------------------------------------


def limited_corpus(corpus: Path, limit: int | None, folder: Path) -> Path:
    """The corpus, or its first ``limit`` passages as a .jsonl."""
    if limit is None:
        return corpus
    from edge_embed.index.documents import read_documents

    path = folder / f"corpus-{limit}.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for doc in read_documents(corpus)[:limit]:
            handle.write(json.dumps({"_id": doc.id, "title": doc.title or "", "text": doc.text}) + "\n")
    return path


def length_buckets(corpus: Path, artifact: Path, folder: Path) -> Path:
    """``PER_BUCKET`` passages per token-length bucket, as the artifact's tokenizer counts them."""
    from edge_embed import Embedder
    from edge_embed.index.documents import read_documents

    embedder = Embedder.load(artifact)
    buckets: dict[str, list[str]] = {f"{lo}-{hi} tokens": [] for lo, hi in LENGTHS}
    texts = [d.embedded_text for d in read_documents(corpus)]
    for text, encoding in zip(texts, embedder.tokenize(texts), strict=True):
        tokens = sum(encoding.attention_mask)
        for (lo, hi), bucket in zip(LENGTHS, buckets.values(), strict=True):
            if lo <= tokens <= hi and len(bucket) < PER_BUCKET:
                bucket.append(text)
    path = folder / "buckets.json"
    path.write_text(json.dumps(buckets))
    return path


def engine_versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str | None] = {}
    for name in ("onnxruntime", "ray", "pyspark", "pyarrow"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    try:
        java = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=30).stderr
        found["java"] = java.splitlines()[0] if java else None
    except OSError:
        found["java"] = None
    return found


def compare_outputs(outputs: dict[str, Path]) -> dict[str, dict[str, Any]]:
    """Each engine's vectors against the local run's: same ids once each, max abs difference."""
    from edge_embed.scale import read_corpus_vectors

    reference = read_corpus_vectors(outputs["local"])
    order = {pid: i for i, pid in enumerate(reference.ids)}
    checks = {}
    for engine, path in outputs.items():
        vectors = read_corpus_vectors(path)
        same_ids = sorted(vectors.ids) == sorted(reference.ids) and len(set(vectors.ids)) == len(vectors.ids)
        aligned = reference.vectors[[order[pid] for pid in vectors.ids]] if same_ids else None
        diff = float(np.abs(vectors.vectors - aligned).max()) if aligned is not None else float("inf")
        checks[engine] = {"ids_once_each": same_ids, "max_abs_diff": diff}
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path, nargs="?", help="BEIR folder or corpus file (e.g. ../shared/data/medquad)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--limit", type=int, help="only the first N passages")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "edge-embed-scale-bench")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "scale_embed.json")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, *rest = args.worker
        workers = {"job": job_worker, "per-core": per_core_worker, "profile": profile_worker}
        print(json.dumps(workers[kind](*rest)))  # noqa: T201
        return
    if args.corpus is None:
        parser.error("give the corpus (e.g. ../shared/data/medquad)")
    engines = args.engines.split(",")
    work = args.workdir
    int8 = default_int8_artifact(work / "artifacts")
    fp32 = int8.parent / "fp32"
    corpus = limited_corpus(args.corpus, args.limit, work)
    small = limited_corpus(args.corpus, STARTUP_PASSAGES, work)

    runs: dict[str, list[dict[str, Any]]] = {e: [] for e in engines}
    startup: dict[str, list[float]] = {e: [] for e in engines}
    for round_index in range(args.rounds):
        order = engines[round_index % len(engines) :] + engines[: round_index % len(engines)]
        for engine in order:
            startup[engine].append(
                run_worker("job", engine, str(int8), str(small), str(work / f"{engine}-small.parquet"))["job_s"]
            )
            result = run_worker("job", engine, str(int8), str(corpus), str(work / f"{engine}.parquet"))
            runs[engine].append(result)
            print(f"round {round_index + 1}: {engine:5s} {result['passages'] / result['job_s']:7.1f} passages/s")  # noqa: T201
    checks = compare_outputs({e: work / f"{e}.parquet" for e in engines}) if "local" in engines else {}

    passages = runs[engines[0]][0]["passages"]
    job_s = {e: statistics.median(r["job_s"] for r in runs[e]) for e in engines}
    start_s = {e: statistics.median(startup[e]) for e in engines}
    summary = {}
    for engine in engines:
        overhead = job_s[engine] / job_s["local"] - 1 if "local" in engines else None
        steady = (
            (job_s[engine] - start_s[engine]) / (job_s["local"] - start_s["local"]) - 1 if "local" in engines else None
        )
        summary[engine] = {
            "job_s": job_s[engine],
            "passages_per_s": passages / job_s[engine],
            "startup_s": start_s[engine],
            "overhead": overhead,
            "steady_state_overhead": steady,
            **checks.get(engine, {}),
        }

    buckets = length_buckets(corpus, int8, work)
    per_core: dict[str, list[dict[str, float]]] = {"fp32": [], "int8": []}
    for round_index in range(max(args.rounds, 3)):
        for name in ["fp32", "int8"] if round_index % 2 == 0 else ["int8", "fp32"]:
            artifact = fp32 if name == "fp32" else int8
            per_core[name].append(run_worker("per-core", str(artifact), str(buckets)))
    per_core_median = {
        name: {bucket: statistics.median(r[bucket] for r in rates) for bucket in rates[0]}
        for name, rates in per_core.items()
    }
    profile = run_worker("profile", str(int8), str(corpus), str(work / "profile.parquet"))

    cores = os.cpu_count() or 1
    print()  # noqa: T201
    print(f"{passages} passages, int8 artifact, {cores} cores, medians of {args.rounds} rounds")  # noqa: T201
    rows = [
        [
            e,
            f"{s['passages_per_s']:.1f}",
            f"{s['job_s']:.1f}",
            f"{s['startup_s']:.1f}",
            "-" if s["overhead"] is None else f"{s['overhead']:+.1%}",
            "-" if s["steady_state_overhead"] is None else f"{s['steady_state_overhead']:+.1%}",
            f"{s.get('max_abs_diff', float('nan')):.1e}",
            "PASS" if e == "local" or (s["overhead"] or 0) <= TARGET_OVERHEAD else "FAIL",
        ]
        for e, s in summary.items()
    ]
    headers = ["engine", "passages/s", "job s", f"{STARTUP_PASSAGES}-passage job s", "overhead", "steady-state"]
    print(format_table([*headers, "max |diff|", f"<= {TARGET_OVERHEAD:.0%}"], rows))  # noqa: T201
    print()  # noqa: T201
    buckets_names = list(per_core_median["int8"])
    print("passages/s per core (one onnxruntime thread)")  # noqa: T201
    print(
        format_table(
            ["artifact", *buckets_names],
            [[n, *(f"{r[b]:.1f}" for b in buckets_names)] for n, r in per_core_median.items()],
        )
    )  # noqa: T201
    print()  # noqa: T201
    total = profile["total"]
    print("where a local job's time goes (cProfile)")  # noqa: T201
    print(
        format_table(
            ["part", "s", "share"], [[k, f"{v:.1f}", f"{v / total:.1%}"] for k, v in profile.items() if k != "total"]
        )
    )  # noqa: T201
    write_result(
        args.out,
        "scale_embed",
        {
            "corpus": str(args.corpus),
            "passages": passages,
            "rounds": args.rounds,
            "engines": summary,
            "runs": runs,
            "startup_runs": startup,
            "per_core_passages_per_s": per_core_median,
            "per_core_runs": per_core,
            "profile_s": profile,
            "target_overhead": TARGET_OVERHEAD,
            "versions": engine_versions(),
        },
    )


if __name__ == "__main__":
    main()
