"""Training pairs made from a domain corpus alone, for teams with passages and no labelled queries.

Each method turns one passage into an (anchor, positive) pair that needs no model and no label:

- ``title``: the passage's title or heading -> the passage (as a query names its topic);
- ``ict``: inverse cloze, one sentence -> the rest of its passage (Lee et al. 2019); the sentence stays in the
  passage one time in ten, so exact overlap still counts for something;
- ``crops``: two independent random spans of one passage (Contriever, Izacard et al. 2022);
- ``tsdae``: every sentence of a passage, damaged (60% of its words deleted, as TSDAE does) -> the sentence, for
  sentence-transformers' denoising auto-encoder loss (Wang et al. 2021); a row per sentence, not per passage.

The positives of the pair methods are passages as retrieval reads them (``title. text``). Every method is seeded,
so the same corpus and seed give the same pairs.

With ``sibling_negatives`` every pair also gets a negative passage. Passages sharing a title are sections of one
document (a disease's symptoms, causes, treatment; a machine's installation, faults, maintenance): an ``ict`` or
``crops`` pair's negative is one of its siblings, so the model learns to tell sections of one topic apart, which
the in-batch negatives of other topics never ask. A ``title`` pair (whose title names every sibling alike), or a
passage without siblings, gets a passage of another title.
"""

from __future__ import annotations

import bisect
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from edge_embed.data.beir import passage_text
from edge_embed.errors import InputError
from edge_embed.index.documents import Document
from edge_embed.train.config import CorpusMethod

# A method must make at least this many pairs (two batches of the smallest preset) to be worth a run.
MIN_PAIRS = 64
ICT_KEEP_SENTENCE = 0.1
CROP_MIN_WORDS = 5
CROP_RATIO = (0.1, 0.5)  # of the passage's words, per span
TSDAE_DELETE = 0.6  # share of a sentence's words deleted (the TSDAE paper's best noise)
TSDAE_MIN_WORDS = 4

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


@dataclass(frozen=True)
class CorpusPairs:
    """The pairs, and how many each method made from how many passages."""

    rows: list[tuple[str, str, str | None]]
    made: dict[str, int] = field(default_factory=dict)
    passages: int = 0
    origins: list[int] = field(default_factory=list)  # per row: the index of the document it was made from
    siblings: int = 0  # rows whose negative is a section of the same document (``sibling_negatives``)


def corpus_pairs(
    documents: Sequence[Document],
    methods: Sequence[CorpusMethod],
    seed: int = 42,
    sibling_negatives: bool = False,
) -> CorpusPairs:
    """One pair per usable passage per method (``tsdae``: one row per usable sentence), each with a negative
    passage when ``sibling_negatives`` (the pairs themselves are the same either way).

    Raises:
        InputError: If a method makes fewer than :data:`MIN_PAIRS` pairs from this corpus (naming what it needs),
            or ``sibling_negatives`` is asked of ``tsdae``, of a corpus with a single title or of one where
            no two passages share a title.
    """
    rng = random.Random(seed)
    if sibling_negatives and CorpusMethod.TSDAE in methods:
        raise InputError("sibling negatives rank pairs; tsdae reconstructs sentences: drop one of them")
    negatives = _SiblingNegatives(documents, seed) if sibling_negatives else None
    rows: list[tuple[str, str, str | None]] = []
    origins: list[int] = []
    made: dict[str, int] = {}
    for method in methods:
        before = len(rows)
        for index, document in enumerate(documents):
            for anchor, positive in _rows(method, document, rng):
                negative = (
                    None if negatives is None else negatives.pick(index, same_title=method is not CorpusMethod.TITLE)
                )
                rows.append((anchor, positive, negative))
                origins.append(index)
        made[method.value] = len(rows) - before
        if made[method.value] < MIN_PAIRS:
            raise InputError(
                f"the corpus is too small for {method.value!r}: {made[method.value]} pairs from {len(documents)} "
                f"passages, at least {MIN_PAIRS} needed ({_needs(method)})"
            )
    return CorpusPairs(rows, made, len(documents), origins, 0 if negatives is None else negatives.siblings)


