"""BEIR loading: shapes, passage text, and errors that name the problem."""

import json
from dataclasses import replace

import pytest

from edge_embed.data import load_beir
from edge_embed.data.beir import write_beir as write_splits
from edge_embed.errors import InputError


def write_beir(folder, corpus, queries, qrels, split="test"):
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in corpus))
    (folder / "queries.jsonl").write_text("".join(json.dumps(r) + "\n" for r in queries))
    (folder / "qrels" / f"{split}.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{c}\t{s}\n" for q, c, s in qrels)
    )
    return folder


CORPUS = [{"_id": "d1", "title": "Pump", "text": "Check the seal."}, {"_id": "d2", "title": "", "text": "Grease it."}]
QUERIES = [{"_id": "q1", "text": "seal?"}, {"_id": "q2", "text": "grease?"}, {"_id": "q3", "text": "other split"}]


def test_load_split(tmp_path):
    ds = load_beir(write_beir(tmp_path / "ds", CORPUS, QUERIES, [("q1", "d1", 1), ("q2", "d2", 1), ("q2", "d1", 0)]))
    assert ds.corpus == {"d1": "Pump. Check the seal.", "d2": "Grease it."}
    assert ds.queries == {"q1": "seal?", "q2": "grease?"}  # only the split's queries
    assert ds.relevant_docs == {"q1": {"d1"}, "q2": {"d2"}}  # score 0 is not relevant


def test_written_splits_read_back_as_they_were(tmp_path):
    dev = load_beir(
        write_beir(tmp_path / "ds", CORPUS, QUERIES, [("q1", "d1", 1), ("q2", "d2", 1)], split="dev"), "dev"
    )
    test = replace(dev, queries={"q3": "other split"}, relevant_docs={"q3": {"d1", "d2"}}, split="test")
    folder = write_splits(tmp_path / "pooled", [dev, test])
    assert load_beir(folder, "dev") == replace(dev, name="pooled") and load_beir(folder, "test").relevant_docs == {
        "q3": {"d1", "d2"}
    }
    with pytest.raises(InputError, match="already exists"):
        write_splits(folder, [dev])
    clash = replace(test, queries={"q1": "another text"}, relevant_docs={"q1": {"d1"}})
    with pytest.raises(InputError, match="query id 'q1' has different texts in two splits"):
        write_splits(tmp_path / "clash", [dev, clash])
    assert not (tmp_path / "clash").exists()


def test_unknown_ids_are_named(tmp_path):
    folder = write_beir(tmp_path / "ds", CORPUS, QUERIES, [("q1", "d1", 1), ("q2", "d404", 1), ("q9", "d1", 1)])
    with pytest.raises(
        InputError, match=r"1 query ids not in queries.jsonl \(q9\); 1 corpus ids not in corpus.jsonl \(d404\)"
    ):
        load_beir(folder)


def test_missing_split_and_bad_lines(tmp_path):
    folder = write_beir(tmp_path / "ds", CORPUS, QUERIES, [("q1", "d1", 1)])
    with pytest.raises(InputError, match="dev.tsv not found; splits available: test"):
        load_beir(folder, "dev")
    (folder / "corpus.jsonl").write_text('{"_id": "d1", "text": "x"}\n{"_id": "d2", "text": \n')
    with pytest.raises(InputError, match="corpus.jsonl line 2: invalid JSON"):
        load_beir(folder)
    with pytest.raises(InputError, match="does not exist"):
        load_beir(tmp_path / "nowhere")


def test_empty_split(tmp_path):
    with pytest.raises(InputError, match="the split is empty"):
        load_beir(write_beir(tmp_path / "ds", CORPUS, QUERIES, []))


def test_sample_is_deterministic_and_keeps_relevant(medquad_mini):
    ds = load_beir(medquad_mini, "test")
    a, b = ds.sample(10, 20, seed=1), ds.sample(10, 20, seed=1)
    assert a == b and len(a.queries) == 10
    assert all(cid in a.corpus for cids in a.relevant_docs.values() for cid in cids)
    assert a.sampled["distractors"] == 20 and a.sampled["of_corpus"] == len(ds.corpus)
