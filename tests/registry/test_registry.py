"""The SQLite registry: indexed from folders on disk, sorted listings, and two processes writing at once."""

import json
import subprocess
import sys
import textwrap

import pytest

from edge_embed.cli.main import main
from edge_embed.errors import InputError
from edge_embed.lineage import manifest_sha256
from edge_embed.registry import Registry, registry_path
from tests.conftest import ROOT
from tests.helpers.records import bench_report, bench_row
from tests.helpers.toy import make_toy_artifact


def fake_report(folder, rows):
    folder.mkdir(parents=True)
    report = bench_report([bench_row(label, p95, ndcg, identity=sha, rss=None) for label, sha, ndcg, p95 in rows])
    (folder / "report.json").write_text(json.dumps(report.to_dict()))


@pytest.fixture
def workspace(tmp_path):
    a = make_toy_artifact(tmp_path / "artifacts" / "a")
    b = make_toy_artifact(tmp_path / "artifacts" / "b", options={"variant": "b"})
    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    (run / "run.json").write_text(
        json.dumps(
            {
                "run_id": "r1",
                "status": "finished",
                "created_at": "2026-11-27",
                "metrics": {"base": {"test": {"8": {"ndcg@10": 0.5}}}, "finetuned": {"test": {"8": {"ndcg@10": 0.7}}}},
            }
        )
    )
    (run / "checkpoint-1").mkdir()
    (run / "checkpoint-1" / "run.json").write_text("not indexed: inside a run")
    fake_report(
        tmp_path / "reports" / "one", [("a", manifest_sha256(a), 0.6, 9.0), ("b", manifest_sha256(b), 0.8, 3.0)]
    )
    (tmp_path / "artifacts" / ".c.partial-x").mkdir()  # an unfinished export: never indexed
    return tmp_path


def test_rebuild_indexes_folders_and_lists_sorted(workspace, capsys):
    assert main(["registry", "rebuild", "--workspace", str(workspace)]) == 0
    assert "1 runs, 2 artifacts, 1 reports" in capsys.readouterr().out
    assert registry_path(workspace).is_file()
    with Registry.for_workspace(workspace) as registry:
        assert [r["name"] for r in registry.artifacts("ndcg")] == ["b", "a"]
        assert [r["name"] for r in registry.artifacts("p95")] == ["b", "a"]
        assert registry.runs()[0]["finetuned_ndcg"] == 0.7
        shown = registry.artifact("a")
        assert shown["bench"][0]["ndcg"] == 0.6 and shown["manifest"]["max_seq_length"] == 16
        assert registry.artifact(manifest_sha256(workspace / "artifacts" / "b")[:8])["name"] == "b"
        assert registry.artifact(str(workspace / "artifacts" / "a"))["name"] == "a"
        with pytest.raises(InputError, match="no artifact 'zzz'"):
            registry.artifact("zzz")
        with pytest.raises(InputError, match="unknown sort 'size'"):
            registry.artifacts("size")
    assert main(["artifacts", "list", "--sort", "ndcg", "--workspace", str(workspace)]) == 0
    out = capsys.readouterr().out
    assert out.index(" b ") < out.index(" a ") and "toy/test" in out
    assert main(["artifacts", "show", "b", "--workspace", str(workspace)]) == 0
    assert "ndcg@10 0.8000, p95 3.00 ms" in capsys.readouterr().out


def test_rebuild_follows_the_disk(workspace):
    with Registry.for_workspace(workspace) as registry:
        registry.rebuild([workspace])
        import shutil

        shutil.rmtree(workspace / "artifacts" / "a")
        registry.rebuild([workspace])
        assert [r["name"] for r in registry.artifacts()] == ["b"]


def test_missing_registry_says_how_to_make_one(tmp_path, capsys):
    assert main(["runs", "list", "--workspace", str(tmp_path)]) == 2
    assert "registry rebuild" in capsys.readouterr().err


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from edge_embed.registry import Registry
    from tests.helpers.toy import make_toy_artifact

    workspace, tag = Path(sys.argv[1]), sys.argv[2]
    with Registry.for_workspace(workspace) as registry:
        for i in range(25):
            registry.add(make_toy_artifact(workspace / f"{tag}-{i}", options={"i": i}))
    """
)


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    Registry.for_workspace(tmp_path).close()
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), tag], cwd=ROOT) for tag in ("p", "q")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    with Registry.for_workspace(tmp_path) as registry:
        names = {r["name"] for r in registry.artifacts()}
        assert names == {f"{t}-{i}" for t in "pq" for i in range(25)}
        assert registry.integrity() == "ok"
        assert registry._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
