"""The training run record (``run.json``) and what is read from it.

The trainer writes ``run.json``; the CLI, the pipeline's summary and tracking, and the registry read it through
:class:`RunRecord`, so a renamed or missing field fails at the read with the file named, not as a KeyError three
modules away.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from edge_embed.errors import ArtifactError
from edge_embed.records.files import read_json
from edge_embed.records.sources import RunSource, read_sources

RUN_RECORD = "run.json"
# Version of run.json's layout; records written before it was recorded read as version 1.
RUN_SCHEMA_VERSION = 1

# {split: {dim: {metric: value}}}, dims as strings (JSON keys).
SplitMetrics = Mapping[str, Mapping[str, Mapping[str, float]]]


class RunStatus(str, Enum):
    """Whether a training run is still going (or was interrupted) or has finished."""

    RUNNING = "running"
    FINISHED = "finished"


@dataclass(frozen=True)
class WallTime:
    """Seconds a run spent: in all, training, and evaluating the base and finetuned models."""

    total: float = 0.0
    training: float = 0.0
    evaluation: float = 0.0


@dataclass(frozen=True)
class FinetuneComparison:
    """Base against finetuned model on one split at one embedding width."""

    split: str
    dim: str
    base: Mapping[str, float]
    finetuned: Mapping[str, float]

    def change(self, metric: str = "ndcg@10") -> float:
        """Relative change of ``metric`` (``0.05`` is 5% better)."""
        return self.finetuned[metric] / self.base[metric] - 1


@dataclass(frozen=True)
class RunRecord:
    """What ``run.json`` says of one training run.

    Fields that only some readers use stay in ``extra`` and round-trip unchanged through :meth:`to_dict`.
    """

    run_id: str
    status: RunStatus
    base_metrics: SplitMetrics = field(default_factory=dict)
    finetuned_metrics: SplitMetrics = field(default_factory=dict)
    created_at: str | None = None
    finished_at: str | None = None
    best_checkpoint: str | None = None
    wall_time: WallTime | None = None  # None while a run has not finished
    data: tuple[RunSource, ...] = ()  # what the run trained on
    schema_version: int = RUN_SCHEMA_VERSION
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = RUN_RECORD) -> RunRecord:
        """Read a record, checking the fields every reader relies on.

        Raises:
            ArtifactError: If ``data`` is not a run record (the message names ``source`` and the field).
        """
        if not isinstance(data, Mapping):
            raise ArtifactError(f"{source} is not a JSON object; it is not a run record")
        run_id = data.get("run_id")
        if not isinstance(run_id, str) or not run_id:
            raise ArtifactError(f"{source} has no run_id; it is not a run record")
        try:
            status = RunStatus(data.get("status", RunStatus.RUNNING.value))
        except ValueError:
            raise ArtifactError(f"{source}: status {data.get('status')!r} is not 'running' or 'finished'") from None
        version = data.get("schema_version", 1)
        if not isinstance(version, int) or version > RUN_SCHEMA_VERSION:
            raise ArtifactError(
                f"{source} has schema_version {version!r}; this edge-embed reads up to {RUN_SCHEMA_VERSION}, upgrade it"
            )
        metrics = data.get("metrics", {})
        if not isinstance(metrics, Mapping):
            raise ArtifactError(f"{source}: metrics must be an object")
        known = {"run_id", "status", "metrics", "created_at", "finished_at", "best_checkpoint", "wall_time_s", "data"}
        return cls(
            run_id=run_id,
            status=status,
            base_metrics=_split_metrics(metrics.get("base", {}), f"{source}: metrics.base"),
            finetuned_metrics=_split_metrics(metrics.get("finetuned", {}), f"{source}: metrics.finetuned"),
            created_at=data.get("created_at"),
            finished_at=data.get("finished_at"),
            best_checkpoint=data.get("best_checkpoint"),
            wall_time=_wall_time(data.get("wall_time_s"), f"{source}: wall_time_s"),
            data=read_sources(data.get("data", []), f"{source}: data"),
            schema_version=version,
            extra={k: v for k, v in data.items() if k not in known | {"schema_version"}},
        )

    @classmethod
    def read(cls, run_dir: Path) -> RunRecord:
        """Read ``run_dir/run.json``.

        Raises:
            ArtifactError: If the file is missing, not JSON, or not a run record.
        """
        path = run_dir / RUN_RECORD
        return cls.from_dict(read_json(path, f"{run_dir} is not a training run folder", "run record"), source=str(path))

    def to_dict(self) -> dict[str, Any]:
        """The record as ``run.json`` holds it."""
        metrics: dict[str, Any] = {}
        if self.base_metrics:
            metrics["base"] = _plain(self.base_metrics)
        if self.finetuned_metrics:
            metrics["finetuned"] = _plain(self.finetuned_metrics)
        out: dict[str, Any] = {
            "schema_version": self.schema_version,
            "run_id": self.run_id,
            "status": self.status.value,
            "data": [source.to_dict() for source in self.data],
            **self.extra,
            "metrics": metrics,
        }
        if self.wall_time is not None:
            out["wall_time_s"] = {
                "total": self.wall_time.total,
                "training": self.wall_time.training,
                "evaluation_before_after": self.wall_time.evaluation,
            }
        for name in ("created_at", "finished_at", "best_checkpoint"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out

    @property
    def held_out_folder(self) -> str | None:
        """The run folder's BEIR copy (relative path) of a dev/test slice carved from the training data, if any."""
        held_out = self.extra.get("held_out")
        folder = held_out.get("folder") if isinstance(held_out, Mapping) else None
        return folder if isinstance(folder, str) and folder else None

    def comparisons(self) -> list[FinetuneComparison]:
        """Base against finetuned for every split and width measured on both, in the record's order."""
        return [
            FinetuneComparison(split, dim, self.base_metrics[split][dim], tuned)
            for split, by_dim in self.finetuned_metrics.items()
            for dim, tuned in by_dim.items()
            if dim in self.base_metrics.get(split, {})
        ]


def _wall_time(value: object, where: str) -> WallTime | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value.values()
    ):
        raise ArtifactError(f"{where} must map phases to seconds")
    return WallTime(
        total=float(value.get("total", 0.0)),
        training=float(value.get("training", 0.0)),
        evaluation=float(value.get("evaluation_before_after", 0.0)),
    )


def _split_metrics(value: object, where: str) -> dict[str, dict[str, dict[str, float]]]:
    if not isinstance(value, Mapping):
        raise ArtifactError(f"{where} must be an object of splits")
    out: dict[str, dict[str, dict[str, float]]] = {}
    for split, by_dim in value.items():
        if not isinstance(by_dim, Mapping):
            raise ArtifactError(f"{where}.{split} must be an object of dims")
        out[split] = {}
        for dim, metrics in by_dim.items():
            if not isinstance(metrics, Mapping) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in metrics.values()
            ):
                raise ArtifactError(f"{where}.{split}.{dim} must map metric names to numbers")
            out[split][str(dim)] = {str(k): float(v) for k, v in metrics.items()}
    return out


def _plain(metrics: SplitMetrics) -> dict[str, dict[str, dict[str, float]]]:
    return {s: {d: dict(m) for d, m in by_dim.items()} for s, by_dim in metrics.items()}
