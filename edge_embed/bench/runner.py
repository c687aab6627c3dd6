"""Benchmark artifacts side by side on one machine: accuracy on a split, batch-1 latency, throughput, cold start
and memory, interleaved over rounds, every row tied to its lineage."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edge_embed.bench.machine import describe_machine
from edge_embed.bench.timing import (
    EDGE_EMBED_PROGRAM,
    SENTENCE_TRANSFORMERS_PROGRAM,
    ColdStart,
    cold_start,
    latencies_ms,
    percentiles,
    throughput,
)
from edge_embed.data.beir import RetrievalDataset
from edge_embed.errors import InputError
from edge_embed.eval.cache import dataset_fingerprint, evaluate_cached
from edge_embed.eval.retrieval import TextEmbedder
from edge_embed.lineage.chain import LinkKind, resolve_lineage
from edge_embed.lineage.manifest import read_manifest
from edge_embed.records.bench import (
    BenchDataset,
    BenchReport,
    BenchRow,
    ColdStartSpread,
    ReferenceComparison,
    RowKind,
    Spread,
)
from edge_embed.runtime.embedder import Embedder

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BenchSettings:
    """How much to measure. Defaults give a stable p99 (1000 batch-1 calls per artifact) in about a minute."""

    rounds: int = 5
    latency_queries: int = 200  # batch-1 calls per artifact per round
    throughput_texts: int = 128  # passages per artifact per round
    batch_size: int = 32
    threads: int | None = None
    warmup: int = 10
    cold_start: bool = True
    use_cache: bool = True

    def __post_init__(self) -> None:
        bad = [
            name for name in ("rounds", "latency_queries", "throughput_texts", "batch_size") if getattr(self, name) < 1
        ]
        if bad:
            raise InputError(f"bench settings must be positive: {', '.join(f'{b}={getattr(self, b)}' for b in bad)}")


@dataclass
class _Candidate:
    label: str
    kind: RowKind
    path: Path
    embedder: TextEmbedder
    identity: str
    precision: str
    batch_invariant: bool
    size_mb: float
    program: str
    lineage: dict[str, Any] | None
    latencies: list[dict[str, float]]
    throughputs: list[float]
    cold: list[ColdStart]
    short_throughputs: list[float] = field(default_factory=list)


def run_bench(
    artifacts: Sequence[str | Path],
    dataset: RetrievalDataset,
    dims: Sequence[int] = (),
    settings: BenchSettings | None = None,
    reference: bool = False,
    allow_broken_lineage: bool = False,
    show_progress: bool = False,
) -> BenchReport:
    """Measure every artifact (and optionally the sentence-transformers reference) and return the report.

    Accuracy is computed once per artifact (its corpus embedded once, every Matryoshka width scored from it);
    timings interleave the artifacts within each round, rotating their order, and report per-round medians
    with their range.

    Args:
        artifacts: Artifact folders.
        dataset: One split of a BEIR dataset (or a seeded sample of it).
        dims: Matryoshka widths to score besides each artifact's full width.
        settings: Rounds, calls and batch size.
        reference: Add a row for the root export's checkpoint run with sentence-transformers on PyTorch.
        allow_broken_lineage: Benchmark artifacts whose lineage is broken (marked in their rows) instead of failing.
        show_progress: Progress bars while embedding and timing.

    Returns:
        The report (``report.json``'s record; no recommendation yet: see :func:`edge_embed.bench.recommend`).

    Raises:
        LineageError: If an artifact's chain is broken and ``allow_broken_lineage`` is false.
        InputError: If no artifact is given or a dim is wider than every artifact.
    """
    settings = settings or BenchSettings()
    if not artifacts:
        raise InputError("no artifacts to benchmark")
    if not dataset.queries or not dataset.corpus:
        raise InputError(f"{dataset.name}/{dataset.split} has no queries or no passages to benchmark on")
    candidates = [_load_artifact(Path(a), settings, allow_broken_lineage) for a in artifacts]
    _unique_labels(candidates)
    if reference:
        candidates.append(_load_reference(Path(artifacts[0]), settings))
    accuracy = {}
    for i, candidate in enumerate(candidates, 1):
        logger.info("[%d/%d] accuracy of %s on %s/%s", i, len(candidates), candidate.label, dataset.name, dataset.split)
        widths = [d for d in dims if d <= candidate.embedder.dim]
        skipped = [d for d in dims if d > candidate.embedder.dim]
        if skipped:
            warnings.warn(
                f"{candidate.label} is {candidate.embedder.dim}-dimensional; skipping dims {skipped}", stacklevel=2
            )
        accuracy[candidate.label] = evaluate_cached(
            candidate.embedder,
            candidate.identity,
            dataset,
            widths,
            settings.batch_size,
            settings.use_cache and candidate.kind is RowKind.ARTIFACT,
            show_progress,
        )
    _measure_timings(candidates, dataset, settings, show_progress)
    rows = _compare_to_reference([row for c in candidates for row in _rows(c, accuracy[c.label], settings)])
    return BenchReport(
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        machine=describe_machine(settings.threads),
        dataset=BenchDataset(
            name=dataset.name,
            split=dataset.split,
            queries=len(dataset.queries),
            corpus=len(dataset.corpus),
            sampled=dataset.sampled,
            fingerprint=dataset_fingerprint(dataset),
        ),
        settings={**settings.__dict__, "dims": list(dims), "reference": reference},
        rows=tuple(rows),
    )


def _load_artifact(path: Path, settings: BenchSettings, allow_broken: bool) -> _Candidate:
    lineage = resolve_lineage(path)
    if lineage.problems():
        if not allow_broken:
            lineage.check()
        warnings.warn(f"benchmarking {path} with a broken lineage: {lineage.problems()[0].detail}", stacklevel=3)
    manifest = read_manifest(path)
    embedder = Embedder.load(path, threads=settings.threads, verify=False)  # lineage has just hashed every file
    return _Candidate(
        label=path.name,
        kind=RowKind.ARTIFACT,
        path=path,
        embedder=embedder,
        identity=lineage.artifact.identity or "",
        precision=manifest.graph.precision,
        batch_invariant=manifest.graph.vectors_batch_invariant,
        size_mb=sum((path / f).stat().st_size for f in manifest.graph.files) / 1e6,
        program=EDGE_EMBED_PROGRAM,
        lineage=lineage.summary(),
        latencies=[],
        throughputs=[],
        cold=[],
    )


def _load_reference(artifact: Path, settings: BenchSettings) -> _Candidate:
    from edge_embed._extras import require_build

    require_build("bench --reference", ("torch", "sentence_transformers"))
    from edge_embed.bench.reference import SentenceTransformersReference

    lineage = resolve_lineage(artifact)
    root = next(link for link in lineage.links if link.kind in (LinkKind.CHECKPOINT, LinkKind.BASE_MODEL))
    if root.path is None or not Path(root.path).is_dir():
        raise InputError(
            f"--reference runs the checkpoint {artifact} was exported from ({root.path}), which is not on this machine"
        )
    model = SentenceTransformersReference(root.path, settings.threads)
    return _Candidate(
        label="sentence-transformers (torch fp32)",
        kind=RowKind.REFERENCE,
        path=Path(root.path),
        embedder=model,
        identity=root.identity or "",
        precision="fp32 (torch)",
        batch_invariant=True,
        size_mb=model.size_mb(),
        program=SENTENCE_TRANSFORMERS_PROGRAM,
        lineage=None,
        latencies=[],
        throughputs=[],
        cold=[],
    )


def _unique_labels(candidates: list[_Candidate]) -> None:
    names = [c.label for c in candidates]
    for c in candidates:
        if names.count(c.label) > 1:
            c.label = f"{c.path.parent.name}/{c.path.name}"


def _measure_timings(
    candidates: list[_Candidate], dataset: RetrievalDataset, settings: BenchSettings, show_progress: bool
) -> None:
    """Round-robin: each round times every candidate on the same texts, in a rotated order."""
    queries = [dataset.queries[q] for q in sorted(dataset.queries)]
    passages = [dataset.corpus[c] for c in sorted(dataset.corpus)]
    steps = settings.rounds * len(candidates) * (2 if settings.cold_start else 1)
    progress = _progress_bar(steps, show_progress)
    logger.info("timing %d candidates over %d interleaved rounds", len(candidates), settings.rounds)
    for c in candidates:
        _warm_up(c, queries, passages, settings)
    for r in range(settings.rounds):
        for c in _rotated(candidates, r):
            _time_round(c, r, queries, passages, settings)
            if progress is not None:
                progress.update(1)
    if settings.cold_start:
        probe = queries[0]
        for r in range(settings.rounds):
            for c in _rotated(candidates, r):
                c.cold.append(cold_start(c.program, str(c.path), probe, settings.threads))
                if progress is not None:
                    progress.update(1)
    if progress is not None:
        progress.close()


def _warm_up(c: _Candidate, queries: list[str], passages: list[str], settings: BenchSettings) -> None:
    """First calls allocate arenas and fill caches; an engine with per-shape kernels (OpenVINO) prepares them."""
    warm_up = getattr(c.embedder, "warm_up", None)  # the sentence-transformers reference has none
    if warm_up is not None:
        warm_up(settings.batch_size)
    latencies_ms(c.embedder, _cycle(queries, 0, settings.warmup))
    throughput(c.embedder, _cycle(passages, 0, settings.batch_size), settings.batch_size)


def _time_round(c: _Candidate, r: int, queries: list[str], passages: list[str], settings: BenchSettings) -> None:
    """One round of one candidate: batch-1 queries, then passages and queries at the batch size."""
    count = settings.throughput_texts
    c.latencies.append(
        percentiles(latencies_ms(c.embedder, _cycle(queries, r * settings.latency_queries, settings.latency_queries)))
    )
    c.throughputs.append(throughput(c.embedder, _cycle(passages, r * count, count), settings.batch_size))
    c.short_throughputs.append(throughput(c.embedder, _cycle(queries, r * count, count), settings.batch_size))


def _rows(c: _Candidate, accuracy: dict[int, dict[str, float]], settings: BenchSettings) -> list[BenchRow]:
    peaks = [s.peak_rss_mb for s in c.cold if s.peak_rss_mb is not None]
    cold = (
        ColdStartSpread(
            seconds=Spread.of([s.seconds for s in c.cold]),
            load_s=Spread.of([s.load_s for s in c.cold]),
            peak_rss_mb=Spread.of(peaks) if peaks else None,
        )
        if c.cold
        else None
    )
    latency = {name: Spread.of([round_[name] for round_ in c.latencies]) for name in ("p50", "p95", "p99")}
    full = c.embedder.dim
    return [
        BenchRow(
            label=c.label if dim == full else f"{c.label}@{dim}",
            artifact=c.label,
            kind=c.kind,
            path=str(c.path),
            precision=c.precision,
            batch_invariant=c.batch_invariant,
            dim=dim,
            identity=c.identity,
            size_mb=c.size_mb,
            metrics=metrics,
            latency_ms=latency,
            latency_calls=settings.rounds * settings.latency_queries,
            throughput=Spread.of(c.throughputs),
            batch_size=settings.batch_size,
            cold_start=cold,
            lineage=c.lineage,
            short_throughput=Spread.of(c.short_throughputs) if c.short_throughputs else None,
        )
        for dim, metrics in accuracy.items()
    ]


def _compare_to_reference(rows: list[BenchRow]) -> list[BenchRow]:
    """Each row with its speed-up and accuracy delta against the reference row of the same width."""
    references = {row.dim: row for row in rows if row.kind is RowKind.REFERENCE}
    out = []
    for row in rows:
        ref = references.get(row.dim)
        if ref is None or row is ref:
            out.append(row)
            continue
        cold = (
            ref.cold_start.seconds.median / row.cold_start.seconds.median
            if row.cold_start is not None and ref.cold_start is not None
            else None
        )
        comparison = ReferenceComparison(
            p50_speedup=ref.p50_ms / row.p50_ms,
            throughput_speedup=row.texts_per_s / ref.texts_per_s,
            ndcg_delta=row.ndcg - ref.ndcg,
            cold_start_speedup=cold,
        )
        out.append(replace(row, vs_reference=comparison))
    return out


def _cycle(items: Sequence[str], start: int, count: int) -> list[str]:
    return [items[(start + i) % len(items)] for i in range(count)]


def _rotated(items: list[_Candidate], r: int) -> list[_Candidate]:
    shift = r % len(items)
    return items[shift:] + items[:shift]


def _progress_bar(total: int, show: bool) -> Any:
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="timing", unit="step")
