"""Leakage check: held-out queries or their relevant passages that also appear among the training pairs."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from edge_embed.data.beir import RetrievalDataset
from edge_embed.data.pairs import PairSet

_SPACE = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Whitespace- and case-insensitive form of a text, for exact-match checks."""
    return _SPACE.sub(" ", text).strip().casefold()


@dataclass(frozen=True)
class LeakageReport:
    """How many held-out queries leak into training, as an anchor or through a relevant passage."""

    split: str
    queries: int
    query_overlap: int
    passage_overlap: int
    examples: list[str] = field(default_factory=list)

    @property
    def leaked(self) -> bool:
        """Whether anything of the held-out split was seen in training."""
        return bool(self.query_overlap or self.passage_overlap)

    def to_dict(self) -> dict[str, Any]:
        """For the run record."""
        return asdict(self)

    def describe(self) -> str:
        """One line for a warning."""
        return (
            f"{self.query_overlap} of {self.queries} {self.split} queries appear as training anchors and "
            f"{self.passage_overlap} have a relevant passage among the training positives; {self.split} "
            f"metrics will be optimistic" + (f" (e.g. {self.examples[:2]})" if self.examples else "")
        )


def check_leakage(pairs: PairSet, held_out: RetrievalDataset) -> LeakageReport:
    """Compare training pairs with a held-out split (whitespace- and case-insensitive exact matches).

    Args:
        pairs: The training pairs.
        held_out: The split whose metrics must stay honest (dev or test).

    Returns:
        Counts of overlapping queries and of queries whose relevant passage is a training positive.
    """
    anchors = {normalize_text(a) for a in pairs.anchors}
    positives = {normalize_text(p) for p in pairs.positives}
    query_hits, passage_hits, examples = 0, 0, []
    for qid, query in held_out.queries.items():
        if normalize_text(query) in anchors:
            query_hits += 1
            examples.append(query[:60])
        if any(normalize_text(held_out.corpus[cid]) in positives for cid in held_out.relevant_docs.get(qid, ())):
            passage_hits += 1
    return LeakageReport(held_out.split, len(held_out.queries), query_hits, passage_hits, examples[:5])
