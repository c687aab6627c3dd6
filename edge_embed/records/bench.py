"""Typed records of a benchmark report (``report.json``): its rows, the dataset it ran on and the recommendation.

``edge-embed bench`` and the pipeline write a :class:`BenchReport`; the report's markdown and plot, the pipeline's
summary and tracking and the registry read it back through :meth:`BenchReport.read`, so a renamed field fails at the
read with the file named, and tests build rows through the same types.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge_embed.choices import Choice
from edge_embed.errors import ArtifactError
from edge_embed.eval.metrics import PRIMARY_METRIC
from edge_embed.records.fields import count, number, text
from edge_embed.records.files import read_json

REPORT_FILE = "report.json"
REPORT_FILES = (REPORT_FILE, "report.md", "pareto.png")  # what a report folder holds
REPORT_SCHEMA = "edge-embed.bench-report"
REPORT_SCHEMA_VERSION = 1


class RowKind(Choice):
    """What a benchmark row measured: an edge-embed artifact, or the sentence-transformers reference."""

    ARTIFACT = "artifact"
    REFERENCE = "reference"


@dataclass(frozen=True)
class Spread:
    """Median of per-round values and their range: what a noisy machine lets us claim."""

    median: float
    min: float
    max: float
    rounds: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        """The spread of per-round ``values`` (at least one)."""
        return cls(float(statistics.median(values)), float(min(values)), float(max(values)), len(values))

    @classmethod
    def from_dict(cls, data: object, where: str) -> Spread:
        if not isinstance(data, Mapping):
            raise ArtifactError(f"{where} must be an object with median, min, max and rounds")
        return cls(
            median=number(data.get("median"), f"{where}.median"),
            min=number(data.get("min"), f"{where}.min"),
            max=number(data.get("max"), f"{where}.max"),
            rounds=int(number(data.get("rounds"), f"{where}.rounds")),
        )

    def to_dict(self) -> dict[str, float]:
        return {"median": self.median, "min": self.min, "max": self.max, "rounds": self.rounds}


@dataclass(frozen=True)
class ColdStartSpread:
    """Fresh-process cold starts: wall time from outside, artifact load time and peak RSS (when measured)."""

    seconds: Spread
    load_s: Spread
    peak_rss_mb: Spread | None = None

    @classmethod
    def from_dict(cls, data: object, where: str) -> ColdStartSpread | None:
        if data is None:
            return None
        if not isinstance(data, Mapping):
            raise ArtifactError(f"{where} must be an object or null")
        peak = data.get("peak_rss_mb")
        return cls(
            seconds=Spread.from_dict(data.get("seconds"), f"{where}.seconds"),
            load_s=Spread.from_dict(data.get("load_s"), f"{where}.load_s"),
            peak_rss_mb=None if peak is None else Spread.from_dict(peak, f"{where}.peak_rss_mb"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "seconds": self.seconds.to_dict(),
            "load_s": self.load_s.to_dict(),
            "peak_rss_mb": None if self.peak_rss_mb is None else self.peak_rss_mb.to_dict(),
        }


@dataclass(frozen=True)
class ReferenceComparison:
    """A row against the sentence-transformers reference row of the same width."""

    p50_speedup: float
    throughput_speedup: float
    ndcg_delta: float
    cold_start_speedup: float | None = None

    @classmethod
    def from_dict(cls, data: object, where: str) -> ReferenceComparison | None:
        if data is None:
            return None
        if not isinstance(data, Mapping):
            raise ArtifactError(f"{where} must be an object")
        cold = data.get("cold_start_speedup")
        return cls(
            p50_speedup=number(data.get("p50_speedup"), f"{where}.p50_speedup"),
            throughput_speedup=number(data.get("throughput_speedup"), f"{where}.throughput_speedup"),
            ndcg_delta=number(data.get(f"{PRIMARY_METRIC}_delta"), f"{where}.{PRIMARY_METRIC}_delta"),
            cold_start_speedup=None if cold is None else number(cold, f"{where}.cold_start_speedup"),
        )

    def to_dict(self) -> dict[str, float]:
        out = {
            "p50_speedup": self.p50_speedup,
            "throughput_speedup": self.throughput_speedup,
            f"{PRIMARY_METRIC}_delta": self.ndcg_delta,
        }
        if self.cold_start_speedup is not None:
            out["cold_start_speedup"] = self.cold_start_speedup
        return out


def _batch_invariant(value: object, precision: str, where: str) -> bool:
    """A row's ``batch_invariant``; reports written before it was recorded say it in the precision label."""
    if value is None:
        return "per-tensor" not in precision
    if not isinstance(value, bool):
        raise ArtifactError(f"{where}.batch_invariant must be true or false, got {value!r:.40}")
    return value


