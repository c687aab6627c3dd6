"""The accuracy gate: a quantized child must keep its parent's retrieval quality on the user's own data.

A gate on ~100 dev queries cannot tell a 1% NDCG@10 drop from sampling noise, so it does not decide on one point
estimate. Parent and child rank the same queries, so their per-query NDCG@10 differences are paired: a seeded
bootstrap over queries gives an interval for the child's relative drop, and the verdict reads it:

- ``within``: the whole interval is at or below ``max_drop``: pass;
- ``beyond``: the whole interval is above ``max_drop``: fail;
- ``inconclusive``: the interval holds ``max_drop``, too few queries to tell. Then the low-noise measure decides:
  the child passes if its embeddings stay within ``FIDELITY_FLOOR`` mean cosine of the parent's (it computes the
  same model), or its point estimate is within ``max_drop``; otherwise it fails.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from edge_embed.data.beir import RetrievalDataset
from edge_embed.eval.cache import dataset_fingerprint, load_cached, store
from edge_embed.eval.metrics import PRIMARY_METRIC
from edge_embed.eval.retrieval import evaluate_per_query
from edge_embed.lineage.manifest import manifest_sha256
from edge_embed.runtime.embedder import Embedder
from edge_embed.runtime.pooling import normalize

logger = logging.getLogger(__name__)

CONFIDENCE = 0.95
BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 17
# Mean cosine to the parent's vectors at which an inconclusive gate passes: the child computes the same model.
FIDELITY_FLOOR = 0.995
FIDELITY_PASSAGES = 256  # passages of the gate's corpus the cosine is measured on
_PER_QUERY_KEY = "per-query-ndcg@10"


class GateVerdict(str, Enum):
    """Where the bootstrap interval of the child's relative drop lies against ``max_drop``."""

    WITHIN = "within"
    BEYOND = "beyond"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class Fidelity:
    """How close the child's vectors are to the parent's on the same passages."""

    mean_cosine: float
    min_cosine: float
    passages: int

    def to_dict(self) -> dict[str, Any]:
        return {"mean_cosine": self.mean_cosine, "min_cosine": self.min_cosine, "passages": self.passages}


