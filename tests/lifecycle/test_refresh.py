"""The refresh loop's data side: feedback -> cleaned training pairs, the replay sample, and the deployed checkpoint
found through the artifact's lineage."""

import json

import pytest

from edge_embed.data.beir import RetrievalDataset
from edge_embed.data.pairs import PairSet, read_pair_file
from edge_embed.errors import InputError
from edge_embed.lifecycle.feedback import Judgment
from edge_embed.lifecycle.refresh import feedback_pairs, refresh_target, replay_sample

CORPUS = {f"d{i}": f"passage number {i} about pump seal {i}" for i in range(30)}
TEST = RetrievalDataset(
    queries={"t1": "Which seal fits pump 7?"},
    corpus=CORPUS,
    relevant_docs={"t1": {"d29"}},
    name="toy",
    split="test",
)


def judged(i, relevant=True, at="2026-12-01T08:00:00+00:00", **fields):
    return Judgment(query=f"how do I fix pump {i}", relevant=relevant, passage_id=f"d{i}", at=at, **fields)


def test_relevant_judgments_become_scrubbed_pairs_and_the_rest_is_counted(tmp_path):
    judgments = [judged(i) for i in range(12)]
    judgments += [
        judged(12, relevant=False),  # not relevant
        judged(0, at="2026-11-30T08:00:00+00:00", relevant=False),  # older, superseded by the relevant one
        Judgment("which seal fits PUMP 7?  ", True, "d3", at="2026-12-01T09:00:00+00:00"),  # a test query
        Judgment("seal for pump seven", True, "d29", at="2026-12-01T09:00:00+00:00"),  # a test passage
        judged(1),  # the same judgment twice
        Judgment("mail jane.doe@example.com about pump", True, "d5", at="2026-12-01T10:00:00+00:00"),
        Judgment("already trained", True, passage="grease the motor", at="2026-12-01T10:00:00+00:00"),
    ]
    training = PairSet()
    training.extend([("Already  TRAINED", "grease the motor", None)])
    pairs = feedback_pairs(judgments, CORPUS, TEST, tmp_path, training=training)
    assert pairs.pairs == 13 and pairs.judgments == len(judgments)
    assert dict(pairs.dropped) == {
        "not relevant": 1,
        "superseded": 2,
        "test query": 1,
        "test passage": 1,
        "already in training": 1,
    }
    assert pairs.pii_replacements == {"email": 1}
    rows = read_pair_file(pairs.path)
    assert ("mail [EMAIL] about pump", CORPUS["d5"], None) in rows
    assert ("how do I fix pump 0", CORPUS["d0"], None) in rows, "the latest judgment of a pair wins"
    assert pairs.path.name == f"feedback-{pairs.sha256[:12]}.jsonl"
    again = feedback_pairs(list(reversed(judgments)), CORPUS, TEST, tmp_path / "again", training=training)
    assert again.sha256 == pairs.sha256, "the same feedback makes the same file, whatever order it came in"


def test_a_later_no_overrules_an_earlier_yes(tmp_path):
    judgments = [judged(i) for i in range(11)] + [judged(0, relevant=False, at="2026-12-02T08:00:00+00:00")]
    pairs = feedback_pairs(judgments, CORPUS, TEST, tmp_path)
    assert pairs.pairs == 10 and pairs.dropped["not relevant"] == 1


def test_too_little_feedback_and_unknown_ids_are_refused(tmp_path):
    with pytest.raises(InputError, match="at least 10 feedback pairs judged relevant, got 3 .*2 not relevant"):
        feedback_pairs([judged(i) for i in range(3)] + [judged(i, False) for i in (4, 5)], CORPUS, TEST, tmp_path)
    with pytest.raises(InputError, match=r"1 passage ids are not in the corpus \(d99\)"):
        feedback_pairs([Judgment("q", True, "d99")], CORPUS, TEST, tmp_path)
    assert not list(tmp_path.iterdir()), "nothing is written for refused feedback"


def test_replay_is_a_seeded_sample_of_the_old_pairs(tmp_path):
    old = PairSet()
    old.extend([(f"query {i}", f"passage {i}", None) for i in range(50)])
    first = replay_sample(old, 20, tmp_path, seed=3)
    assert first is not None and first == replay_sample(old, 20, tmp_path, seed=3)
    rows = [json.loads(line) for line in first.read_text().splitlines()]
    assert len(rows) == 20 and len({r["anchor"] for r in rows}) == 20
    assert all(r["positive"] == r["anchor"].replace("query", "passage") for r in rows)
    assert replay_sample(old, 20, tmp_path, seed=4) != first
    assert replay_sample(old, 0, tmp_path) is None


def test_refresh_target_is_the_checkpoint_behind_the_artifact(minilm_artifact, base_model_path, copy_artifact):
    target = refresh_target(minilm_artifact)
    assert target.checkpoint == base_model_path and target.artifact == minilm_artifact
    from edge_embed.lineage.manifest import manifest_sha256

    assert target.manifest_sha256 == manifest_sha256(minilm_artifact)


def test_refresh_target_refuses_an_artifact_without_its_checkpoint(toy_artifact, tmp_path):
    with pytest.raises(InputError, match="cannot refresh .*the checkpoint it was exported from"):
        refresh_target(toy_artifact)
    with pytest.raises(InputError, match="cannot refresh"):
        refresh_target(tmp_path)