@dataclass(frozen=True)
class BenchRow:
    """One artifact (or the reference) at one embedding width: accuracy, timings, size and lineage."""

    label: str  # the artifact's label, with "@dim" for a Matryoshka width below its full one
    artifact: str
    kind: RowKind
    path: str
    precision: str
    batch_invariant: bool  # whether a text's vector is independent of its batch-mates (the manifest's answer)
    dim: int
    identity: str
    size_mb: float
    metrics: Mapping[str, float]
    latency_ms: Mapping[str, Spread]  # p50, p95, p99 of batch-1 calls, each a spread over rounds
    latency_calls: int
    throughput: Spread  # texts per second at batch_size
    batch_size: int
    cold_start: ColdStartSpread | None = None
    lineage: Mapping[str, Any] | None = None
    vs_reference: ReferenceComparison | None = None
    short_throughput: Spread | None = None  # queries per second at batch_size (reports before 2026-12 lack it)

    @property
    def ndcg(self) -> float:
        """The primary metric (NDCG@10)."""
        return self.metrics[PRIMARY_METRIC]

    @property
    def p50_ms(self) -> float:
        return self.latency_ms["p50"].median

    @property
    def p95_ms(self) -> float:
        return self.latency_ms["p95"].median

    @property
    def p99_ms(self) -> float:
        return self.latency_ms["p99"].median

    @property
    def texts_per_s(self) -> float:
        return self.throughput.median

    @property
    def short_texts_per_s(self) -> float | None:
        return None if self.short_throughput is None else self.short_throughput.median

    @property
    def peak_rss_mb(self) -> float | None:
        """Median cold-start peak RSS, when measured."""
        cold = self.cold_start
        return cold.peak_rss_mb.median if cold is not None and cold.peak_rss_mb is not None else None

    @property
    def full_width(self) -> bool:
        """Whether this row is the artifact at its own width (not a Matryoshka truncation)."""
        return self.label == self.artifact

    @property
    def run_id(self) -> str | None:
        """The training run the artifact descends from, when its lineage names one."""
        value = (self.lineage or {}).get("run_id")
        return value if isinstance(value, str) else None

    @classmethod
    def from_dict(cls, data: object, where: str = "row") -> BenchRow:
        """Read one row of ``report.json``.

        Raises:
            ArtifactError: If a field every reader relies on is missing or of the wrong type (named in the message).
        """
        if not isinstance(data, Mapping):
            raise ArtifactError(f"{where} is not an object")
        try:
            kind = RowKind(data.get("kind"))
        except ValueError:
            raise ArtifactError(f"{where}.kind {data.get('kind')!r} is not 'artifact' or 'reference'") from None
        latency = data.get("latency_ms")
        if not isinstance(latency, Mapping) or not {"p50", "p95", "p99"} <= set(latency):
            raise ArtifactError(f"{where}.latency_ms must hold p50, p95 and p99")
        metrics = data.get("metrics")
        if not isinstance(metrics, Mapping) or PRIMARY_METRIC not in metrics:
            raise ArtifactError(f"{where}.metrics must hold {PRIMARY_METRIC}")
        throughput = data.get("throughput")
        if not isinstance(throughput, Mapping):
            raise ArtifactError(f"{where}.throughput must be an object with texts_per_s and batch_size")
        precision = text(data.get("precision"), f"{where}.precision")
        lineage = data.get("lineage")
        if lineage is not None and not isinstance(lineage, Mapping):
            raise ArtifactError(f"{where}.lineage must be an object or null")
        return cls(
            label=text(data.get("label"), f"{where}.label"),
            artifact=text(data.get("artifact"), f"{where}.artifact"),
            kind=kind,
            path=text(data.get("path"), f"{where}.path"),
            precision=precision,
            batch_invariant=_batch_invariant(data.get("batch_invariant"), precision, where),
            dim=count(data.get("dim"), f"{where}.dim"),
            identity=text(data.get("identity"), f"{where}.identity"),
            size_mb=number(data.get("size_mb"), f"{where}.size_mb"),
            metrics={str(k): number(v, f"{where}.metrics.{k}") for k, v in metrics.items()},
            latency_ms={q: Spread.from_dict(latency[q], f"{where}.latency_ms.{q}") for q in ("p50", "p95", "p99")},
            latency_calls=count(data.get("latency_calls"), f"{where}.latency_calls"),
            throughput=Spread.from_dict(throughput.get("texts_per_s"), f"{where}.throughput.texts_per_s"),
            batch_size=count(throughput.get("batch_size"), f"{where}.throughput.batch_size"),
            cold_start=ColdStartSpread.from_dict(data.get("cold_start"), f"{where}.cold_start"),
            lineage=lineage,
            vs_reference=ReferenceComparison.from_dict(data.get("vs_reference"), f"{where}.vs_reference"),
            short_throughput=None
            if throughput.get("short_texts_per_s") is None
            else Spread.from_dict(throughput["short_texts_per_s"], f"{where}.throughput.short_texts_per_s"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The row as ``report.json`` holds it."""
        out: dict[str, Any] = {
            "label": self.label,
            "artifact": self.artifact,
            "kind": self.kind.value,
            "path": self.path,
            "precision": self.precision,
            "batch_invariant": self.batch_invariant,
            "dim": self.dim,
            "identity": self.identity,
            "size_mb": self.size_mb,
            "metrics": dict(self.metrics),
            "latency_ms": {q: s.to_dict() for q, s in self.latency_ms.items()},
            "latency_calls": self.latency_calls,
            "throughput": {"texts_per_s": self.throughput.to_dict(), "batch_size": self.batch_size},
            "cold_start": None if self.cold_start is None else self.cold_start.to_dict(),
            "lineage": None if self.lineage is None else dict(self.lineage),
        }
        if self.short_throughput is not None:
            out["throughput"]["short_texts_per_s"] = self.short_throughput.to_dict()
        if self.vs_reference is not None:
            out["vs_reference"] = self.vs_reference.to_dict()
        return out


@dataclass(frozen=True)
class Recommendation:
    """The artifact to deploy and why; ``label`` is None when no row fits the budgets."""

    reason: str
    label: str | None = None
    path: str | None = None
    dim: int | None = None
    budget_ms: float | None = None
    budget_mb: float | None = None
    min_ndcg: float | None = None

    @classmethod
    def from_dict(cls, data: object, where: str = "recommendation") -> Recommendation | None:
        if data is None:
            return None
        if not isinstance(data, Mapping) or not isinstance(data.get("reason"), str):
            raise ArtifactError(f"{where} must be an object with a reason")
        label = data.get("label")
        if label is not None:
            text(label, f"{where}.label"), text(data.get("path"), f"{where}.path")
        optional = {k: data.get(k) for k in ("budget_ms", "budget_mb", "min_ndcg")}
        return cls(
            reason=data["reason"],
            label=label,
            path=data.get("path") if label is not None else None,
            dim=count(data.get("dim"), f"{where}.dim") if label is not None else None,
            **{k: None if v is None else number(v, f"{where}.{k}") for k, v in optional.items()},
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"label": self.label, "reason": self.reason}
        if self.label is not None:
            out.update(path=self.path, dim=self.dim)
        out.update(budget_ms=self.budget_ms, budget_mb=self.budget_mb, min_ndcg=self.min_ndcg)
        return out


@dataclass(frozen=True)
class BenchDataset:
    """The split a report was measured on."""

    name: str
    split: str
    queries: int
    corpus: int
    fingerprint: str
    sampled: Mapping[str, Any] | None = None  # how a seeded subset was drawn; None for the full split
    path: str | None = None

    @classmethod
    def from_dict(cls, data: object, where: str = "dataset") -> BenchDataset:
        if not isinstance(data, Mapping):
            raise ArtifactError(f"{where} must be an object")
        path, sampled = data.get("path"), data.get("sampled")
        if sampled is not None and not isinstance(sampled, Mapping):
            raise ArtifactError(f"{where}.sampled must be an object or null")
        return cls(
            name=text(data.get("name"), f"{where}.name"),
            split=text(data.get("split"), f"{where}.split"),
            queries=count(data.get("queries"), f"{where}.queries"),
            corpus=count(data.get("corpus"), f"{where}.corpus"),
            sampled=sampled,
            fingerprint=str(data.get("fingerprint", "")),
            path=None if path is None else str(path),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "split": self.split,
            "queries": self.queries,
            "corpus": self.corpus,
            "sampled": self.sampled,
            "fingerprint": self.fingerprint,
        }
        if self.path is not None:
            out["path"] = self.path
        return out


@dataclass(frozen=True)
class BenchReport:
    """What ``report.json`` holds: where and how it was measured, one row per artifact and width, the pick."""

    created_at: str
    machine: Mapping[str, Any]
    dataset: BenchDataset
    settings: Mapping[str, Any]
    rows: tuple[BenchRow, ...]
    recommendation: Recommendation | None = None
    pipeline: Mapping[str, Any] | None = None
    schema_version: int = REPORT_SCHEMA_VERSION
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def threads(self) -> int | None:
        value = self.machine.get("threads")
        return value if isinstance(value, int) else None

    def full_dim(self, artifact: str) -> int:
        """The widest width benchmarked for ``artifact`` (its own width)."""
        return max(row.dim for row in self.rows if row.artifact == artifact)

    @classmethod
    def from_dict(cls, data: object, source: str = REPORT_FILE) -> BenchReport:
        """Read a report, checking every row.

        Raises:
            ArtifactError: If ``data`` is not a benchmark report (the message names ``source`` and the field).
        """
        if not isinstance(data, Mapping) or data.get("schema") != REPORT_SCHEMA:
            raise ArtifactError(f"{source} is not an edge-embed benchmark report (no schema {REPORT_SCHEMA!r})")
        version = data.get("schema_version", 1)
        if not isinstance(version, int) or version > REPORT_SCHEMA_VERSION:
            raise ArtifactError(
                f"{source} has schema_version {version!r}; this edge-embed reads up to {REPORT_SCHEMA_VERSION}, "
                "upgrade it"
            )
        rows = data.get("rows")
        if not isinstance(rows, list):
            raise ArtifactError(f"{source}: rows must be a list")
        machine, settings, pipeline = data.get("machine", {}), data.get("settings", {}), data.get("pipeline")
        if not isinstance(machine, Mapping) or not isinstance(settings, Mapping):
            raise ArtifactError(f"{source}: machine and settings must be objects")
        if pipeline is not None and not isinstance(pipeline, Mapping):
            raise ArtifactError(f"{source}: pipeline must be an object or null")
        known = {"schema", "schema_version", "created_at", "machine", "dataset", "settings", "rows"}
        known |= {"recommendation", "pipeline"}
        return cls(
            created_at=str(data.get("created_at", "")),
            machine=machine,
            dataset=BenchDataset.from_dict(data.get("dataset"), f"{source}: dataset"),
            settings=settings,
            rows=tuple(BenchRow.from_dict(row, f"{source}: rows[{i}]") for i, row in enumerate(rows)),
            recommendation=Recommendation.from_dict(data.get("recommendation"), f"{source}: recommendation"),
            pipeline=pipeline,
            schema_version=version,
            extra={k: v for k, v in data.items() if k not in known},
        )

    @classmethod
    def read(cls, folder: Path) -> BenchReport:
        """Read ``folder/report.json``.

        Raises:
            ArtifactError: If the file is missing, not JSON, or not a benchmark report.
        """
        path = Path(folder) / REPORT_FILE
        return cls.from_dict(read_json(path, f"{folder} is not a benchmark report folder", "report"), source=str(path))

    def to_dict(self) -> dict[str, Any]:
        """The report as ``report.json`` holds it."""
        out: dict[str, Any] = {
            "schema": REPORT_SCHEMA,
            "schema_version": self.schema_version,
            "created_at": self.created_at,
            "machine": dict(self.machine),
            "dataset": self.dataset.to_dict(),
            "settings": dict(self.settings),
            "rows": [row.to_dict() for row in self.rows],
            **self.extra,
        }
        if self.recommendation is not None:
            out["recommendation"] = self.recommendation.to_dict()
        if self.pipeline is not None:
            out["pipeline"] = dict(self.pipeline)
        return out
