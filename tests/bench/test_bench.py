"""Benchmark and lineage on toy artifacts (lean): report files, numbers that agree with ``eval``, broken links."""

import json
import struct

import pytest

from edge_embed import Embedder
from edge_embed.bench import BenchSettings, recommend, run_bench
from edge_embed.bench.report import pareto_front
from edge_embed.cli.main import main
from edge_embed.data import load_beir
from edge_embed.errors import InputError, LineageError
from edge_embed.eval.retrieval import evaluate_artifact
from edge_embed.lineage import manifest_sha256, resolve_lineage
from edge_embed.lineage.manifest import Pooling
from edge_embed.records import BenchReport, RowKind
from tests.helpers.records import bench_row
from tests.helpers.toy import make_toy_artifact

FAST = ["--rounds", "2", "--latency-queries", "5", "--throughput-texts", "4", "--batch-size", "2"]
PASSAGES = {
    "d1": "the pump seal is a leak",
    "d2": "grease the bearing of the motor",
    "d3": "plc alarm of the valve",
    "d4": "the motor is a pump",
    "d5": "valve seal leak",
    "d6": "bearing grease of a pump",
}
QUERIES = {"q1": "pump seal leak", "q2": "bearing grease", "q3": "plc alarm", "q4": "motor pump"}
QRELS = {"q1": "d1", "q2": "d2", "q3": "d3", "q4": "d4"}


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGE_EMBED_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def toy_data(tmp_path):
    folder = tmp_path / "toydata"
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": k, "title": "", "text": v}) + "\n" for k, v in PASSAGES.items())
    )
    (folder / "queries.jsonl").write_text("".join(json.dumps({"_id": k, "text": v}) + "\n" for k, v in QUERIES.items()))
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t1\n" for q, d in QRELS.items())
    )
    return folder


@pytest.fixture
def parent_and_child(tmp_path):
    """A toy 'export' and a toy child linked to it the way ``quantize`` links them."""
    parent = make_toy_artifact(tmp_path / "fp32")
    child = make_toy_artifact(
        tmp_path / "int8",
        pooling=Pooling.MAX,  # a child that embeds differently from its parent, so swapped rows would show
        parent={"manifest_sha256": manifest_sha256(parent), "path": str(parent), "precision": "fp32"},
        options={"quantization": {"method": "dynamic-int8"}},
    )
    return parent, child


def flip_byte(path, offset=-20):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_lineage_walks_child_to_parent_and_checks_hashes(parent_and_child):
    parent, child = parent_and_child
    lineage = resolve_lineage(child)
    assert [link.kind for link in lineage.links[:2]] == ["artifact", "artifact"]
    assert [link.status for link in lineage.links[:2]] == ["ok", "ok"]
    assert lineage.links[1].identity == manifest_sha256(parent)
    assert lineage.summary()["quantization"] == {"method": "dynamic-int8"}
    lineage.check()


@pytest.mark.parametrize("damage", ["model byte", "parent manifest", "deleted parent"])
def test_broken_parent_is_reported_by_lineage_and_bench(parent_and_child, toy_data, tmp_path, capsys, damage):
    parent, child = parent_and_child
    if damage == "model byte":
        flip_byte(parent / "model.onnx")
        expected = "does not match its manifest"
    elif damage == "parent manifest":
        manifest = json.loads((parent / "edge_embed.json").read_text())
        manifest["max_seq_length"] = 15  # re-exported with other settings: the child's link no longer holds
        (parent / "edge_embed.json").write_text(json.dumps(manifest))
        expected = "is not the"
    else:
        import shutil

        shutil.rmtree(parent)
        expected = "missing"
    assert main(["lineage", str(child)]) == 1
    out, err = capsys.readouterr()
    assert "broken lineage" in err and expected in err and len(err.strip().splitlines()) == 1
    assert "[ok]" in out.splitlines()[0]  # the child itself is intact

    assert main(["bench", str(child), "--data", str(toy_data), "-o", str(tmp_path / "r"), *FAST]) == 1
    assert "broken lineage" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()

    assert (
        main(
            [
                "bench",
                str(child),
                "--data",
                str(toy_data),
                "-o",
                str(tmp_path / "r"),
                "--allow-broken-lineage",
                "--no-cold-start",
                *FAST,
            ]
        )
        == 0
    )
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["rows"][0]["lineage"]["status"] == "broken"


