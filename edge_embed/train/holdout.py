"""A held-out slice carved from the training data, for a user's folder that has no dev/test split.

Pairs are held out by group, never one by one: every pair of a labelled passage (grouped by positive) or of a
corpus passage (grouped by document, for corpus-only pairs) goes to the same side, and so do groups that share a
query (one title over several passages), so no held-out passage or query is ever trained on. The held-out groups
are split in two: ``dev`` picks the checkpoint, ``test`` is the final report. Their queries are searched among
every passage of the data (the training passages are the distractors).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from edge_embed.data.beir import RetrievalDataset
from edge_embed.data.leakage import normalize_text
from edge_embed.errors import InputError

HELD_OUT_SHARE = 0.1  # of the groups, split evenly between dev and test
MIN_PER_SPLIT = 10
MAX_PER_SPLIT = 500
MIN_GROUPS = 80  # fewer distinct passages than this cannot spare a held-out slice (20 of 80 at the floor)


@dataclass(frozen=True)
class KeyedPair:
    """A training pair with the group it is held out with and the passage its anchor must find when held out."""

    anchor: str
    positive: str
    negative: str | None
    group: str  # the positive passage (labelled pairs) or the document id (corpus-only pairs)
    target: str  # the full passage retrieval should return for the anchor

    @property
    def row(self) -> tuple[str, str, str | None]:
        return self.anchor, self.positive, self.negative


@dataclass(frozen=True)
class HeldOut:
    """How the held-out slice was made (recorded in ``run.json``)."""

    grouped_by: str  # "positive passage" | "corpus document"
    groups: int
    dev_groups: int
    test_groups: int
    dev_queries: int
    test_queries: int
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "grouped_by": self.grouped_by,
            "groups": self.groups,
            "dev": {"groups": self.dev_groups, "queries": self.dev_queries},
            "test": {"groups": self.test_groups, "queries": self.test_queries},
            "seed": self.seed,
        }


@dataclass(frozen=True)
class Carved:
    """Training rows and the two held-out splits."""

    rows: list[tuple[str, str, str | None]]
    dev: RetrievalDataset
    test: RetrievalDataset
    held_out: HeldOut


def carve(pairs: Sequence[KeyedPair], name: str, grouped_by: str, seed: int = 42) -> Carved:
    """Hold out :data:`HELD_OUT_SHARE` of the groups (at least ``2 * MIN_PER_SPLIT``, at most ``2 * MAX_PER_SPLIT``).

    Raises:
        InputError: If the data has fewer than :data:`MIN_GROUPS` distinct passages (naming the count and what to do).
    """
    unit = _units(pairs)
    groups = sorted(set(unit.values()))
    if len(groups) < MIN_GROUPS:
        raise InputError(
            f"{name} has {len(groups)} distinct passages (passages sharing a query count once); carving a held-out "
            f"slice needs at least {MIN_GROUPS}: add data or pass --eval-data BEIR_FOLDER with dev (and test) qrels"
        )
    random.Random(seed).shuffle(groups)
    per_split = min(MAX_PER_SPLIT, max(MIN_PER_SPLIT, round(HELD_OUT_SHARE * len(groups) / 2)))
    dev_groups, test_groups = set(groups[:per_split]), set(groups[per_split : 2 * per_split])
    passages: dict[str, str] = {}
    for pair in pairs:
        passages.setdefault(pair.target, f"p{len(passages)}")
    corpus = {cid: text for text, cid in passages.items()}
    dev = _split([p for p in pairs if unit[p.group] in dev_groups], passages, corpus, name, "dev")
    test = _split([p for p in pairs if unit[p.group] in test_groups], passages, corpus, name, "test")
    held = dev_groups | test_groups
    rows = [p.row for p in pairs if unit[p.group] not in held]
    record = HeldOut(grouped_by, len(groups), per_split, per_split, len(dev.queries), len(test.queries), seed)
    return Carved(rows, dev, test, record)


def _units(pairs: Sequence[KeyedPair]) -> dict[str, str]:
    """Each group's unit: groups joined by a shared anchor (one title over several passages, one question with two
    answers; case and spacing folded) are held out together, so a held-out query never has a relevant passage left
    in training."""
    parent: dict[str, str] = {}

    def root(group: str) -> str:
        while parent.setdefault(group, group) != group:
            parent[group] = parent[parent[group]]
            group = parent[group]
        return group

    first_group_of: dict[str, str] = {}
    for pair in pairs:
        other = first_group_of.setdefault(normalize_text(pair.anchor), pair.group)
        a, b = root(pair.group), root(other)
        if a != b:
            parent[max(a, b)] = min(a, b)
    return {group: root(group) for group in parent}


def _split(
    pairs: list[KeyedPair], passages: dict[str, str], corpus: dict[str, str], name: str, split: str
) -> RetrievalDataset:
    """One query per distinct anchor; its relevant passages are the targets of every pair it anchors."""
    qids: dict[str, str] = {}  # by the anchor as the leakage check compares it (case and spacing folded)
    queries: dict[str, str] = {}
    relevant: dict[str, set[str]] = {}
    for pair in pairs:
        qid = qids.setdefault(normalize_text(pair.anchor), f"{split}-q{len(qids)}")
        queries.setdefault(qid, pair.anchor)
        relevant.setdefault(qid, set()).add(passages[pair.target])
    return RetrievalDataset(queries, corpus, relevant, name=f"{name}-held-out", split=split)
