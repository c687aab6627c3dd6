"""RunRecord and BenchReport: the typed reads of run.json and report.json that the CLI, pipeline, tracking and
registry share."""

import json

import pytest

from edge_embed.errors import ArtifactError
from edge_embed.records import (
    RUN_RECORD,
    BenchReport,
    BenchRow,
    Recommendation,
    RowKind,
    RunRecord,
    RunSource,
    RunStatus,
    Spread,
)
from edge_embed.records.sources import describe_sources
from edge_embed.tables import base_vs_finetuned_table
from tests.helpers.records import bench_report, bench_row


def metrics(ndcg: float, recall: float) -> dict:
    return {"ndcg@10": ndcg, "recall@10": recall, "mrr@10": ndcg - 0.01}


RECORD = {
    "run_id": "maintenance-tiny-1",
    "status": "finished",
    "created_at": "2026-12-01T10:00:00+00:00",
    "finished_at": "2026-12-01T10:05:00+00:00",
    "best_checkpoint": "checkpoint-8",
    "config": {"seed": 42},
    "metrics": {
        "base": {"dev": {"384": metrics(0.5, 0.7), "128": metrics(0.4, 0.6)}, "test": {"384": metrics(0.6, 0.8)}},
        "finetuned": {"dev": {"384": metrics(0.6, 0.9), "128": metrics(0.5, 0.8)}, "test": {"384": metrics(0.66, 0.9)}},
    },
    "wall_time_s": {"total": 300.0, "training": 240.0, "evaluation_before_after": 50.0},
    "data": [
        {
            "path": "data/manuals",
            "split": None,
            "license": "internal",
            "files": [{"path": "data/manuals/corpus.jsonl", "sha256": "ab" * 32, "bytes": 1200}],
            "pairs": 300,
            "corpus_only": {"title": 120, "ict": 180},
            "sibling_negatives": 150,
        },
        {
            "path": "logs/queries.txt",
            "split": None,
            "license": None,
            "files": [{"path": "logs/queries.txt", "sha256": "cd" * 32, "bytes": 90}],
            "pairs": 70,
            "query_log": {"queries": 100, "passages": 40, "labelled": 72, "margin": 0.05},
        },
    ],
}


def write(tmp_path, data) -> None:
    (tmp_path / RUN_RECORD).write_text(data if isinstance(data, str) else json.dumps(data))


def test_reads_fields_and_round_trips(tmp_path):
    write(tmp_path, RECORD)
    record = RunRecord.read(tmp_path)
    assert record.status is RunStatus.FINISHED and record.run_id == "maintenance-tiny-1"
    assert record.wall_time.training == 240.0 and record.best_checkpoint == "checkpoint-8"
    assert record.extra == {"config": {"seed": 42}}
    corpus, log = record.data
    assert corpus.corpus_only == {"title": 120, "ict": 180} and corpus.files[0].bytes == 1200
    assert corpus.sibling_negatives == 150 and log.sibling_negatives is None
    assert log.query_log is not None and log.query_log.labelled == 72 and log.kind == "query log"
    again = record.to_dict()
    assert {k: v for k, v in again.items() if k != "schema_version"} == RECORD
    assert RunRecord.from_dict(again) == record


def test_comparisons_pair_base_and_finetuned_per_split_and_dim(tmp_path):
    write(tmp_path, RECORD)
    rows = RunRecord.read(tmp_path).comparisons()
    assert [(c.split, c.dim) for c in rows] == [("dev", "384"), ("dev", "128"), ("test", "384")]
    for c in rows:
        expected = (
            RECORD["metrics"]["finetuned"][c.split][c.dim]["ndcg@10"]
            / RECORD["metrics"]["base"][c.split][c.dim]["ndcg@10"]
            - 1
        )
        assert c.change() == pytest.approx(expected)
    table = base_vs_finetuned_table(RunRecord.read(tmp_path)).splitlines()
    assert table[0].split() == [
        "split",
        "dim",
        "base",
        "ndcg@10",
        "tuned",
        "ndcg@10",
        "change",
        "base",
        "R@10",
        "tuned",
        "R@10",
    ]
    assert table[2].split() == ["dev", "384", "0.5000", "0.6000", "+20.0%", "0.7000", "0.9000"]
    assert len(table) == 2 + len(rows)


def test_a_running_record_without_finetuned_metrics(tmp_path):
    write(tmp_path, {"run_id": "r", "status": "running", "metrics": {"base": RECORD["metrics"]["base"]}})
    record = RunRecord.read(tmp_path)
    assert record.status is RunStatus.RUNNING and record.comparisons() == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "is not a JSON object"),
        ({"status": "finished"}, "has no run_id"),
        ({"run_id": "r", "status": "done"}, "status 'done' is not 'running' or 'finished'"),
        ({"run_id": "r", "schema_version": 99}, "schema_version 99; this edge-embed reads up to 1"),
        ({"run_id": "r", "metrics": {"base": {"dev": {"384": {"ndcg@10": "high"}}}}}, "metrics.base.dev.384 must map"),
        ({"run_id": "r", "metrics": {"finetuned": []}}, "metrics.finetuned must be an object"),
        ({"run_id": "r", "data": {"path": "x"}}, "data must be a list of data sources"),
        ({"run_id": "r", "data": [{"path": "x", "files": [{"path": "x"}]}]}, r"data\[0\].files\[0\] must have"),
        ({"run_id": "r", "data": [{"path": "x", "pairs": -1}]}, r"data\[0\].pairs must be a non-negative integer"),
        (
            {"run_id": "r", "data": [{"path": "x", "query_log": {"queries": 1, "margin": "wide"}}]},
            r"data\[0\].query_log.margin must be a number",
        ),
    ],
)
def test_malformed_records_name_the_file_and_field(tmp_path, data, message):
    write(tmp_path, data)
    with pytest.raises(ArtifactError, match=message) as caught:
        RunRecord.read(tmp_path)
    assert str(tmp_path / RUN_RECORD) in str(caught.value) and "\n" not in str(caught.value)


