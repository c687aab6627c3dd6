"""The refresh loop's data side: user feedback becomes training pairs for the next finetune of a deployed artifact.

Only judgments that a passage was relevant become pairs; a later judgment of the same query and passage replaces
an earlier one (users change their minds). Every pair is PII-scrubbed, deduplicated (also against the old training
pairs) and checked against the test split: a pair whose query is a test query, or whose passage answers one, is
dropped, so the report's test numbers stay honest. The pairs go, sorted, to a JSONL file named by its sha256,
which the refresh run records as a data source under the licence ``user-feedback``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edge_embed.data.beir import RetrievalDataset
from edge_embed.data.leakage import normalize_text
from edge_embed.data.pairs import PairSet
from edge_embed.data.pii import PiiScrubber
from edge_embed.errors import InputError
from edge_embed.lifecycle.feedback import Judgment, check_passage_ids
from edge_embed.lineage.atomic import atomic_write_bytes

FEEDBACK_LICENSE = "user-feedback"
MIN_PAIRS = 10  # fewer pairs than a training batch teach nothing and only shake the model


@dataclass(frozen=True)
class FeedbackPairs:
    """The training pairs made from feedback, the file holding them, and what was left out and why."""

    path: Path
    sha256: str
    pairs: int
    queries: int
    judgments: int
    dropped: Mapping[str, int]
    pii_replacements: Mapping[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for the run record."""
        return {**asdict(self), "path": str(self.path), "dropped": dict(self.dropped)}

    def describe(self) -> str:
        """One line: what was kept and what was dropped."""
        left_out = ", ".join(f"{n} {reason}" for reason, n in self.dropped.items() if n) or "none"
        return (
            f"{self.pairs} feedback pairs on {self.queries} queries from {self.judgments} judgments "
            f"(left out: {left_out})"
        )


def feedback_pairs(
    judgments: Sequence[Judgment],
    corpus: Mapping[str, str],
    test: RetrievalDataset,
    destination: str | Path,
    training: PairSet | None = None,
    min_pairs: int = MIN_PAIRS,
) -> FeedbackPairs:
    """Turn judgments into (query, relevant passage) pairs and write them to ``destination/feedback-<sha>.jsonl``.

    Args:
        judgments: The feedback, in any order (sorted by time here; ties keep their order).
        corpus: Passage id -> text, for judgments that name passages by id.
        test: The held-out split whose queries and relevant passages must not be trained on.
        destination: The folder for the pairs file.
        training: The old training pairs: a feedback pair already among them adds nothing.
        min_pairs: Fewer pairs left than this is an error.

    Raises:
        InputError: If a judgment names a passage id the corpus lacks, or fewer than ``min_pairs`` pairs remain.
    """
    check_passage_ids(judgments, set(corpus), "feedback")
    latest: dict[tuple[str, str], tuple[str, str, bool]] = {}
    superseded = 0
    for judgment in sorted(judgments, key=lambda j: j.at):
        passage = corpus[judgment.passage_id] if judgment.passage_id is not None else judgment.passage or ""
        key = (normalize_text(judgment.query), normalize_text(passage))
        superseded += key in latest
        latest.pop(key, None)  # re-inserted last: the pair keeps the place of its latest judgment
        latest[key] = (judgment.query, passage, judgment.relevant)
    test_queries = {normalize_text(q) for q in test.queries.values()}
    test_passages = {normalize_text(test.corpus[c]) for cs in test.relevant_docs.values() for c in cs}
    trained: set[tuple[str, str]] = set()
    if training is not None:
        old = zip(training.anchors, training.positives, strict=True)
        trained = {(normalize_text(anchor), normalize_text(positive)) for anchor, positive in old}
    dropped = dict.fromkeys(("not relevant", "superseded", "test query", "test passage", "already in training"), 0)
    dropped["superseded"] = superseded
    kept: list[tuple[str, str]] = []
    for (query_key, passage_key), (query, passage, relevant) in latest.items():
        checks = (
            ("not relevant", not relevant),
            ("test query", query_key in test_queries),
            ("test passage", passage_key in test_passages),
            ("already in training", (query_key, passage_key) in trained),
        )
        reason = next((name for name, hit in checks if hit), None)
        if reason is None:
            kept.append((query, passage))
        else:
            dropped[reason] += 1
    scrub = PiiScrubber()
    rows = [{"anchor": scrub(query), "positive": scrub(passage)} for query, passage in sorted(kept)]
    if len(rows) < min_pairs:
        left_out = ", ".join(f"{n} {reason}" for reason, n in dropped.items() if n) or "none"
        raise InputError(
            f"the refresh needs at least {min_pairs} feedback pairs judged relevant, got {len(rows)} from "
            f"{len(judgments)} judgments (left out: {left_out}); collect more feedback first"
        )
    data = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")
    sha = hashlib.sha256(data).hexdigest()
    path = Path(destination) / f"feedback-{sha[:12]}.jsonl"
    atomic_write_bytes(path, data)
    return FeedbackPairs(
        path=path,
        sha256=sha,
        pairs=len(rows),
        queries=len({normalize_text(row["anchor"]) for row in rows}),
        judgments=len(judgments),
        dropped=dropped,
        pii_replacements=dict(scrub.counts),
    )


