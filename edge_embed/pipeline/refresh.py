"""A pipeline run as a refresh: the deployed artifact's checkpoint finetuned on the old data plus user feedback,
exported, quantized and benchmarked beside the artifact it refreshes, and compared with it on the test split and
on the feedback (``refresh.json`` in the report folder)."""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge_embed.errors import InputError
from edge_embed.lifecycle.feedback import FeedbackStore, Judgment
from edge_embed.lifecycle.refresh import (
    FEEDBACK_LICENSE,
    FeedbackPairs,
    RefreshTarget,
    feedback_pairs,
    refresh_target,
    replay_sample,
)
from edge_embed.lineage.atomic import atomic_write_bytes
from edge_embed.pipeline.config import PipelineConfig
from edge_embed.registry.store import registry_path

if TYPE_CHECKING:
    from edge_embed.records.bench import BenchReport
    from edge_embed.train.config import TrainConfig

logger = logging.getLogger(__name__)
REFRESH_FILE = "refresh.json"


@dataclass(frozen=True)
class RefreshPlan:
    """What a refresh run trains on and from, decided before any training."""

    config: PipelineConfig  # named after the artifact it refreshes, so nothing deployed is overwritten
    target: RefreshTarget
    pairs: FeedbackPairs
    judgments: tuple[Judgment, ...]
    train_config: TrainConfig

    def record(self) -> dict[str, Any]:
        """What the run record keeps: the refreshed artifact and the feedback pairs."""
        return {"artifact": self.target.to_dict(), "feedback": self.pairs.to_dict()}


def plan_refresh(config: PipelineConfig) -> RefreshPlan:
    """Read the feedback, make its pairs, and set up the run that finetunes the deployed checkpoint.

    Raises:
        InputError: For a workspace without feedback, unknown passage ids, too few pairs, or an artifact whose
            checkpoint is not on this machine.
    """
    from edge_embed.data.beir import load_beir
    from edge_embed.train.config import DataSource
    from edge_embed.train.data import load_run_data

    settings = config.refresh
    assert settings is not None, "plan_refresh needs a config with [refresh]"
    target = refresh_target(settings.artifact)
    with FeedbackStore(registry_path(settings.feedback)) as store:
        judgments = tuple(store.judgments())
    if not judgments:
        raise InputError(f"{registry_path(settings.feedback)} holds no feedback; import some first")
    old = config.train_config()
    old_pairs = load_run_data(old).pairs
    test = load_beir(config.data_path, config.data["test_split"])
    folder = config.workspace / "refresh"
    pairs = feedback_pairs(judgments, test.corpus, test, folder, training=old_pairs, min_pairs=settings.min_pairs)
    logger.info("refresh of %s: %s", target.artifact, pairs.describe())
    sources = list(old.data)
    if settings.replay is not None:
        licenses = ", ".join(sorted({s.license for s in old.data if s.license})) or None
        replay = replay_sample(old_pairs, settings.replay, folder, seed=old.seed)
        sources = [DataSource(str(replay), license=licenses)] if replay else []
    sources.append(DataSource(str(pairs.path), license=FEEDBACK_LICENSE))
    train_config = old.replace(data=tuple(sources), base_model=str(target.checkpoint))
    name = f"{config.name}-refresh-{target.manifest_sha256[:8]}"
    return RefreshPlan(dataclasses.replace(config, name=name), target, pairs, judgments, train_config)


@dataclass(frozen=True)
class Side:
    """One artifact's numbers in the comparison."""

    label: str
    path: str
    test_ndcg: float
    feedback_ndcg: float


@dataclass(frozen=True)
class RefreshComparison:
    """The refreshed artifact against the one it refreshes, on the test split and on the feedback."""

    old: Side
    new: Side
    test_split: str
    feedback_queries: int
    pairs: FeedbackPairs

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``refresh.json``)."""
        return {
            "old": dataclasses.asdict(self.old),
            "new": dataclasses.asdict(self.new),
            "test_split": self.test_split,
            "feedback_queries": self.feedback_queries,
            "feedback_pairs": self.pairs.to_dict(),
        }

    def rows(self) -> list[list[object]]:
        """Table rows: split, old, new, change."""
        old, new = self.old, self.new
        return [
            [f"{self.test_split} split", old.test_ndcg, new.test_ndcg, f"{new.test_ndcg - old.test_ndcg:+.4f}"],
            [
                f"feedback ({self.feedback_queries} queries, trained on)",
                old.feedback_ndcg,
                new.feedback_ndcg,
                f"{new.feedback_ndcg - old.feedback_ndcg:+.4f}",
            ],
        ]


def compare_refresh(plan: RefreshPlan, report: BenchReport, deployable: Path, output: Path) -> RefreshComparison:
    """NDCG@10 of the refreshed deployable and of the artifact it refreshes: on the test split (from the bench
    report, which measured both) and on the feedback queries; written to ``output/refresh.json``.

    Raises:
        InputError: If the report lacks a row of either artifact.
    """
    from edge_embed.data.beir import load_corpus
    from edge_embed.lifecycle.health import feedback_quality
    from edge_embed.runtime.embedder import Embedder

    corpus = load_corpus(plan.config.data_path)
    sides = []
    for folder in (plan.target.artifact, deployable):
        row = next((r for r in report.rows if Path(r.path).resolve() == folder.resolve() and r.full_width), None)
        if row is None:
            raise InputError(f"the bench report in {output} has no row for {folder}; rerun the pipeline")
        queries, ndcg, _ = feedback_quality(Embedder.load(folder), list(plan.judgments), corpus)
        sides.append(Side(row.label, str(folder), row.ndcg, ndcg))
    comparison = RefreshComparison(sides[0], sides[1], report.dataset.split, queries, plan.pairs)
    atomic_write_bytes(output / REFRESH_FILE, json.dumps(comparison.to_dict(), indent=2).encode())
    return comparison
