"""Corpus embedding on one process, Ray Data and Spark: throughput, engine overhead, per-core cost, where time goes.

    python benchmarks/scale_embed.py ../shared/data/medquad [--rounds 2] [--limit N] [--workdir /tmp/scale-bench]
        [--parts engines,per-core,profile] [--out results/scale_embed.json]

1. **Engines.** Each round runs ``embed_corpus`` once per engine (order rotating), each in a fresh process, on the
   same corpus and int8 artifact with the machine's cores: ``local`` (1 process x all cores), ``ray`` (Ray Data,
   local cluster, 1 actor per core, 1 thread each) and ``spark`` (``local[cores]``, 1 thread per task). The job
   time includes starting the cluster; the same job on 64 passages gives that fixed cost, so the steady-state
   overhead is also shown. Medians over rounds; every engine's vectors are checked against the local run's.
2. **Per core.** passages/s of one onnxruntime thread for each artifact precision and passage length (tokens, up
   to the artifact's max_seq_length) and on a sample of the corpus as it is, each artifact in its own process,
   rounds interleaved; alone on the machine, and with every core busy (one such process per core at once, which is
   how a cluster runs): the input of the cost model in ``docs/scale.md``.
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
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import default_int8_artifact, write_result  # noqa: E402

from edge_embed.tables import format_table  # noqa: E402

ENGINES = ("local", "ray", "spark")
TARGET_OVERHEAD = 0.15
LENGTHS = ((1, 32), (33, 64), (65, 128), (129, 256), (257, 512))  # token buckets, up to the artifact's length
PER_BUCKET = 192
STARTUP_PASSAGES = 64


# --- workers (each runs in its own process) ------------------------------------------------------------------------


# How each engine's worker processes name themselves (Ray's actor title; Spark's forked Python workers).
WORKER_MARKERS = {"ray": ("RayEmbedBatch",), "spark": ("pyspark.daemon", "pyspark.worker")}


class WorkerPeaks(threading.Thread):
    """Peak RSS (VmHWM) of an engine's worker processes, read from /proc every half second while a job runs."""

    def __init__(self, engine: str) -> None:
        super().__init__(daemon=True)
        self.markers = WORKER_MARKERS.get(engine, ())
        self.peaks: dict[int, float] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while self.markers and not self.done.wait(0.5):
            for status in Path("/proc").glob("[0-9]*/status"):
                try:
                    command = (status.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                    if any(marker in command for marker in self.markers):
                        self.peaks[int(status.parent.name)] = _peak_mb(status.read_text())
                except (OSError, IndexError, ValueError):  # the process ended between listing and reading
                    continue


def _peak_mb(status: str) -> float:
    return int(status.split("VmHWM:")[1].split()[0]) / 1024


def job_worker(engine: str, artifact: str, corpus: str, output: str) -> dict[str, Any]:
    """One ``embed_corpus`` job; the cluster is started by the job, as a user's command would. Peak RSS of this
    process (the driver; the worker too for ``local``) and of the largest worker process."""
    from edge_embed.scale import embed_corpus

    peaks = WorkerPeaks(engine)
    peaks.start()
    started = time.perf_counter()
    job = embed_corpus(artifact, corpus, output, engine, overwrite=True)
    wall = time.perf_counter() - started
    peaks.done.set()
    peaks.join()
    driver = _peak_mb(Path("/proc/self/status").read_text())
    return {
        "job_s": job.seconds,
        "wall_s": wall,
        "passages": job.passages,
        "driver_peak_rss_mb": driver,
        "worker_peak_rss_mb": max(peaks.peaks.values(), default=driver),
        "worker_processes_seen": len(peaks.peaks),
    }


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
    return run_workers(kind, [args])[0]


def run_workers(kind: str, arguments: list[tuple[str, ...]]) -> list[Any]:
    """One worker process per entry of ``arguments``, all at once; their results in order."""
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    children = [
        subprocess.Popen(
            [sys.executable, __file__, "--worker", kind, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for args in arguments
    ]
    results = []
    for child in children:
        out, err = child.communicate(timeout=3600)
        if child.returncode != 0:
            raise SystemExit(f"{kind} worker failed:\n{err[-3000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


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
    lengths = [(lo, hi) for lo, hi in LENGTHS if lo <= embedder.manifest.max_seq_length]
    buckets: dict[str, list[str]] = {f"{lo}-{hi} tokens": [] for lo, hi in lengths}
    texts = [d.embedded_text for d in read_documents(corpus)]
    for text, encoding in zip(texts, embedder.tokenize(texts), strict=True):
        tokens = sum(encoding.attention_mask)
        for (lo, hi), bucket in zip(lengths, buckets.values(), strict=True):
            if lo <= tokens <= hi and len(bucket) < PER_BUCKET:
                bucket.append(text)
    buckets["corpus sample"] = texts[:PER_BUCKET]
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


PARTS = ("engines", "per-core", "profile")


def measure_engines(args: argparse.Namespace, int8: Path, corpus: Path) -> dict[str, Any]:
    """Part 1: every engine's jobs, rotated per round, and their vectors compared with the local run's."""
    engines, work = args.engines.split(","), args.workdir
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
            "driver_peak_rss_mb": max(r["driver_peak_rss_mb"] for r in runs[engine]),
            "worker_peak_rss_mb": max(r["worker_peak_rss_mb"] for r in runs[engine]),
            **checks.get(engine, {}),
        }
    rows = [
        [
            e,
            f"{s['passages_per_s']:.1f}",
            f"{s['job_s']:.1f}",
            f"{s['startup_s']:.1f}",
            "-" if s["overhead"] is None else f"{s['overhead']:+.1%}",
            "-" if s["steady_state_overhead"] is None else f"{s['steady_state_overhead']:+.1%}",
            f"{s['driver_peak_rss_mb']:.0f}",
            f"{s['worker_peak_rss_mb']:.0f}",
            f"{s.get('max_abs_diff', float('nan')):.1e}",
            "PASS" if e == "local" or (s["overhead"] or 0) <= TARGET_OVERHEAD else "FAIL",
        ]
        for e, s in summary.items()
    ]
    print(f"\n{passages} passages, int8 artifact, {os.cpu_count()} cores, medians of {args.rounds} rounds")  # noqa: T201
    headers = ["engine", "passages/s", "job s", f"{STARTUP_PASSAGES}-passage job s", "overhead", "steady-state"]
    headers += ["driver peak MB", "worker peak MB", "max |diff|", f"<= {TARGET_OVERHEAD:.0%}"]
    print(format_table(headers, rows))  # noqa: T201
    return {
        "passages": passages,
        "engines": summary,
        "runs": runs,
        "startup_runs": startup,
        "target_overhead": TARGET_OVERHEAD,
    }


def measure_per_core(args: argparse.Namespace, int8: Path, corpus: Path) -> dict[str, Any]:
    """Part 2: one onnxruntime thread per process, alone on the machine and with every core busy (one such process
    per core at once), per artifact precision and passage length, rounds interleaved."""
    fp32 = int8.parent / "fp32"
    buckets = length_buckets(corpus, int8, args.workdir)
    cores = os.cpu_count() or 1
    alone: dict[str, list[dict[str, float]]] = {"fp32": [], "int8": []}
    busy: dict[str, list[dict[str, float]]] = {"fp32": [], "int8": []}
    for round_index in range(max(args.rounds, 3)):
        for name in ["fp32", "int8"] if round_index % 2 == 0 else ["int8", "fp32"]:
            artifact = str(fp32 if name == "fp32" else int8)
            alone[name].append(run_worker("per-core", artifact, str(buckets)))
            busy[name].extend(run_workers("per-core", [(artifact, str(buckets))] * cores))
    medians = {
        kind: {name: {b: statistics.median(r[b] for r in rates) for b in rates[0]} for name, rates in runs.items()}
        for kind, runs in (("alone", alone), ("every_core_busy", busy))
    }
    names = list(medians["alone"]["int8"])
    print(f"\npassages/s per core (one onnxruntime thread; busy: {cores} such processes at once)")  # noqa: T201
    rows = [
        [f"{name} {kind.replace('_', ' ')}", *(f"{rates[b]:.1f}" for b in names)]
        for kind, by_name in medians.items()
        for name, rates in by_name.items()
    ]
    print(format_table(["artifact", *names], rows))  # noqa: T201
    return {"per_core_passages_per_s": medians, "per_core_runs": {"alone": alone, "every_core_busy": busy}}


def measure_profile(args: argparse.Namespace, int8: Path, corpus: Path) -> dict[str, Any]:
    """Part 3: where a local job's time goes."""
    profile = run_worker("profile", str(int8), str(corpus), str(args.workdir / "profile.parquet"))
    total = profile["total"]
    print("\nwhere a local job's time goes (cProfile)")  # noqa: T201
    rows = [[k, f"{v:.1f}", f"{v / total:.1%}"] for k, v in profile.items() if k != "total"]
    print(format_table(["part", "s", "share"], rows))  # noqa: T201
    return {"profile_s": profile}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path, nargs="?", help="BEIR folder or corpus file (e.g. ../shared/data/medquad)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--limit", type=int, help="only the first N passages")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--parts", default=",".join(PARTS), help=f"which measurements ({', '.join(PARTS)})")
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
    parts = args.parts.split(",")
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown parts {unknown}; choose from {', '.join(PARTS)}")
    int8 = default_int8_artifact(args.workdir / "artifacts")
    corpus = limited_corpus(args.corpus, args.limit, args.workdir)
    measures = {"engines": measure_engines, "per-core": measure_per_core, "profile": measure_profile}
    payload: dict[str, Any] = {"corpus": str(args.corpus), "rounds": args.rounds, "parts": parts}
    for part in parts:
        payload.update(measures[part](args, int8, corpus))
    write_result(args.out, "scale_embed", {**payload, "versions": engine_versions()})


if __name__ == "__main__":
    main()
