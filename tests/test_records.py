"""RunRecord: the typed read of run.json that the CLI, pipeline, tracking and registry share."""

import json

import pytest

from edge_embed.errors import ArtifactError
from edge_embed.records import RUN_RECORD, RunRecord, RunStatus
from edge_embed.tables import base_vs_finetuned_table


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
}


def write(tmp_path, data) -> None:
    (tmp_path / RUN_RECORD).write_text(data if isinstance(data, str) else json.dumps(data))


def test_reads_fields_and_round_trips(tmp_path):
    write(tmp_path, RECORD)
    record = RunRecord.read(tmp_path)
    assert record.status is RunStatus.FINISHED and record.run_id == "maintenance-tiny-1"
    assert record.wall_time.training == 240.0 and record.best_checkpoint == "checkpoint-8"
    assert record.extra == {"config": {"seed": 42}}
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
    ],
)
def test_malformed_records_name_the_file_and_field(tmp_path, data, message):
    write(tmp_path, data)
    with pytest.raises(ArtifactError, match=message) as caught:
        RunRecord.read(tmp_path)
    assert str(tmp_path / RUN_RECORD) in str(caught.value) and "\n" not in str(caught.value)


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
