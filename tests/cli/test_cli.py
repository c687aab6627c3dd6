"""The edge-embed command in a real subprocess: inputs from args, files and stdin; one-line errors."""

import json
import subprocess
import sys

import numpy as np
import pytest

from edge_embed import Embedder
from tests.helpers.toy import make_toy_artifact


def run_cli(*args, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "edge_embed.cli.main", *map(str, args)], input=stdin, capture_output=True
    )


def _one_line_error(result, pattern, code=2):
    """Bad input or usage exits 2; a failure of the work (a corrupt artifact, a broken model) exits 1."""
    assert result.returncode == code, result.stderr
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("edge-embed: error:"), lines
    assert pattern in lines[0], lines[0]


@pytest.mark.parametrize("command", [[], ["export"], ["embed"], ["info"]])
def test_help_everywhere(command):
    result = run_cli(*command, "--help")
    assert result.returncode == 0 and b"usage: edge-embed" in result.stdout


def test_embed_args_to_jsonl_stdout(toy_artifact):
    result = run_cli("embed", toy_artifact, "pump seal", "grease")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.decode().splitlines()]
    expected = Embedder.load(toy_artifact).embed(["pump seal", "grease"])
    assert [r["index"] for r in rows] == [0, 1]
    np.testing.assert_allclose(np.array([r["embedding"] for r in rows]), expected, atol=1e-6)


def test_embed_stdin_to_npy_keeps_line_alignment(toy_artifact, tmp_path):
    out = tmp_path / "vectors.npy"
    result = run_cli("embed", toy_artifact, "-o", out, "--dim", 4, "--kind", "query", stdin=b"pump\n\nalarm valve\n")
    assert result.returncode == 0, result.stderr
    vectors = np.load(out)
    assert vectors.shape == (3, 4) and vectors.dtype == np.float32
    np.testing.assert_allclose(
        vectors, Embedder.load(toy_artifact, dim=4).embed(["pump", "", "alarm valve"]), atol=1e-6
    )


def test_embed_jsonl_file_field(toy_artifact, tmp_path):
    source = tmp_path / "texts.jsonl"
    source.write_text('{"body": "seal leak"}\n\n{"body": "motor"}\n')
    out = tmp_path / "out.jsonl"
    result = run_cli("embed", toy_artifact, "-f", source, "--field", "body", "-o", out)
    assert result.returncode == 0, result.stderr
    assert len(out.read_text().splitlines()) == 2


def test_invalid_utf8_file_names_line_and_writes_nothing(toy_artifact, tmp_path):
    source = tmp_path / "texts.txt"
    source.write_bytes(b"pump\nseal \xff leak\n")
    out = tmp_path / "vectors.npy"
    _one_line_error(run_cli("embed", toy_artifact, "-f", source, "-o", out), "texts.txt line 2: invalid UTF-8")
    assert not out.exists()


def test_bad_jsonl_and_missing_file(toy_artifact, tmp_path):
    source = tmp_path / "texts.jsonl"
    source.write_text('{"text": "ok"}\n{"text": 3}\n')
    _one_line_error(run_cli("embed", toy_artifact, "-f", source), "texts.jsonl line 2: no string field 'text'")
    _one_line_error(run_cli("embed", toy_artifact, "-f", tmp_path / "missing.txt"), "cannot read")


def test_bad_artifact_and_output_suffix(toy_artifact, tmp_path):
    _one_line_error(run_cli("embed", tmp_path / "nowhere", "x"), "not an artifact folder", code=1)
    _one_line_error(run_cli("embed", toy_artifact, "x", "-o", tmp_path / "v.csv"), "must end in .npy or .jsonl")
    (toy_artifact / "model.onnx").write_bytes(b"corrupt")
    _one_line_error(run_cli("info", toy_artifact, "--verify"), "model.onnx does not match its manifest", code=1)


def test_info_human_and_json(toy_artifact):
    human = run_cli("info", toy_artifact, "--verify")
    assert human.returncode == 0 and b"pooling" in human.stdout and b"match their sha256" in human.stdout
    raw = json.loads(run_cli("info", toy_artifact, "--json").stdout)
    assert raw["format_version"] == 1 and raw["embedding_dim"] == 8