def test_bench_writes_three_reports_with_numbers_that_agree_with_eval(parent_and_child, toy_data, tmp_path, capsys):
    parent, child = parent_and_child
    out = tmp_path / "report"
    code = main(
        [
            "bench",
            str(parent),
            str(child),
            "--data",
            str(toy_data),
            "--dims",
            "4",
            "-o",
            str(out),
            "--budget-ms",
            "10000",
            *FAST,
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "Deploy" in printed and str(out) in printed
    report = json.loads((out / "report.json").read_text())
    assert report["schema"] == "edge-embed.bench-report" and report["schema_version"] == 1
    assert BenchReport.read(out).to_dict() == report  # the typed read keeps every field the writer wrote
    assert report["machine"]["threads"] >= 1 and "onnxruntime" in report["machine"]["versions"]
    assert [(r["label"], r["dim"]) for r in report["rows"]] == [("fp32", 8), ("fp32@4", 4), ("int8", 8), ("int8@4", 4)]

    dataset = load_beir(toy_data, "test")
    expected = {
        "fp32": evaluate_artifact(Embedder.load(parent), dataset, dims=[4]),
        "int8": evaluate_artifact(Embedder.load(child), dataset, dims=[4]),
    }
    assert expected["fp32"][8] != expected["int8"][8]  # the check below can tell the two apart
    for row in report["rows"]:
        for name, value in expected[row["artifact"]][row["dim"]].items():
            assert row["metrics"][name] == pytest.approx(value, abs=1e-9)
    for row in report["rows"]:
        lat = row["latency_ms"]
        assert 0 < lat["p50"]["median"] <= lat["p95"]["median"] <= lat["p99"]["median"]
        assert lat["p50"]["rounds"] == 2 and row["latency_calls"] == 10
        assert row["throughput"]["texts_per_s"]["median"] > 0 and row["throughput"]["short_texts_per_s"]["median"] > 0
        assert row["cold_start"]["seconds"]["median"] > 0 and row["cold_start"]["peak_rss_mb"]["median"] > 10
        assert row["size_mb"] > 0 and len(row["identity"]) == 64
    assert report["rows"][2]["lineage"]["chain"][1]["identity"] == manifest_sha256(parent)
    assert report["recommendation"]["label"] in {r["label"] for r in report["rows"]}

    markdown = (out / "report.md").read_text()
    assert "fp32@4" in markdown and "## Lineage" in markdown and "sampled" not in markdown
    png = (out / "pareto.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width > 300 and height > 200


def test_sampled_bench_says_so(parent_and_child, toy_data, tmp_path):
    parent, _ = parent_and_child
    assert (
        main(
            [
                "bench",
                str(parent),
                "--data",
                str(toy_data),
                "--sample",
                "2",
                "--no-cold-start",
                "-o",
                str(tmp_path / "r"),
                *FAST,
            ]
        )
        == 0
    )
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["dataset"]["sampled"]["queries"] == 2 and report["dataset"]["queries"] == 2
    assert "sampled" in (tmp_path / "r" / "report.md").read_text()


def test_existing_report_folder_is_refused_before_measuring(parent_and_child, toy_data, tmp_path, capsys):
    (tmp_path / "r").mkdir()
    parent, _ = parent_and_child
    assert main(["bench", str(parent), "--data", str(toy_data), "-o", str(tmp_path / "r"), *FAST]) == 2
    assert "already exists" in capsys.readouterr().err


def test_run_bench_refuses_broken_lineage_in_the_api_too(parent_and_child, toy_data):
    parent, child = parent_and_child
    flip_byte(parent / "model.onnx")
    with pytest.raises(LineageError, match="broken lineage"):
        run_bench([child], load_beir(toy_data, "test"), settings=BenchSettings(rounds=1, cold_start=False))


def test_pareto_front_and_recommendation():
    rows = [
        bench_row("fast", 2.0, 0.80, rss=90),
        bench_row("slow-good", 8.0, 0.90),
        bench_row("dominated", 9.0, 0.85),
        bench_row("mid", 4.0, 0.88),
    ]
    assert [r.label for r in pareto_front(rows)] == ["fast", "slow-good", "mid"]
    assert recommend(rows) is None

    def pick(candidates=rows, **budgets):
        choice = recommend(candidates, **budgets)
        assert choice is not None
        return choice.label

    assert pick(budget_ms=5) == "mid"
    assert pick(budget_ms=5, budget_mb=95) == "fast"
    assert pick(min_ndcg=0.85) == "mid"
    assert pick(budget_ms=1) is None
    assert pick([bench_row("ref", 1.0, 0.99, kind=RowKind.REFERENCE), *rows], budget_ms=3) == "fast"


def test_recommendation_without_budgets_keeps_accuracy_of_the_baseline():
    rows = [
        bench_row("fp32", 8.0, 0.900),
        bench_row("int8", 3.0, 0.893),
        bench_row("int4", 2.0, 0.850),
        bench_row("ref", 1.0, 0.99, kind=RowKind.REFERENCE),
    ]
    choice = recommend(rows, baseline="/a/fp32")
    assert choice is not None and choice.label == "int8"
    assert choice.reason == "fastest p95 with NDCG@10 within 1% of fp32"
    labels = {
        (drop, budget): getattr(recommend(rows, budget_ms=budget, baseline="/a/fp32", max_drop=drop), "label", None)
        for drop, budget in ((0.06, None), (0.0, None), (0.01, 2.5))
    }
    assert labels == {(0.06, None): "int4", (0.0, None): "fp32", (0.01, 2.5): "int4"}  # budgets take precedence
    with pytest.raises(InputError, match="baseline /a/gone is not among the benchmarked artifacts"):
        recommend(rows, baseline="/a/gone")


def test_workload_picks_take_the_fastest_per_workload_among_the_accurate():
    from dataclasses import replace

    from edge_embed.bench.report import markdown, workload_picks
    from tests.helpers.records import bench_report, steady

    documents = replace(bench_row("ov-int8", 4.0, 0.900), throughput=steady(70.0), short_throughput=steady(900.0))
    queries = replace(bench_row("ort-int8", 2.0, 0.895), throughput=steady(45.0), short_throughput=steady(1000.0))
    static = replace(bench_row("static", 0.1, 0.600), throughput=steady(2000.0), short_throughput=steady(9000.0))
    narrow = replace(bench_row("ov-int8", 1.0, 0.9), label="ov-int8@4", dim=4, throughput=steady(99.0))
    picks = {p.workload: p for p in workload_picks([documents, queries, static, narrow])}
    assert picks["documents"].label == "ov-int8" and picks["documents"].value == 70.0  # static: too inaccurate
    assert picks["short texts"].label == "ort-int8" and picks["batch-1 queries"].label == "ort-int8"
    assert picks["batch-1 queries"].value == 1.0  # p50 of the row (half its p95)
    names = ("ndcg@10", "mrr@10", "recall@1", "recall@10", "recall@100", "map@100")
    report = bench_report([replace(r, metrics=dict.fromkeys(names, r.ndcg)) for r in (documents, queries, static)])
    machine = {"cpu": "test cpu", "flags": [], "threads": 2, "cores_usable": 2, "versions": {}}
    text = markdown(replace(report, machine=machine, settings={"rounds": 3, "latency_queries": 10, "batch_size": 32}))
    assert "## Per workload" in text and "- documents: ov-int8 (70.0 passages/s)" in text
    assert workload_picks([bench_row("old", 2.0, 0.9)])[1].workload == "batch-1 queries"  # no short texts measured
    # per-tensor int8, fastest everywhere: picked for one query per call only (its batched vectors move with batch-mates)
    per_tensor = replace(
        bench_row("pt", 0.5, 0.9, precision="int8-dynamic-per-tensor-O2", batch_invariant=False),
        throughput=steady(99.0),
        short_throughput=steady(2000.0),
    )
    picks = {p.workload: p.label for p in workload_picks([documents, queries, per_tensor])}
    assert picks == {"documents": "ov-int8", "short texts": "ort-int8", "batch-1 queries": "pt"}
    assert workload_picks([per_tensor])[0].label == "pt"  # the only candidate is still picked