@dataclass(frozen=True)
class GateResult:
    """Parent and child metrics, the interval of the drop, the embedding fidelity and the verdict."""

    parent: dict[str, float]
    child: dict[str, float]
    max_drop: float
    dataset: dict[str, Any]
    drop_interval: tuple[float, float] = (0.0, 0.0)
    fidelity: Fidelity | None = None

    @property
    def relative_drop(self) -> float:
        """How much of the parent's primary metric the child lost (0.01 = 1 %)."""
        base = self.parent[PRIMARY_METRIC]
        return (base - self.child[PRIMARY_METRIC]) / base if base else 0.0

    @property
    def verdict(self) -> GateVerdict:
        low, high = self.drop_interval
        if high <= self.max_drop:
            return GateVerdict.WITHIN
        if low > self.max_drop:
            return GateVerdict.BEYOND
        return GateVerdict.INCONCLUSIVE

    @property
    def passed(self) -> bool:
        """Whether the child keeps the parent's quality (see the module's rule)."""
        verdict = self.verdict
        if verdict is GateVerdict.INCONCLUSIVE:
            faithful = self.fidelity is not None and self.fidelity.mean_cosine >= FIDELITY_FLOOR
            return faithful or self.relative_drop <= self.max_drop
        return verdict is GateVerdict.WITHIN

    def describe(self) -> str:
        """One line with both numbers, the interval and the verdict."""
        low, high = self.drop_interval
        cosine = f", mean cosine to parent {self.fidelity.mean_cosine:.4f}" if self.fidelity else ""
        return (
            f"{PRIMARY_METRIC} {self.child[PRIMARY_METRIC]:.4f} vs parent {self.parent[PRIMARY_METRIC]:.4f} "
            f"(drop {self.relative_drop:+.2%}, {CONFIDENCE:.0%} interval [{low:+.2%}, {high:+.2%}], allowed "
            f"{self.max_drop:.2%}: {self.verdict.value}{cosine}) on {self.dataset['name']}/{self.dataset['split']}"
        )

    def to_dict(self) -> dict[str, Any]:
        """For the child's manifest."""
        return {
            "metric": PRIMARY_METRIC,
            "parent": self.parent,
            "child": self.child,
            "max_drop": self.max_drop,
            "relative_drop": self.relative_drop,
            "drop_interval": list(self.drop_interval),
            "confidence": CONFIDENCE,
            "bootstrap": {"samples": BOOTSTRAP_SAMPLES, "seed": BOOTSTRAP_SEED, "paired_over": "queries"},
            "verdict": self.verdict.value,
            "fidelity": None if self.fidelity is None else self.fidelity.to_dict(),
            "fidelity_floor": FIDELITY_FLOOR,
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


def score(
    artifact: Path, dataset: RetrievalDataset, batch_size: int = 32, cache: bool = True
) -> tuple[dict[str, float], dict[str, float]]:
    """An artifact's metrics at full width and each query's NDCG@10, from the cache when this pair was scored."""
    identity, fingerprint = manifest_sha256(artifact), dataset_fingerprint(dataset)
    if cache:
        metrics, per_query = (
            load_cached(identity, fingerprint, "full"),
            load_cached(identity, fingerprint, _PER_QUERY_KEY),
        )
        if metrics is not None and per_query is not None:
            return metrics, per_query
    embedder = Embedder.load(artifact)
    logger.info(
        "evaluating %s on %s/%s (%d queries, %d passages)",
        artifact,
        dataset.name,
        dataset.split,
        len(dataset.queries),
        len(dataset.corpus),
    )
    metrics, per_query = evaluate_per_query(embedder, dataset, batch_size, show_progress=sys.stderr.isatty())
    if cache:
        store(identity, fingerprint, "full", metrics)
        store(identity, fingerprint, _PER_QUERY_KEY, per_query)
    return metrics, per_query


def drop_interval(parent: dict[str, float], child: dict[str, float]) -> tuple[float, float]:
    """The paired bootstrap interval (``CONFIDENCE``) of the child's relative drop of mean NDCG@10."""
    queries = sorted(parent)
    p = np.array([parent[q] for q in queries])
    c = np.array([child[q] for q in queries])
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    drops = np.empty(BOOTSTRAP_SAMPLES)
    for start in range(0, BOOTSTRAP_SAMPLES, 250):  # bounded memory for large query sets
        rows = rng.integers(0, len(queries), (min(250, BOOTSTRAP_SAMPLES - start), len(queries)))
        base = p[rows].mean(axis=1)
        drops[start : start + len(rows)] = np.where(
            base > 0, (base - c[rows].mean(axis=1)) / np.maximum(base, 1e-12), 0
        )
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(drops, [tail, 100 - tail])
    return float(low), float(high)


def fidelity(parent: Path, child: Path, dataset: RetrievalDataset, batch_size: int = 32) -> Fidelity:
    """Cosine of the child's vectors to the parent's on up to ``FIDELITY_PASSAGES`` of the gate's passages."""
    passages = [dataset.corpus[cid] for cid in sorted(dataset.corpus)[:FIDELITY_PASSAGES]]
    a = normalize(Embedder.load(parent, verify=False).embed(passages, batch_size=batch_size))
    b = normalize(Embedder.load(child, verify=False).embed(passages, batch_size=batch_size))
    cosine = (a * b).sum(axis=1)
    return Fidelity(float(cosine.mean()), float(cosine.min()), len(passages))


def run_gate(parent: Path, child: Path, dataset: RetrievalDataset, max_drop: float, batch_size: int = 32) -> GateResult:
    """Score parent (cached) and child on the dataset and compare them (see the module's rule)."""
    parent_metrics, parent_queries = score(parent, dataset, batch_size)
    child_metrics, child_queries = score(child, dataset, batch_size, cache=False)
    return GateResult(
        parent=parent_metrics,
        child=child_metrics,
        max_drop=max_drop,
        dataset=describe_dataset(dataset),
        drop_interval=drop_interval(parent_queries, child_queries),
        fidelity=fidelity(parent, child, dataset, batch_size),
    )
