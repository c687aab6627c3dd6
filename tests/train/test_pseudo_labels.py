"""Pseudo-labels from a query log: the real base model labels medquad-mini's train queries (their qrels only score
the labels), the labels join a run's pairs, and the leakage check and held-out slice see them."""

import json
import logging

import pytest

pytest.importorskip("sentence_transformers", reason="pseudo-labelling needs the [build] extra")

from edge_embed.data.beir import load_beir  # noqa: E402
from edge_embed.data.leakage import normalize_text  # noqa: E402
from edge_embed.errors import InputError  # noqa: E402
from edge_embed.records import QueryLogCounts  # noqa: E402
from edge_embed.train import DataSource, preset  # noqa: E402
from edge_embed.train.data import load_run_data  # noqa: E402
from edge_embed.train.pseudo_labels import base_label_model, pseudo_label, read_query_log  # noqa: E402

pytestmark = pytest.mark.build


@pytest.fixture(scope="module")
def label_model():
    return base_label_model(None, 64)


@pytest.fixture
def train_split(medquad_mini):
    return load_beir(medquad_mini, "train")


def _log(path, queries):
    path.write_text("\n".join(queries) + "\n")
    return path


def test_a_wider_margin_labels_fewer_queries_more_precisely(train_split, label_model):
    queries = list(dict.fromkeys(train_split.queries.values()))
    relevant = {}
    for qid, query in train_split.queries.items():
        relevant.setdefault(query, set()).update(train_split.corpus[d] for d in train_split.relevant_docs[qid])
    passages = list(train_split.corpus.values())
    measured = []
    for margin in (0.0, 0.05):
        labelled = pseudo_label(queries, passages, label_model, margin)
        precision = sum(p in relevant[q] for q, p in labelled.rows) / len(labelled.rows)
        measured.append((len(labelled.rows), precision))
        assert labelled.counts == QueryLogCounts(len(queries), len(set(passages)), len(labelled.rows), margin)
    (all_rows, all_precision), (kept, kept_precision) = measured
    assert all_rows == len(queries) and 64 <= kept < 0.9 * all_rows
    assert kept_precision > all_precision + 0.05 and kept_precision >= 0.8  # 0.90 vs 0.74 measured


def test_a_margin_too_strict_for_the_log_is_refused_naming_the_count(train_split, label_model):
    queries = list(train_split.queries.values())
    with pytest.raises(InputError, match=r"gave \d+ pseudo-labelled pairs of \d+ queries at margin 0.5; at least 64"):
        pseudo_label(queries, list(train_split.corpus.values()), label_model, 0.5)
    with pytest.raises(InputError, match=r"margin must be in \[0, 2\)"):
        pseudo_label(queries, list(train_split.corpus.values()), label_model, -0.1)


def test_query_logs_are_read_from_text_jsonl_and_beir_folders(medquad_mini, tmp_path):
    text = _log(tmp_path / "log.txt", ["How is gout treated?", "", "  how is  GOUT treated? ", "What is asthma?"])
    assert read_query_log(text) == ["How is gout treated?", "What is asthma?"]
    jsonl = tmp_path / "log.jsonl"
    jsonl.write_text("\n".join(json.dumps({"text": q}) for q in ["a question", "A question", "b"]) + "\n")
    assert read_query_log(jsonl) == ["a question", "b"]
    every = [json.loads(line)["text"] for line in (medquad_mini / "queries.jsonl").read_text().splitlines()]
    assert len(read_query_log(medquad_mini)) == len({normalize_text(q) for q in every})  # all of its queries
    with pytest.raises(InputError, match="query log .*missing.txt does not exist"):
        read_query_log(tmp_path / "missing.txt")
    with pytest.raises(InputError, match="blank.txt has no usable text"):
        read_query_log(_log(tmp_path / "blank.txt", ["", "  "]))


def test_logged_queries_join_the_pairs_and_a_logged_test_query_is_reported(
    medquad_mini, train_split, label_model, tmp_path, caplog
):
    test = load_beir(medquad_mini, "test")
    leaked = next(iter(test.queries.values()))
    log = _log(tmp_path / "log.txt", [*train_split.queries.values(), leaked])
    config = preset(
        "tiny",
        data=(DataSource(str(medquad_mini), license="CC-BY-4.0"),),
        output_dir=str(tmp_path / "runs"),
        max_seq_length=64,
        unsupervised=("title",),
        query_log=str(log),
    )
    with pytest.warns(UserWarning, match=r"1 of \d+ test queries appear as training anchors"):
        data = load_run_data(config, label_model)
    corpus_source, log_source = data.sources
    assert log_source.path == str(log) and log_source.files[0].sha256 and log_source.kind == "query log"
    assert log_source.query_log is not None and log_source.pairs == log_source.query_log.labelled > 64
    assert log_source.query_log.passages == len(set(train_split.corpus.values()))
    assert len(data.pairs) == corpus_source.pairs + log_source.pairs
    test_report = next(r for r in data.leakage if r.split == "test")
    assert test_report.query_overlap >= 1 and leaked in test_report.examples  # a labelled test query is named
    with caplog.at_level(logging.INFO, logger="edge_embed.train.pseudo_labels"), pytest.warns(UserWarning):
        again = load_run_data(config, label_model)  # the same labels, read from the output folder's cache
    assert "pseudo-labels from" in caplog.text and again.sources[1] == log_source


def test_pseudo_labels_never_train_on_a_carved_held_out_passage(medquad_mini, train_split, label_model, tmp_path):
    corpus = tmp_path / "manuals.jsonl"
    corpus.write_text((medquad_mini / "corpus.jsonl").read_text())
    log = _log(tmp_path / "log.txt", list(train_split.queries.values()))
    config = preset(
        "tiny",
        data=(DataSource(str(corpus), license="own"),),
        output_dir=str(tmp_path / "runs"),
        unsupervised=("title",),
        query_log=str(log),
    )
    data = load_run_data(config, label_model)
    log_counts = data.sources[1].query_log
    assert data.held_out is not None and log_counts is not None and data.sources[1].pairs < log_counts.labelled
    assert all(report.passage_overlap == 0 for report in data.leakage)
