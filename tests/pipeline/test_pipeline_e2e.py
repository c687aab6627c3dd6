"""The main job end to end: quickstart on the bundled sample, a cached rerun, a partial rerun after a settings
change, the deployable artifact loaded where torch cannot be imported, MLflow tracking to a local store, and a
refresh from user feedback."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the pipeline trains: needs the [build] extra")
pytest.importorskip("optimum.exporters.onnx", reason="the pipeline exports: needs the [build] extra")

from edge_embed.cli.main import main  # noqa: E402
from edge_embed.records import RunRecord  # noqa: E402
from edge_embed.registry import Registry  # noqa: E402

pytestmark = [pytest.mark.build, pytest.mark.slow]  # end-to-end pipeline runs

NO_TORCH = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "transformers", "optimum", "sentence_transformers"):
            raise ImportError(f"{name} is blocked on this device")
sys.meta_path.insert(0, Block())
from edge_embed import Embedder
vectors = Embedder.load(sys.argv[1]).embed(["PLC alarm E-4711 encoder lost"], kind="query")
print(vectors.shape[1])
"""


def stage_status(out: str, stage: str) -> str:
    """The status column of a stage in the pipeline's stage table."""
    for line in out.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if cells[0] == stage:
            return cells[1]
    raise AssertionError(f"no stage {stage!r} in:\n{out}")


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    workspace = tmp_path_factory.mktemp("quickstart")
    assert main(["quickstart", "--workspace", str(workspace)]) == 0
    return workspace


def test_quickstart_prints_tables_and_a_lean_deployable_artifact(quickstart):
    workspace = quickstart
    report = json.loads((workspace / "reports" / "maintenance" / "report.json").read_text())
    precisions = sorted(r["precision"] for r in report["rows"])
    assert precisions[0] == "fp32" and precisions[1].startswith("int8-dynamic") and len(precisions) == 2
    (run,) = [d for d in (workspace / "runs").iterdir() if (d / "run.json").is_file()]  # beside .base-metrics/
    record = json.loads((run / "run.json").read_text())
    test = next(c for c in RunRecord.from_dict(record).comparisons() if c.split == "test")
    assert test.finetuned["ndcg@10"] >= test.base["ndcg@10"] + 0.05, "the sample should show a clear domain gain"
    assert record["data"][0]["license"] == "CC0-1.0" and record["status"] == "finished"
    assert all(r["lineage"]["run_id"] == record["run_id"] for r in report["rows"])
    with Registry.for_workspace(workspace) as registry:
        assert [r["run_id"] for r in registry.runs()] == [record["run_id"]]
        assert len(registry.artifacts()) == 2 and all(a["ndcg"] for a in registry.artifacts())
    deployable = workspace / "artifacts" / "maintenance-dynamic-int8"
    from edge_embed.errors import InputError
    from edge_embed.lifecycle.profile import DriftProfile

    profile = DriftProfile.load(workspace / "profiles" / "maintenance-dynamic-int8.npz", deployable)
    assert profile.sample.vectors.shape == (160, 384), "every passage of the sample's corpus"
    with pytest.raises(InputError, match="was made with artifact"):
        DriftProfile.load(
            workspace / "profiles" / "maintenance-dynamic-int8.npz", workspace / "artifacts" / "maintenance-fp32"
        )
    out = subprocess.run([sys.executable, "-c", NO_TORCH, str(deployable)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "384"


def test_rerun_is_cached_and_a_quantization_change_reruns_only_what_depends_on_it(quickstart, capsys):
    workspace = quickstart
    config = workspace / "quickstart.toml"
    assert main(["pipeline", str(config)]) == 0
    out = capsys.readouterr().out
    for stage in ("train", "export", "quantize dynamic-int8", "drift profiles", "bench"):
        assert stage_status(out, stage) == "cached"
    assert "deployable artifact:" in out and "Base vs finetuned" in out

    config.write_text(config.read_text().replace("max_drop = 0.02", "max_drop = 0.03"))
    assert main(["pipeline", str(config)]) == 0
    out = capsys.readouterr().out
    assert [stage_status(out, s) for s in ("train", "export", "quantize dynamic-int8", "bench")] == [
        "cached",
        "cached",
        "done",
        "done",
    ]


def test_mlflow_tracking_to_a_local_sqlite_store(quickstart, capsys):
    mlflow = pytest.importorskip("mlflow", reason="MLflow tracking needs the [mlflow] extra")
    workspace = quickstart
    config = workspace / "quickstart.toml"
    uri = f"sqlite:///{workspace / 'mlflow.db'}"
    config.write_text(config.read_text() + f'\n[mlflow]\ntracking_uri = "{uri}"\nexperiment = "quickstart"\n')
    assert main(["pipeline", str(config)]) == 0
    assert stage_status(capsys.readouterr().out, "mlflow") == "done"
    client = mlflow.MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("quickstart").experiment_id])
    assert len(runs) == 1
    data = runs[0].data
    assert data.params["train.preset"] == "tiny" and data.tags["edge_embed.run_id"].startswith("maintenance-tiny-")
    assert 0 < data.metrics["finetuned.test.384.ndcg_at_10"] <= 1
    assert "bench.maintenance-dynamic-int8.p95_ms" in data.metrics
    logged = {f.path for f in client.list_artifacts(runs[0].info.run_id, "report")}
    assert logged == {"report/report.json", "report/report.md", "report/pareto.png"}
    assert main(["pipeline", str(config)]) == 0  # logged once: a rerun with nothing new is cached
    assert stage_status(capsys.readouterr().out, "mlflow") == "cached"


