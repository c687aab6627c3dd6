"""The accuracy gate: a quantized child must keep its parent's retrieval quality on the user's own data."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_embed.data.beir import RetrievalDataset
from edge_embed.eval.cache import dataset_fingerprint, evaluate_cached
from edge_embed.eval.metrics import PRIMARY_METRIC
from edge_embed.lineage.manifest import manifest_sha256
from edge_embed.runtime.embedder import Embedder

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GateResult:
    """Parent and child metrics and the verdict."""

    parent: dict[str, float]
    child: dict[str, float]
    max_drop: float
    dataset: dict[str, Any]

    @property
    def relative_drop(self) -> float:
        """How much of the parent's primary metric the child lost (0.01 = 1 %)."""
        base = self.parent[PRIMARY_METRIC]
        return (base - self.child[PRIMARY_METRIC]) / base if base else 0.0

    @property
    def passed(self) -> bool:
        """Whether the child's primary metric is within ``max_drop`` (relative) of the parent's."""
        return self.relative_drop <= self.max_drop

    def describe(self) -> str:
        """One line with both numbers and the verdict."""
        return (
            f"{PRIMARY_METRIC} {self.child[PRIMARY_METRIC]:.4f} vs parent {self.parent[PRIMARY_METRIC]:.4f} "
            f"(drop {self.relative_drop:+.2%}, allowed {self.max_drop:.2%}) on {self.dataset['name']}/"
            f"{self.dataset['split']}"
        )

    def to_dict(self) -> dict[str, Any]:
        """For the child's manifest."""
        return {
            "metric": PRIMARY_METRIC,
            "parent": self.parent,
            "child": self.child,
            "max_drop": self.max_drop,
            "relative_drop": self.relative_drop,
            "passed": self.passed,
            "dataset": self.dataset,
        }


def describe_dataset(dataset: RetrievalDataset) -> dict[str, Any]:
    """What a gate or report was measured on."""
    return {
        "name": dataset.name,
        "split": dataset.split,
        "queries": len(dataset.queries),
        "corpus": len(dataset.corpus),
        "fingerprint": dataset_fingerprint(dataset),
        "sampled": dataset.sampled,
    }


def score(artifact: Path, dataset: RetrievalDataset, batch_size: int = 32, cache: bool = True) -> dict[str, float]:
    """Retrieval metrics of an artifact at its full width, from the cache when this exact pair was scored."""
    embedder = Embedder.load(artifact)
    logger.info(
        "evaluating %s on %s/%s (%d queries, %d passages)",
        artifact,
        dataset.name,
        dataset.split,
        len(dataset.queries),
        len(dataset.corpus),
    )
    results = evaluate_cached(
        embedder,
        manifest_sha256(artifact),
        dataset,
        batch_size=batch_size,
        use_cache=cache,
        show_progress=sys.stderr.isatty(),
    )
    return results[embedder.dim]


def run_gate(parent: Path, child: Path, dataset: RetrievalDataset, max_drop: float, batch_size: int = 32) -> GateResult:
    """Score parent (cached) and child on the dataset and compare their primary metric."""
    return GateResult(
        parent=score(parent, dataset, batch_size),
        child=score(child, dataset, batch_size, cache=False),
        max_drop=max_drop,
        dataset=describe_dataset(dataset),
    )
