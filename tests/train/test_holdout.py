"""Carving dev/test from training data: whole groups held out, sizes, determinism, the minimum named."""

import pytest

from edge_embed.errors import InputError
from edge_embed.train.holdout import MAX_PER_SPLIT, MIN_GROUPS, MIN_PER_SPLIT, KeyedPair, carve


def labelled(passages: int, queries_per_passage: int = 2) -> list[KeyedPair]:
    """Pairs as a labelled file gives them: several questions per passage, grouped by the passage."""
    pairs = []
    for p in range(passages):
        passage = f"passage {p} about valve {p % 7} and pump {p % 11}"
        for q in range(queries_per_passage):
            pairs.append(KeyedPair(f"question {q} on passage {p}", passage, None, group=passage, target=passage))
    return pairs


def test_held_out_groups_never_reach_training():
    pairs = labelled(400)
    carved = carve(pairs, "plant", "positive passage", seed=3)
    trained = {positive for _, positive, _ in carved.rows}
    for split in (carved.dev, carved.test):
        relevant = {cid for ids in split.relevant_docs.values() for cid in ids}
        assert not {split.corpus[cid] for cid in relevant} & trained
        assert not set(split.queries.values()) & {anchor for anchor, _, _ in carved.rows}
    assert not set(carved.dev.queries.values()) & set(carved.test.queries.values())
    # 10% of 400 passages, half each: both questions of every held-out passage are queries
    assert carved.held_out.dev_groups == carved.held_out.test_groups == 20
    assert len(carved.dev.queries) == len(carved.test.queries) == 40
    assert len(carved.rows) == len(pairs) - 80
    # every passage of the data is searched, the trained ones as distractors
    assert len(carved.dev.corpus) == 400 and carved.dev.corpus is carved.test.corpus
    assert carved.dev.name == "plant-held-out" and (carved.dev.split, carved.test.split) == ("dev", "test")


def test_corpus_documents_are_held_out_whole_and_searched_as_full_passages():
    """Corpus-only pairs: the title and the sentence of one document go together; the target is the whole passage."""
    pairs = []
    for d in range(150):
        passage = f"Title {d}. First sentence of {d}. Second sentence of {d}."
        pairs.append(KeyedPair(f"Title {d}", passage, None, group=f"doc{d}", target=passage))
        pairs.append(
            KeyedPair(f"First sentence of {d}.", f"Title {d}. Second sentence of {d}.", None, f"doc{d}", passage)
        )
    carved = carve(pairs, "manuals", "corpus document", seed=0)
    held_docs = {q.split()[-1].rstrip(".") for s in (carved.dev, carved.test) for q in s.queries.values()}
    assert len(held_docs) == 2 * MIN_PER_SPLIT
    assert not any(anchor.split()[-1].rstrip(".") in held_docs for anchor, _, _ in carved.rows)
    for qid, text in carved.dev.queries.items():
        (cid,) = carved.dev.relevant_docs[qid]
        document = text.split()[-1].rstrip(".")
        assert (
            carved.dev.corpus[cid] == f"Title {document}. First sentence of {document}. Second sentence of {document}."
        )
    assert carved.held_out.to_dict()["dev"] == {"groups": MIN_PER_SPLIT, "queries": 2 * MIN_PER_SPLIT}


def test_same_seed_same_slice_and_the_slice_is_capped():
    pairs = labelled(12_000, queries_per_passage=1)
    first, second = carve(pairs, "big", "positive passage", seed=7), carve(pairs, "big", "positive passage", seed=7)
    assert first.dev.queries == second.dev.queries and first.rows == second.rows
    assert len(first.dev.queries) == len(first.test.queries) == MAX_PER_SPLIT
    assert carve(pairs, "big", "positive passage", seed=8).dev.queries != first.dev.queries


def test_too_few_passages_to_spare_a_slice_is_refused_naming_the_minimum():
    with pytest.raises(InputError, match=f"has {MIN_GROUPS - 1} distinct passages.*at least {MIN_GROUPS}.*--eval-data"):
        carve(labelled(MIN_GROUPS - 1), "tiny", "positive passage")


def test_passages_sharing_a_query_are_held_out_together():
    """One title over three passages: a held-out "Pump P" query has all three as relevant, none left in training."""
    pairs = []
    for d in range(300):
        title = f"Pump P{d // 3}" if d % 3 else f"pump  p{d // 3}"  # the leakage check folds case and spaces
        passage = f"{title}. Maintenance step {d}."
        pairs.append(KeyedPair(title, passage, None, group=f"doc{d}", target=passage))
    carved = carve(pairs, "pumps", "corpus document")
    assert carved.held_out.groups == 100
    for split in (carved.dev, carved.test):
        for qid, title in split.queries.items():
            assert len(split.relevant_docs[qid]) == 3
            assert title not in {anchor for anchor, _, _ in carved.rows}