def test_a_source_describes_itself_in_one_line_and_a_damaged_list_does_not_stop_a_printout():
    corpus, log = (RunSource.from_dict(entry, "data") for entry in RECORD["data"])
    assert corpus.describe() == f"data/manuals (corpus: title, ict, licence internal): corpus.jsonl {'ab' * 6}"
    assert log.describe().startswith("logs/queries.txt (query log, licence not given): queries.txt cdcd")
    assert describe_sources(RECORD["data"], "run.json data") == [corpus.describe(), log.describe()]
    (line,) = describe_sources([{"files": []}], "run.json data")
    assert line == "unreadable (run.json data[0] must be an object with a path)"


def test_missing_record(tmp_path):
    with pytest.raises(ArtifactError, match="is not a training run folder"):
        RunRecord.read(tmp_path)


def test_wall_time_is_checked_and_kept_absent_when_absent(tmp_path):
    write(tmp_path, {"run_id": "r", "status": "running"})
    record = RunRecord.read(tmp_path)
    assert record.wall_time is None and "wall_time_s" not in record.to_dict()
    write(tmp_path, {"run_id": "r", "wall_time_s": {"total": "long"}})
    with pytest.raises(ArtifactError, match="wall_time_s must map phases to seconds"):
        RunRecord.read(tmp_path)


def test_bench_report_round_trips_and_its_rows_answer_by_name(tmp_path):
    report = bench_report([bench_row("fp32", 8.0, 0.9), bench_row("int8", 3.0, 0.88, rss=None)])
    report = BenchReport.from_dict(
        {**report.to_dict(), "recommendation": Recommendation("fastest", "int8", "/a/int8", 8).to_dict()}
    )
    (tmp_path / "report.json").write_text(json.dumps(report.to_dict()))
    again = BenchReport.read(tmp_path)
    assert again == report and again.recommendation == Recommendation("fastest", "int8", "/a/int8", 8)
    fp32, int8 = again.rows
    assert (fp32.p50_ms, fp32.p95_ms, fp32.p99_ms, fp32.peak_rss_mb) == (4.0, 8.0, 12.0, 100.0)
    assert int8.peak_rss_mb is None and int8.ndcg == 0.88 and int8.kind is RowKind.ARTIFACT and int8.full_width
    assert again.full_dim("int8") == 8 and again.threads == 2


def test_a_row_written_before_batch_invariance_was_recorded_reads_it_from_the_precision_label():
    rows = [bench_row("int8", 3.0, 0.9, precision="int8-dynamic-O2"), bench_row("pt", 2.0, 0.9, precision="pt")]
    data = bench_report(rows).to_dict()
    for row in data["rows"]:
        del row["batch_invariant"]
    data["rows"][1]["precision"] = "int8-dynamic-per-tensor-O2"
    old = BenchReport.from_dict(data)
    assert [r.batch_invariant for r in old.rows] == [True, False]
    data["rows"][0]["batch_invariant"] = "yes"
    with pytest.raises(ArtifactError, match=r"rows\[0\]\.batch_invariant must be true or false"):
        BenchReport.from_dict(data)


def test_spread_is_the_median_and_range_of_rounds():
    assert Spread.of([3.0, 1.0, 2.0]) == Spread(2.0, 1.0, 3.0, 3)
    assert Spread.of([1.0, 4.0]).median == 2.5


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.pop("latency_ms"), r"rows\[0\]\.latency_ms must hold p50, p95 and p99"),
        (lambda r: r.update(kind="peer"), r"rows\[0\]\.kind 'peer' is not 'artifact' or 'reference'"),
        (lambda r: r["metrics"].update({"ndcg@10": "0.9"}), r"rows\[0\]\.metrics\.ndcg@10 must be a number"),
        (lambda r: r.update(dim=-1), r"rows\[0\]\.dim must be a non-negative integer"),
        (lambda r: r["throughput"].pop("texts_per_s"), r"rows\[0\]\.throughput\.texts_per_s must be an object"),
    ],
)
def test_a_damaged_row_is_refused_with_the_field_named(tmp_path, change, message):
    data = bench_report([bench_row("fp32", 8.0, 0.9)]).to_dict()
    change(data["rows"][0])
    (tmp_path / "report.json").write_text(json.dumps(data))
    with pytest.raises(ArtifactError, match=message):
        BenchReport.read(tmp_path)


def test_a_file_that_is_not_a_report_is_refused(tmp_path):
    (tmp_path / "report.json").write_text(json.dumps({"rows": []}))
    with pytest.raises(ArtifactError, match="is not an edge-embed benchmark report"):
        BenchReport.read(tmp_path)
    (tmp_path / "report.json").write_text("{")
    with pytest.raises(ArtifactError, match="is not valid JSON"):
        BenchReport.read(tmp_path)
    with pytest.raises(ArtifactError, match="row is not an object"):
        BenchRow.from_dict([1, 2])
