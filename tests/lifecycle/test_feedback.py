"""Feedback: the file readers, the SQLite store in the registry, the CLI, and POST /feedback over real HTTP."""

import json
import sqlite3

import pytest

from edge_embed.cli.main import main
from edge_embed.errors import InputError
from edge_embed.lifecycle.feedback import FeedbackStore, Judgment, read_feedback
from edge_embed.registry import registry_path
from edge_embed.samples import maintenance_dataset


def corpus_ids():
    return [json.loads(line)["_id"] for line in (maintenance_dataset() / "corpus.jsonl").read_text().splitlines()]


def test_jsonl_and_csv_feedback_are_read(tmp_path):
    ids = corpus_ids()
    jsonl = tmp_path / "f.jsonl"
    jsonl.write_text(
        json.dumps({"query": "pump leaks", "passage_id": ids[0], "relevant": True, "user": "ana"})
        + "\n\n"
        + json.dumps({"query": "pump leaks", "passage": "grease the motor", "relevant": "no"})
        + "\n"
    )
    first, second = read_feedback(jsonl)
    assert first == Judgment("pump leaks", True, ids[0], None, first.at, "ana") and second.relevant is False
    table = tmp_path / "f.csv"
    table.write_text(f"query,passage_id,relevant,at\nseal wear,{ids[1]},yes,2026-12-01T08:00:00+00:00\n")
    (row,) = read_feedback(table)
    assert row.relevant and row.at == "2026-12-01T08:00:00+00:00"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 2: invalid JSON"),
        ('{"query": "q", "passage_id": "d1"}', "line 2: 'relevant' must be yes/no"),
        ('{"query": "q", "relevant": 1}', "line 2: give exactly one of 'passage_id' and 'passage'"),
        ('{"query": "", "passage": "p", "relevant": 1}', "line 2: 'query' must be a non-empty string"),
        ('{"query": "q", "passage": "p", "relevant": 1, "at": "yesterday"}', "line 2: 'at' 'yesterday' is not"),
        ("[1, 2]", "line 2: expected a JSON object"),
    ],
)
def test_malformed_feedback_names_the_file_and_line(tmp_path, line, message):
    path = tmp_path / "f.jsonl"
    path.write_text('{"query": "q", "passage": "p", "relevant": true}\n' + line + "\n")
    with pytest.raises(InputError, match=message):
        read_feedback(path)


def test_import_stores_in_the_registry_and_survives_a_rebuild(tmp_path, capsys):
    ids = corpus_ids()
    path = tmp_path / "f.jsonl"
    path.write_text(
        "".join(json.dumps({"query": f"q{i}", "passage_id": ids[i], "relevant": i % 2}) + "\n" for i in range(6))
    )
    workspace = tmp_path / "ws"
    args = ["feedback", "import", str(path), "--workspace", str(workspace)]
    assert main([*args, "--corpus", str(maintenance_dataset())]) == 0
    assert "added 6 judgments (3 relevant); 6 stored" in capsys.readouterr().out
    assert main(["registry", "rebuild", "--workspace", str(workspace)]) == 0
    assert main(["feedback", "summary", "--workspace", str(workspace), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["judgments"] == 6 and summary["relevant"] == 3 and summary["queries"] == 6
    with sqlite3.connect(registry_path(workspace)) as db:  # a real SQLite file anyone can query
        assert db.execute("SELECT COUNT(*) FROM feedback WHERE relevant = 1").fetchone()[0] == 3


def test_unknown_passage_ids_and_a_missing_corpus_are_refused(tmp_path, capsys):
    path = tmp_path / "f.jsonl"
    path.write_text(json.dumps({"query": "q", "passage_id": "no-such-passage", "relevant": 1}) + "\n")
    args = ["feedback", "import", str(path), "--workspace", str(tmp_path / "ws")]
    assert main(args) == 2
    assert "give --corpus" in capsys.readouterr().err
    assert main([*args, "--corpus", str(maintenance_dataset())]) == 2
    assert "1 passage ids are not in the corpus (no-such-passage)" in capsys.readouterr().err
    assert not registry_path(tmp_path / "ws").exists()


def test_post_feedback_over_http(toy_artifact, tmp_path):
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("starlette", reason="the service needs the [serve] extra")
    from edge_embed import Embedder
    from edge_embed.lineage.manifest import manifest_sha256
    from edge_embed.serve import ServeSettings, create_app
    from tests.helpers.server import serving

    store = FeedbackStore(registry_path(tmp_path / "ws"), threads=True)
    app = create_app(Embedder.load(toy_artifact), ServeSettings(warmup=False), feedback=store)
    with serving(app) as base, httpx.Client(base_url=base) as http:
        one = http.post("/feedback", json={"query": "pump", "passage": "the pump seal", "relevant": True})
        assert one.status_code == 200 and one.json() == {"stored": 1}
        many = {"feedback": [{"query": "seal", "passage_id": "d1", "relevant": "no", "user": "op-7"}] * 3}
        assert http.post("/feedback", json=many).json() == {"stored": 3}
        bad = http.post("/feedback", json={"query": "q", "relevant": True})
        assert bad.status_code == 422 and "give exactly one of 'passage_id' and 'passage'" in bad.text
    stored = store.judgments()
    assert len(stored) == 4 and all(j.artifact_sha256 == manifest_sha256(toy_artifact) for j in stored)
    assert stored[1].user == "op-7" and stored[1].relevant is False
    store.close()
    plain = create_app(Embedder.load(toy_artifact), ServeSettings(warmup=False))
    with serving(plain) as base, httpx.Client(base_url=base) as http:
        assert http.post("/feedback", json={"query": "q", "passage": "p", "relevant": 1}).status_code == 404
