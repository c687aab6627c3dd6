"""End to end on real data: a tiny training run, its export and a gated int8 child, benchmarked. Every row resolves
to the run, and the benchmark's accuracy equals what the gate and the run recorded (one metrics implementation)."""

import json

import pytest

pytest.importorskip("torch", reason="training needs the [build] extra")
pytest.importorskip("optimum.exporters.onnx", reason="export needs the [build] extra")
pytest.importorskip("onnxruntime.quantization")

from edge_embed.cli.main import main  # noqa: E402
from edge_embed.data import load_beir  # noqa: E402
from edge_embed.export import export_artifact  # noqa: E402
from edge_embed.lineage import read_manifest, resolve_lineage  # noqa: E402
from edge_embed.quantize import QuantizationConfig, quantize_artifact  # noqa: E402
from edge_embed.train import DataSource, preset, train  # noqa: E402

pytestmark = pytest.mark.build


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGE_EMBED_CACHE", str(tmp_path / "cache"))


@pytest.mark.slow
def test_rows_trace_to_the_run_and_match_gate_and_run_metrics(medquad_mini, tmp_path, capsys):
    config = preset(
        "tiny",
        data=(DataSource(str(medquad_mini), "train", "CC-BY-4.0"),),
        output_dir=str(tmp_path / "runs"),
        max_seq_length=64,
    )
    run = train(config, show_progress=False)
    record = json.loads((run / "run.json").read_text())
    fp32 = export_artifact(run, tmp_path / "fp32")
    test_split = load_beir(medquad_mini, "test")
    int8 = quantize_artifact(
        fp32, tmp_path / "int8", QuantizationConfig.for_target("dynamic-int8"), eval_dataset=test_split, max_drop=0.1
    ).path
    gate = read_manifest(int8).checks["gate"]

    assert main(["lineage", str(int8)]) == 0
    tree = capsys.readouterr().out
    assert f"run {record['run_id']}" in tree and "· data" in tree and tree.count("[ok]") == 5
    assert resolve_lineage(int8).summary()["data"][0]["license"] == "CC-BY-4.0"

    out = tmp_path / "report"
    args = ["bench", str(fp32), str(int8), "--data", str(medquad_mini), "--split", "test", "-o", str(out)]
    assert main([*args, "--rounds", "2", "--latency-queries", "10", "--throughput-texts", "8", "--no-cache"]) == 0
    rows = {row["label"]: row for row in json.loads((out / "report.json").read_text())["rows"]}
    for row in rows.values():
        assert row["lineage"]["run_id"] == record["run_id"]
        assert row["lineage"]["base_model"]["weights_sha256"] == record["base_model"]["weights_sha256"]
        assert row["lineage"]["data"][0]["files"] == record["data"][0]["files"]
    assert rows["int8"]["lineage"]["quantization"]["method"] == "dynamic-int8"
    for name, value in gate["parent"].items():
        assert rows["fp32"]["metrics"][name] == pytest.approx(value, abs=1e-6)
        assert rows["int8"]["metrics"][name] == pytest.approx(gate["child"][name], abs=1e-6)
    # The run scored the same checkpoint with sentence-transformers (torch); the export reproduces it to
    # cosine 0.9999, so the rankings, and with them the metrics, are the same.
    for name, value in record["metrics"]["finetuned"]["test"]["384"].items():
        assert rows["fp32"]["metrics"][name] == pytest.approx(value, abs=1e-6)


def test_reference_row_runs_the_checkpoint_with_sentence_transformers(minilm_artifact, medquad_mini, tmp_path):
    out = tmp_path / "report"
    args = ["bench", str(minilm_artifact), "--data", str(medquad_mini), "--sample", "8", "-o", str(out), "--reference"]
    assert main([*args, "--rounds", "1", "--latency-queries", "5", "--throughput-texts", "8"]) == 0
    ours, reference = json.loads((out / "report.json").read_text())["rows"]
    assert reference["kind"] == "reference" and reference["precision"] == "fp32 (torch)"
    assert reference["cold_start"]["peak_rss_mb"]["median"] > ours["cold_start"]["peak_rss_mb"]["median"]
    comparison = ours["vs_reference"]
    assert abs(comparison["ndcg@10_delta"]) < 1e-3
    p50 = {r["kind"]: r["latency_ms"]["p50"]["median"] for r in (ours, reference)}
    assert comparison["p50_speedup"] == pytest.approx(p50["reference"] / p50["artifact"])
    assert "Against sentence-transformers" in (out / "report.md").read_text()
