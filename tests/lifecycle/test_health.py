"""Health: feedback quality against the benchmarked NDCG@10 of the artifact's own bench report, and drift."""

import csv
import json
import random

import pytest

from edge_embed.cli.main import main
from edge_embed.errors import InputError
from edge_embed.lifecycle.feedback import Judgment
from edge_embed.lifecycle.health import Health, check_health
from edge_embed.samples import maintenance_dataset

FAST = ["--rounds", "2", "--latency-queries", "5", "--throughput-texts", "4", "--batch-size", "8", "--no-cold-start"]


def feedback_from_qrels(split, shuffle=False):
    """Judgments as users would give them: each test query's relevant passage marked relevant."""
    folder = maintenance_dataset()
    queries = {json.loads(line)["_id"]: json.loads(line)["text"] for line in (folder / "queries.jsonl").open()}
    with open(folder / "qrels" / f"{split}.tsv", newline="") as handle:
        pairs = [(row["query-id"], row["corpus-id"]) for row in csv.DictReader(handle, delimiter="\t")]
    passages = [cid for _, cid in pairs]
    if shuffle:  # feedback that disagrees with the model: the "relevant" passages are other queries'
        random.Random(0).shuffle(passages)
    return [Judgment(queries[q], True, passage_id=c) for (q, _), c in zip(pairs, passages, strict=True)]


def bench(artifact, out):
    command = ["bench", str(artifact), "--data", str(maintenance_dataset()), "--split", "test", "-o", str(out)]
    assert main([*command, *FAST]) == 0
    return out


@pytest.fixture
def report(toy_artifact, tmp_path):
    return bench(toy_artifact, tmp_path / "report")


@pytest.mark.build
def test_the_real_model_reads_healthy_on_matching_feedback_and_degraded_on_contrary_feedback(minilm_artifact, tmp_path):
    report = bench(minilm_artifact, tmp_path / "report")
    health = check_health(minilm_artifact, feedback_from_qrels("test"), maintenance_dataset(), report=report)
    assert health.verdict is Health.HEALTHY and health.feedback_queries == 40
    assert health.feedback_ndcg == pytest.approx(health.benchmarked_ndcg, abs=0.01)  # same queries and labels
    contrary = check_health(
        minilm_artifact, feedback_from_qrels("test", shuffle=True), maintenance_dataset(), report=report
    )
    assert contrary.verdict is Health.DEGRADED and contrary.relative_drop > 0.5
    assert f"below the benchmarked {contrary.benchmarked_ndcg:.4f}" in contrary.reasons[0]


def test_health_cli_exit_code_and_bad_input(toy_artifact, report, tmp_path, capsys):
    good = tmp_path / "good.jsonl"
    good.write_text(
        "".join(
            json.dumps({"query": j.query, "passage_id": j.passage_id, "relevant": 1}) + "\n"
            for j in feedback_from_qrels("test")
        )
    )
    workspace = tmp_path / "ws"
    assert (
        main(["feedback", "import", str(good), "--corpus", str(maintenance_dataset()), "--workspace", str(workspace)])
        == 0
    )
    args = ["health", str(toy_artifact), "--corpus", str(maintenance_dataset()), "--workspace", str(workspace)]
    assert main([*args, "--report", str(report)]) == 0
    assert "verdict: healthy" in capsys.readouterr().out
    assert main([*args, "--report", str(report), "--row", "nope"]) == 2
    assert "pass --row with one of" in capsys.readouterr().err
    assert (
        main(
            [
                "health",
                str(toy_artifact),
                "--corpus",
                str(maintenance_dataset()),
                "--workspace",
                str(tmp_path / "empty"),
            ]
        )
        == 2
    )
    with pytest.raises(InputError, match="at least 5 queries"):
        check_health(toy_artifact, feedback_from_qrels("test")[:3], maintenance_dataset())
