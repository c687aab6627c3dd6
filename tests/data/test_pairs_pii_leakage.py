"""Pair files, PII scrubbing and the leakage check, on inputs made here."""

import json

import pytest

from edge_embed.data import load_beir
from edge_embed.data.leakage import check_leakage
from edge_embed.data.pairs import PairSet, pairs_from_beir, read_pair_file
from edge_embed.data.pii import PiiScrubber
from edge_embed.errors import InputError


def test_jsonl_csv_tsv_and_column_aliases(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"anchor": "q1", "positive": "p1", "negative": "n1"}\n')
    (tmp_path / "b.csv").write_text('query,passage\n"q, with comma",p2\n')
    (tmp_path / "c.tsv").write_text("question\tanswer\nq3\tp3\n")
    assert read_pair_file(tmp_path / "a.jsonl") == [("q1", "p1", "n1")]
    assert read_pair_file(tmp_path / "b.csv") == [("q, with comma", "p2", None)]
    assert read_pair_file(tmp_path / "c.tsv") == [("q3", "p3", None)]


def test_parquet(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"anchor": ["q"], "positive": ["p"]}), tmp_path / "d.parquet")
    assert read_pair_file(tmp_path / "d.parquet") == [("q", "p", None)]


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("x.jsonl", '{"anchor": "q"}\n', "needs columns anchor/positive"),
        ("x.csv", "anchor,positive\n,\n ,\n", "column 'anchor' is empty in every row"),
        ("x.jsonl", '{"anchor": "q", "positive": "p"}\n{"anchor": "q", "positive": 5}\n', "line 2: column 'positive'"),
        ("x.jsonl", '{"anchor": "q", "positive": "p"}\nnot json\n', "line 2: invalid JSON"),
        ("x.xlsx", "", "unsupported pair file type"),
    ],
)
def test_bad_pair_files_name_the_problem(tmp_path, name, content, message):
    (tmp_path / name).write_text(content)
    with pytest.raises(InputError, match=message):
        read_pair_file(tmp_path / name)


def test_unreadable_and_missing_files(tmp_path):
    (tmp_path / "bad.csv").write_bytes(b"anchor,positive\n\xff\xfe,x\n")
    with pytest.raises(InputError, match="invalid UTF-8"):
        read_pair_file(tmp_path / "bad.csv")
    with pytest.raises(InputError, match="does not exist"):
        read_pair_file(tmp_path / "nope.jsonl")


def test_pairset_drops_duplicates_and_empty_rows_and_counts_them():
    pairs = PairSet()
    pairs.extend([("q", "p", None), ("q", "p", None), (" ", "p", None), ("q2", "p2", None)])
    assert len(pairs) == 2 and pairs.dropped == {"duplicates": 1, "empty": 1}
    with pytest.raises(InputError, match="cannot mix"):
        pairs.extend([("q3", "p3", "n3")])


def test_beir_pairs_and_fingerprints(medquad_mini):
    rows, files = pairs_from_beir(medquad_mini, "train")
    # One pair per relevant (query, passage) line of the split's qrels, read here independently.
    lines = (medquad_mini / "qrels" / "train.tsv").read_text().splitlines()[1:]
    relevant = {tuple(line.split("\t")[:2]) for line in lines if line.strip() and int(line.split("\t")[2]) > 0}
    assert len(rows) == len(relevant) > 0 and all(len(f.sha256) == 64 for f in files)
    import hashlib

    qrels_file = next(f for f in files if f.path.endswith("train.tsv"))
    assert qrels_file.bytes == (medquad_mini / "qrels" / "train.tsv").stat().st_size
    assert qrels_file.sha256 == hashlib.sha256((medquad_mini / "qrels" / "train.tsv").read_bytes()).hexdigest()


def test_beir_qrels_with_unknown_id_and_empty_split(tmp_path):
    folder = tmp_path / "ds"
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text('{"_id": "d1", "text": "x"}\n')
    (folder / "queries.jsonl").write_text('{"_id": "q1", "text": "y"}\n')
    (folder / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td7\t1\n")
    with pytest.raises(InputError, match="unknown ids: d7"):
        pairs_from_beir(folder, "train")
    (folder / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\n")
    with pytest.raises(InputError, match="training split is empty"):
        pairs_from_beir(folder, "train")


@pytest.mark.parametrize(
    "text, expected, kind",
    [
        ("Mail jane.doe@example.com now", "Mail [EMAIL] now", "email"),
        ("IBAN DE89 3704 0044 0532 0130 00.", "IBAN [IBAN].", "iban"),
        ("Card 4111 1111 1111 1111", "Card [CARD]", "card"),
        ("SSN 123-45-6789", "SSN [PERSON_ID]", "person_id"),
        ("Tel. +49 30 1234 5678", "Tel. [PHONE]", "phone"),
    ],
)
def test_pii_kinds(text, expected, kind):
    scrub = PiiScrubber()
    assert scrub(text) == expected and scrub.counts == {kind: 1}


@pytest.mark.parametrize(
    "text",
    [
        "Pump P-101 at 1450 rpm for 2,000 h",
        "ICD-10 E11.9; ISO 13485:2016",
        "dated 2024-01-15",
        "version 1.2.3",
        "order 12345 and 67890",
    ],
)
def test_pii_leaves_domain_numbers_alone(text):
    scrub = PiiScrubber()
    assert scrub(text) == text and not scrub.counts


def test_card_needs_a_valid_luhn_checksum():
    scrub = PiiScrubber()
    scrub("4111 1111 1111 1112")
    assert "card" not in scrub.counts


def test_leakage_finds_shared_queries_and_passages(tmp_path):
    folder = tmp_path / "ds"
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text('{"_id": "d1", "text": "Passage one."}\n{"_id": "d2", "text": "Two."}\n')
    (folder / "queries.jsonl").write_text('{"_id": "q1", "text": "What is X?"}\n{"_id": "q2", "text": "Y?"}\n')
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n")
    pairs = PairSet()
    pairs.extend([("what is  x?", "unrelated", None), ("other", "passage ONE.", None)])
    report = check_leakage(pairs, load_beir(folder, "test"))
    assert (report.query_overlap, report.passage_overlap) == (1, 1) and report.leaked
    assert json.loads(json.dumps(report.to_dict())) == report.to_dict()  # JSON-ready for the run record
    assert (report.to_dict()["query_overlap"], report.to_dict()["passage_overlap"]) == (1, 1)
