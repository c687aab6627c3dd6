"""Health of a deployed artifact: its quality on user feedback against what it was benchmarked at, and drift.

Feedback judgments that name passages by id become relevance labels; each judged query is searched over the corpus
and scored (NDCG@10) against the positively judged passages. The benchmarked NDCG@10 comes from a bench report (the
row of this artifact, or one named). With a saved drift profile and current texts, the drift verdict joins in;
with a calibrated artifact, the expected calibration error on the judged pairs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from edge_embed.data.beir import load_corpus
from edge_embed.errors import InputError
from edge_embed.eval.metrics import PRIMARY_METRIC, evaluate_embeddings
from edge_embed.lifecycle.drift import DriftReport, Verdict
from edge_embed.lifecycle.feedback import Judgment, check_passage_ids
from edge_embed.lineage.manifest import manifest_sha256
from edge_embed.runtime.embedder import Embedder

MIN_QUERIES = 5  # fewer judged queries say nothing about quality


class Health(str, Enum):
    """The verdict."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"


@dataclass(frozen=True)
class HealthReport:
    """The verdict, its reasons and the numbers behind them."""

    verdict: Health
    reasons: tuple[str, ...]
    feedback_queries: int
    feedback_ndcg: float
    benchmarked_ndcg: float | None
    benchmark_row: str | None
    relative_drop: float | None
    max_drop: float
    drift: str | None = None
    feedback_ece: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {**asdict(self), "verdict": self.verdict.value}


def benchmarked_ndcg(report_folder: str | Path, artifact: str | Path, row: str | None) -> tuple[float, str]:
    """NDCG@10 of ``artifact`` (or of the row labelled ``row``) at full width in a bench report.

    Raises:
        InputError: If the report has no such row.
    """
    from edge_embed.records import BenchReport

    report = BenchReport.read(Path(report_folder))
    if row is not None:
        found = [r for r in report.rows if r.label == row]
    else:
        sha = manifest_sha256(artifact)
        found = [r for r in report.rows if r.identity == sha and "@" not in r.label]
    if not found:
        labels = ", ".join(r.label for r in report.rows)
        raise InputError(f"{report_folder} has no row for {row or artifact}; pass --row with one of: {labels}")
    return found[0].ndcg, found[0].label


def feedback_quality(
    embedder: Embedder, judgments: list[Judgment], corpus: dict[str, str]
) -> tuple[int, float, float | None]:
    """``(judged queries, NDCG@10 on them, ECE of calibrated scores on judged pairs or None)``.

    Raises:
        InputError: If fewer than ``MIN_QUERIES`` queries have a passage judged relevant by id.
    """
    check_passage_ids(judgments, set(corpus), "feedback")
    relevant: dict[str, set[str]] = {}
    for j in judgments:
        if j.passage_id is not None and j.relevant:
            relevant.setdefault(j.query, set()).add(j.passage_id)
    if len(relevant) < MIN_QUERIES:
        raise InputError(
            f"health needs feedback on at least {MIN_QUERIES} queries with a relevant passage id, got {len(relevant)}"
        )
    query_ids, corpus_ids = sorted(relevant), list(corpus)
    queries = embedder.embed(query_ids, kind="query")
    passages = embedder.embed([corpus[c] for c in corpus_ids])
    ndcg = evaluate_embeddings(queries, passages, query_ids, corpus_ids, relevant)[PRIMARY_METRIC]
    ece = None
    calibration = embedder.score_calibration
    if calibration is not None:
        from edge_embed.lifecycle.calibration import expected_calibration_error

        position = {q: i for i, q in enumerate(query_ids)}
        rows = {c: i for i, c in enumerate(corpus_ids)}
        pairs = [
            (position[j.query], rows[j.passage_id], j.relevant)
            for j in judgments
            if j.passage_id is not None and j.query in position
        ]
        if pairs:
            scores = np.array([queries[q] @ passages[p] for q, p, _ in pairs])
            labels = np.array([r for _, _, r in pairs], dtype=float)
            ece = expected_calibration_error(calibration.apply(scores), labels)
    return len(relevant), float(ndcg), ece


def check_health(
    artifact: str | Path,
    judgments: list[Judgment],
    corpus_folder: str | Path,
    *,
    report: str | Path | None = None,
    row: str | None = None,
    max_drop: float = 0.05,
    drift: DriftReport | None = None,
    embedder: Embedder | None = None,
) -> HealthReport:
    """Judge an artifact on feedback (and drift): degraded when NDCG@10 on feedback falls more than ``max_drop``
    (relative) below the benchmarked number, or the texts drift.

    Raises:
        InputError: For too little feedback, unknown passage ids, or a report without the artifact's row.
    """
    if not 0 <= max_drop < 1:
        raise InputError(f"max_drop must be in [0, 1), got {max_drop}")
    embedder = embedder or Embedder.load(artifact)
    queries, ndcg, ece = feedback_quality(embedder, judgments, load_corpus(Path(corpus_folder)))
    reasons: list[str] = []
    expected, label, drop = None, None, None
    if report is not None:
        expected, label = benchmarked_ndcg(report, artifact, row)
        drop = (expected - ndcg) / expected if expected else 0.0
        if drop > max_drop:
            reasons.append(
                f"NDCG@10 on {queries} judged queries is {ndcg:.4f}, {drop:.1%} below the benchmarked {expected:.4f} "
                f"({label}; allowed {max_drop:.0%})"
            )
    if drift is not None and drift.verdict is not Verdict.STABLE:
        reasons.append(f"incoming texts are {drift.verdict.value} (MMD p = {drift.mmd_p_value:.4f})")
    verdict = Health.DEGRADED if reasons else Health.HEALTHY
    if not reasons:
        reasons.append(
            f"NDCG@10 on {queries} judged queries {ndcg:.4f}"
            + (f" vs benchmarked {expected:.4f} ({label})" if expected is not None else "")
        )
    return HealthReport(
        verdict=verdict,
        reasons=tuple(reasons),
        feedback_queries=queries,
        feedback_ndcg=ndcg,
        benchmarked_ndcg=expected,
        benchmark_row=label,
        relative_drop=drop,
        max_drop=max_drop,
        drift=drift.verdict.value if drift is not None else None,
        feedback_ece=ece,
    )