def replay_sample(pairs: PairSet, limit: int, destination: str | Path, seed: int = 13) -> Path | None:
    """A seeded sample of ``limit`` old training pairs in ``destination/replay-<sha>.jsonl`` (None when 0), so a
    refresh keeps what the model learned without retraining on all the old data."""
    import random

    if limit <= 0:
        return None
    order = list(range(len(pairs)))
    random.Random(seed).shuffle(order)
    chosen = sorted(order[:limit])
    columns = pairs.columns()
    rows = [{name: values[i] for name, values in columns.items()} for i in chosen]
    data = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")
    path = Path(destination) / f"replay-{hashlib.sha256(data).hexdigest()[:12]}.jsonl"
    atomic_write_bytes(path, data)
    return path


@dataclass(frozen=True)
class RefreshTarget:
    """The deployed artifact a refresh starts from, and the checkpoint it was exported from."""

    artifact: Path
    manifest_sha256: str
    checkpoint: Path

    def to_dict(self) -> dict[str, Any]:
        """For the run record: what ``edge-embed lineage`` shows as the refreshed artifact."""
        return {"path": str(self.artifact), "manifest_sha256": self.manifest_sha256, "checkpoint": str(self.checkpoint)}


def refresh_target(artifact: str | Path) -> RefreshTarget:
    """Follow ``artifact``'s lineage to the checkpoint it was exported from, checking every hash on the way.

    Raises:
        InputError: If the artifact is not an artifact folder, its lineage is broken, or its checkpoint is not on
            this machine (a refresh finetunes the checkpoint: run it where the artifact was built).
    """
    from edge_embed.errors import ArtifactError
    from edge_embed.lineage.chain import LinkKind, LinkStatus, resolve_lineage

    folder = Path(artifact)
    try:
        lineage = resolve_lineage(folder)
    except ArtifactError as exc:
        raise InputError(f"cannot refresh {folder}: {exc}") from None
    problems = lineage.problems()
    if problems:
        first = problems[0]
        raise InputError(f"cannot refresh {folder}: its lineage is {first.status} at {first.path} ({first.detail})")
    source = next(link for link in lineage.links if link.kind is not LinkKind.ARTIFACT)
    if source.status is not LinkStatus.OK or source.path is None:
        raise InputError(
            f"cannot refresh {folder}: the checkpoint it was exported from ({source.path}) is "
            f"{source.status} here ({source.detail}); run the refresh where the artifact was built"
        )
    return RefreshTarget(folder, str(lineage.artifact.identity), Path(source.path))