@pytest.mark.build
def test_export_cli_refuses_non_model_with_one_line(tmp_path):
    pytest.importorskip("optimum.exporters.onnx")
    (tmp_path / "empty").mkdir()
    result = run_cli("export", tmp_path / "empty", "-o", tmp_path / "art")
    _one_line_error(result, "is not a model", code=1)
    assert not (tmp_path / "art").exists()


@pytest.mark.build
def test_export_cli_end_to_end(base_model_path, tmp_path):
    pytest.importorskip("optimum.exporters.onnx")
    out = tmp_path / "art"
    result = run_cli("export", base_model_path, "-o", out)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert result.stdout.decode().strip() == str(out)
    again = run_cli("export", base_model_path, "-o", out)
    _one_line_error(again, "already exists")


@pytest.mark.build
@pytest.mark.parametrize(
    "dims, message",
    [
        ("512,128", "Matryoshka dims 512 are wider than the base model's 384: pass --matryoshka-dims 128"),
        ("0,128", "expected positive comma-separated dims or none, got '0,128'"),
    ],
)
def test_train_refuses_matryoshka_dims_wider_than_the_base(tmp_path, dims, message):
    pytest.importorskip("sentence_transformers")
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"anchor": "seal leak", "positive": "the pump seal leaks"}\n')
    result = run_cli("train", "--data", pairs, "--matryoshka-dims", dims, "--output-dir", tmp_path / "runs")
    _one_line_error(result, message)
    assert not (tmp_path / "runs").exists()


def _toy_beir(folder, qrels="q1\td1\t1\nq2\td2\t1\n"):
    (folder / "qrels").mkdir(parents=True)
    docs = {"d1": "pump seal leak", "d2": "grease the bearing", "d3": "plc alarm", "d4": "motor valve"}
    (folder / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": k, "title": "", "text": v}) + "\n" for k, v in docs.items())
    )
    (folder / "queries.jsonl").write_text(
        '{"_id": "q1", "text": "seal leak"}\n{"_id": "q2", "text": "bearing grease"}\n'
    )
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + qrels)
    return folder


def test_eval_table_and_json(toy_artifact, tmp_path):
    data = _toy_beir(tmp_path / "beir")
    table = run_cli("eval", toy_artifact, "--data", data, "--dim", "4")
    assert table.returncode == 0, table.stderr
    assert b"ndcg@10" in table.stdout and b"2 queries, 4 passages" in table.stdout
    report = json.loads(run_cli("eval", toy_artifact, "--data", data, "--json").stdout)
    # Each query's words all belong to its own passage: exact search ranks it first.
    assert report["metrics"]["8"]["recall@1"] == 1.0 and report["metrics"]["8"]["ndcg@10"] == 1.0


def test_eval_with_qrels_naming_missing_passages(toy_artifact, tmp_path):
    data = _toy_beir(tmp_path / "beir", qrels="q1\td1\t1\nq2\td99\t1\n")
    _one_line_error(run_cli("eval", toy_artifact, "--data", data), "1 corpus ids not in corpus.jsonl (d99)")


def test_quantize_rejects_unknown_method_before_work(toy_artifact, tmp_path):
    pytest.importorskip("onnx")
    result = run_cli("quantize", toy_artifact, "-o", tmp_path / "q", "--method", "int9")
    _one_line_error(result, "unknown method 'int9'; allowed: dynamic-int8, static-int8, fp16, int4-weights")
    assert not (tmp_path / "q").exists()


def test_quantize_says_when_fallback_cannot_apply(tmp_path):
    """--fallback without --eval has no gate to fail: the command still quantizes and says so, in one note."""
    pytest.importorskip("onnx")
    parent = make_toy_artifact(tmp_path / "toy", with_matmul=True)
    result = run_cli("quantize", parent, "-o", tmp_path / "q", "--fallback")
    assert result.returncode == 0, result.stderr
    assert "--fallback has no effect without --eval" in result.stderr.decode()
    assert (tmp_path / "q" / "edge_embed.json").is_file()
    quiet = run_cli("quantize", parent, "-o", tmp_path / "q2")
    assert quiet.returncode == 0 and "fallback" not in quiet.stderr.decode()