class _SiblingNegatives:
    """Seeded negatives: a passage of the same title (another section of the document) or of another title."""

    def __init__(self, documents: Sequence[Document], seed: int) -> None:
        self.documents = documents
        self.rng = random.Random(f"{seed}-negatives")  # its own stream: the pairs stay those made without negatives
        self.titles = [_title_key(d) for d in documents]
        self.by_title: dict[str, list[int]] = {}
        for index, title in enumerate(self.titles):
            self.by_title.setdefault(title, []).append(index)
        if len(self.by_title) < 2:
            raise InputError(
                f"sibling negatives need passages of at least two titles; all {len(documents)} share one: "
                "drop --sibling-negatives"
            )
        if all(len(group) == 1 for group in self.by_title.values()):
            raise InputError(
                f"no two of the {len(documents)} passages share a title, so none has a sibling section to learn "
                "against: give passages their document's title, or drop --sibling-negatives"
            )
        self.siblings = 0

    def pick(self, index: int, same_title: bool) -> str:
        """A sibling of document ``index`` when ``same_title`` and it has one, else a passage of another title."""
        group = self.by_title[self.titles[index]]
        if same_title and len(group) > 1:
            self.siblings += 1
            position = bisect.bisect_left(group, index)  # groups list their documents in corpus order
            drawn = self.rng.randrange(len(group) - 1)  # one of the others, without copying a large group
            return self.documents[group[drawn if drawn < position else drawn + 1]].embedded_text
        while True:  # at least two titles exist: this ends, in ~1 draw unless one title dominates the corpus
            other = self.rng.randrange(len(self.documents))
            if self.titles[other] != self.titles[index]:
                return self.documents[other].embedded_text


def _title_key(document: Document) -> str:
    """The title passages are grouped by (case and spacing ignored; untitled passages form no group)."""
    title = " ".join((document.title or "").split()).casefold()
    return title or f"\0untitled-{document.id}"


def _rows(method: CorpusMethod, document: Document, rng: random.Random) -> list[tuple[str, str]]:
    if method is CorpusMethod.TSDAE:
        return _damaged_sentences(document, rng)
    pair = _pair(method, document, rng)
    return [pair] if pair is not None else []


def _pair(method: CorpusMethod, document: Document, rng: random.Random) -> tuple[str, str] | None:
    positive = document.embedded_text
    if method is CorpusMethod.TITLE:
        title = (document.title or "").strip()
        return (title, positive) if title and document.text.strip() else None
    if method is CorpusMethod.ICT:
        sentences = [s for s in _SENTENCE_END.split(document.text.strip()) if s.strip()]
        if len(sentences) < 2:
            return None
        pick = rng.randrange(len(sentences))
        rest = sentences if rng.random() < ICT_KEEP_SENTENCE else sentences[:pick] + sentences[pick + 1 :]
        return sentences[pick], passage_text({"title": document.title, "text": " ".join(rest)})
    words = positive.split()
    if len(words) < 2 * CROP_MIN_WORDS:
        return None
    return _crop(words, rng), _crop(words, rng)


def _damaged_sentences(document: Document, rng: random.Random) -> list[tuple[str, str]]:
    """(damaged, original) for each sentence of :data:`TSDAE_MIN_WORDS` or more words: a seeded
    :data:`TSDAE_DELETE` of its words deleted, at least one kept."""
    rows = []
    for sentence in _SENTENCE_END.split(document.text.strip()):
        words = sentence.split()
        if len(words) < TSDAE_MIN_WORDS:
            continue
        kept = [w for w in words if rng.random() >= TSDAE_DELETE] or [rng.choice(words)]
        rows.append((" ".join(kept), " ".join(words)))
    return rows


def _crop(words: list[str], rng: random.Random) -> str:
    """A random span of ``CROP_RATIO`` of the words (at least ``CROP_MIN_WORDS``)."""
    length = max(CROP_MIN_WORDS, round(len(words) * rng.uniform(*CROP_RATIO)))
    start = rng.randrange(len(words) - length + 1)
    return " ".join(words[start : start + length])


def _needs(method: CorpusMethod) -> str:
    return {
        CorpusMethod.TITLE: "passages with a title",
        CorpusMethod.ICT: "passages of two or more sentences",
        CorpusMethod.CROPS: f"passages of {2 * CROP_MIN_WORDS} or more words",
        CorpusMethod.TSDAE: f"sentences of {TSDAE_MIN_WORDS} or more words",
    }[method]