def test_refresh_from_feedback_makes_a_child_artifact_with_lineage_and_a_comparison(quickstart, capsys):
    """Feedback on the dev queries, fed through ``pipeline --feedback``: the deployed checkpoint is finetuned, the
    new artifact's lineage names the one it refreshes, and the report compares the two."""
    from edge_embed.lineage.chain import LinkKind, resolve_lineage
    from edge_embed.lineage.manifest import manifest_sha256
    from edge_embed.pipeline.refresh import REFRESH_FILE
    from edge_embed.records.bench import BenchReport
    from edge_embed.samples import maintenance_dataset

    workspace = quickstart
    data = maintenance_dataset()
    queries = {r["_id"]: r["text"] for r in map(json.loads, (data / "queries.jsonl").read_text().splitlines())}
    qrels = [line.split("\t")[:2] for line in (data / "qrels" / "dev.tsv").read_text().splitlines()[1:]]
    feedback = workspace / "feedback.jsonl"
    feedback.write_text(
        "".join(json.dumps({"query": queries[q], "passage_id": c, "relevant": "yes"}) + "\n" for q, c in qrels)
    )
    assert main(["feedback", "import", str(feedback), "--workspace", str(workspace), "--corpus", str(data)]) == 0
    # The deployed artifact is the one the quickstart's bench recommends: fp32 or int8, timing decides.
    deployed = Path(BenchReport.read(workspace / "reports" / "maintenance").recommendation.path)
    deployed_sha = manifest_sha256(deployed)
    config = workspace / "quickstart.toml"
    assert main(["pipeline", str(config), "--feedback", str(workspace)]) == 0
    out = capsys.readouterr().out
    assert stage_status(out, "train") == "done" and f"Refresh: {deployed.name} -> maintenance-refresh-" in out

    name = f"maintenance-refresh-{deployed_sha[:8]}"
    comparison = json.loads((workspace / "reports" / name / REFRESH_FILE).read_text())
    # The new deployable is whichever refreshed artifact the bench recommends (fp32 or int8: timing decides).
    assert comparison["old"]["path"] == str(deployed) and Path(comparison["new"]["path"]).name.startswith(f"{name}-")
    assert comparison["feedback_pairs"]["pairs"] == len(qrels)
    assert comparison["new"]["feedback_ndcg"] > comparison["old"]["feedback_ndcg"] + 0.1
    assert comparison["new"]["test_ndcg"] >= comparison["old"]["test_ndcg"] - 0.01, "no loss on held-out queries"
    assert manifest_sha256(deployed) == deployed_sha, "the deployed artifact is left as it was"

    lineage = resolve_lineage(comparison["new"]["path"])
    assert not lineage.problems()
    refreshed = next(link for link in lineage.links if link.kind is LinkKind.REFRESHED)
    assert refreshed.identity == deployed_sha and refreshed.path == str(deployed)
    run = next(link for link in lineage.links if link.kind is LinkKind.RUN)
    assert [s["license"] for s in run.facts["data"]] == ["CC0-1.0", "user-feedback"]

    assert main(["pipeline", str(config), "--feedback", str(workspace)]) == 0
    out = capsys.readouterr().out
    assert [stage_status(out, s) for s in ("train", "export", "quantize dynamic-int8", "bench")] == ["cached"] * 4


def test_a_folder_with_only_training_pairs_is_gated_and_benched_on_the_carved_slice(tmp_path, capsys):
    """A user's folder with train qrels alone: the run carves dev/test, the int8 gate reads the carved dev split
    and the bench the carved test split, from the run's held-out folder."""
    from edge_embed.lineage.manifest import read_manifest
    from edge_embed.samples import SAMPLE_LICENSE, maintenance_dataset

    source, folder = maintenance_dataset(), tmp_path / "own"
    (folder / "qrels").mkdir(parents=True)
    for name in ("corpus.jsonl", "queries.jsonl"):
        (folder / name).write_bytes((source / name).read_bytes())
    rows = [line for split in ("train", "dev", "test") for line in (source / "qrels" / f"{split}.tsv").open()]
    (folder / "qrels" / "train.tsv").write_text(rows[0] + "".join(r for r in rows if not r.startswith("query-id")))
    config = tmp_path / "own.toml"
    config.write_text(
        f'[pipeline]\nname = "own"\nworkspace = "ws"\n[data]\npath = "{folder.as_posix()}"\nlicense = "{SAMPLE_LICENSE}"\n'
        '[train]\npreset = "tiny"\nepochs = 2\nmax_seq_length = 128\n'
        '[[quantize]]\nmethod = "dynamic-int8"\nmax_drop = 0.05\nauto = true\n'
        "[bench]\nrounds = 1\nlatency_queries = 10\nthroughput_texts = 16\n"
    )
    assert main(["pipeline", str(config)]) == 0
    assert stage_status(capsys.readouterr().out, "quantize dynamic-int8") == "done"
    (run,) = [d for d in (tmp_path / "ws" / "runs").iterdir() if (d / "run.json").is_file()]
    held_out = json.loads((run / "run.json").read_text())["held_out"]
    gate = read_manifest(tmp_path / "ws" / "artifacts" / "own-dynamic-int8").checks["gate"]
    assert gate["dataset"]["split"] == "dev" and gate["dataset"]["queries"] == held_out["dev"]["queries"]
    report = json.loads((tmp_path / "ws" / "reports" / "own" / "report.json").read_text())
    assert report["dataset"]["path"] == str(run / "held-out") and report["dataset"]["split"] == "test"
    assert report["dataset"]["queries"] == held_out["test"]["queries"]
