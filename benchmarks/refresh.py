"""The refresh loop on medquad: feedback on half of the dev queries, fed through ``pipeline --feedback``, and NDCG@10
on the other half, before and after; then health on feedback simulated from the test qrels.

1. The deployed artifact: the base model exported and quantized by a pipeline run (``train.skip``), as a site
   deploys before it has labels.
2. Feedback: the qrels of a seeded half of the dev queries ("A"), as relevant judgments in a feedback workspace.
3. The refresh: the pipeline with ``[refresh]`` finetunes the deployed checkpoint on the feedback plus a replay
   sample of the old training pairs. Its checkpoint selection and quantization gate read dev half A (the feedback
   itself), never half B.
4. Measured: NDCG@10 of old and new deployable on dev half B (queries neither saw), over the whole corpus; the
   test split from the refresh's bench report; the new artifact's lineage.
5. Health: judgments from 500 sampled test queries. The refreshed artifact checked against its own benchmark should
   read healthy. The old artifact checked against the refreshed one's benchmark row should read degraded, with the
   drop named.

    python benchmarks/refresh.py       # about 25 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import write_result  # noqa: E402

from edge_embed.data.beir import RetrievalDataset, load_beir  # noqa: E402
from edge_embed.eval.metrics import PRIMARY_METRIC  # noqa: E402
from edge_embed.eval.retrieval import evaluate_artifact  # noqa: E402
from edge_embed.lifecycle.feedback import FeedbackStore, Judgment  # noqa: E402
from edge_embed.lifecycle.health import check_health  # noqa: E402
from edge_embed.lineage.chain import LinkKind, resolve_lineage  # noqa: E402
from edge_embed.pipeline.config import load_pipeline_config  # noqa: E402
from edge_embed.pipeline.runner import run_pipeline  # noqa: E402
from edge_embed.registry import registry_path  # noqa: E402
from edge_embed.runtime import Embedder  # noqa: E402
from edge_embed.tables import format_table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "medquad"
CONFIG = """
[pipeline]
name = "medquad-deployed"
workspace = "{workspace}"

[data]
path = "{data}"
license = "CC-BY-4.0"

[train]
skip = true              # the deployed artifact is the base model; the refresh below trains
preset = "tiny"
epochs = 1
batch_size = 32
learning_rate = 5e-5
max_seq_length = 128
eval_sample = 200

[[quantize]]
method = "dynamic-int8"
gate_sample = 300
max_drop = 0.01

[bench]
split = "test"           # the whole test split over the whole corpus: health compares with these numbers
rounds = 3
latency_queries = 50
throughput_texts = 64
"""
REFRESH = """
[refresh]
feedback = "{feedback}"
artifact = "{artifact}"
replay = {replay}
"""


def split_dev(data: Path, folder: Path, seed: int) -> tuple[RetrievalDataset, RetrievalDataset]:
    """``folder``: medquad with its dev qrels halved by query (``dev`` = half A, ``heldout`` = half B); the corpus,
    queries, train and test qrels linked, not copied."""
    dev = load_beir(data, "dev")
    qids = sorted(dev.queries)
    random.Random(seed).shuffle(qids)
    halves = {"dev": sorted(qids[: len(qids) // 2]), "heldout": sorted(qids[len(qids) // 2 :])}
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    for name in ("corpus.jsonl", "queries.jsonl", "qrels/train.tsv", "qrels/test.tsv"):
        link = folder / name
        if not link.exists():
            link.symlink_to((data / name).resolve())
    for split, chosen in halves.items():
        lines = ["query-id\tcorpus-id\tscore"]
        lines += [f"{q}\t{c}\t1" for q in chosen for c in sorted(dev.relevant_docs[q])]
        (folder / "qrels" / f"{split}.tsv").write_text("\n".join(lines) + "\n")
    return load_beir(folder, "dev"), load_beir(folder, "heldout")


def judgments_of(dataset: RetrievalDataset, user: str) -> list[Judgment]:
    """Every relevant pair of a split, as a user's 'yes, this answered it'."""
    return [
        Judgment(dataset.queries[q], True, passage_id=c, at="2026-12-01T08:00:00+00:00", user=user)
        for q in sorted(dataset.relevant_docs)
        for c in sorted(dataset.relevant_docs[q])
    ]


def ndcg(artifact: Path, dataset: RetrievalDataset) -> float:
    embedder = Embedder.load(artifact)
    return evaluate_artifact(embedder, dataset)[embedder.dim][PRIMARY_METRIC]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/edge-embed-bench/refresh"))
    parser.add_argument("--replay", type=int, default=2000, help="old training pairs mixed into the refresh")
    parser.add_argument("--health-queries", type=int, default=500)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "refresh.json")
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.ERROR)
    started = time.time()

    data = args.workdir / "medquad-halves"
    half_a, half_b = split_dev(args.data, data, args.seed)
    workspace = args.workdir / "workspace"
    config_path = args.workdir / "deployed.toml"
    config_path.write_text(CONFIG.format(workspace=workspace, data=data))
    feedback = args.workdir / "feedback"  # a fresh store each run: the judgments of dev half A
    shutil.rmtree(feedback, ignore_errors=True)
    with FeedbackStore(registry_path(feedback)) as store:
        store.add(judgments_of(half_a, "simulated"), source="benchmarks/refresh.py")

    print(f"1/3 deploying the base model ({time.time() - started:.0f} s)", file=sys.stderr)
    deployed = run_pipeline(load_pipeline_config(config_path), show_progress=True)
    assert deployed.deployable is not None, "the deployed pipeline recommends an artifact"
    print(f"2/3 refreshing {deployed.deployable} ({time.time() - started:.0f} s)", file=sys.stderr)
    refresh_path = args.workdir / "refresh.toml"  # what a user writes: the same pipeline, plus [refresh]
    refresh = REFRESH.format(feedback=feedback, artifact=deployed.deployable, replay=args.replay)
    refresh_path.write_text(config_path.read_text() + refresh)
    refreshed = run_pipeline(load_pipeline_config(refresh_path), show_progress=True)
    assert refreshed.deployable is not None and refreshed.refresh is not None and refreshed.report_dir is not None
    old, new = deployed.deployable, refreshed.deployable

    print(f"3/3 held-out half and health ({time.time() - started:.0f} s)", file=sys.stderr)
    held_out = {"old": ndcg(old, half_b), "new": ndcg(new, half_b)}
    test = {"old": refreshed.refresh.old.test_ndcg, "new": refreshed.refresh.new.test_ndcg}
    lineage = resolve_lineage(new)
    refreshes = next((link for link in lineage.links if link.kind is LinkKind.REFRESHED), None)

    test_split = load_beir(data, "test")
    sample = test_split.sample(args.health_queries, 0, seed=args.seed)
    health_feedback = judgments_of(sample, "simulated-test")
    healthy = check_health(new, health_feedback, data, report=refreshed.report_dir)
    flagged = check_health(old, health_feedback, data, report=refreshed.report_dir, row=refreshed.refresh.new.label)

    rows = [
        [f"dev half B ({len(half_b.queries)} queries, not in the feedback)", held_out["old"], held_out["new"]],
        [f"test ({refreshed.refresh.test_split})", test["old"], test["new"]],
        [
            f"feedback: dev half A ({refreshed.refresh.feedback_queries} queries)",
            refreshed.refresh.old.feedback_ndcg,
            refreshed.refresh.new.feedback_ndcg,
        ],
    ]
    print(f"\nNDCG@10, {old.name} -> {new.name} ({refreshed.refresh.pairs.describe()}):")
    print(format_table(["on", "old", "new"], [[r[0], r[1], r[2]] for r in rows]))
    print("\nHealth on feedback from", len(sample.queries), "test queries:")
    print(
        format_table(
            ["artifact", "verdict", "feedback ndcg@10", "benchmarked", "reason"],
            [
                [new.name, healthy.verdict.value, healthy.feedback_ndcg, healthy.benchmarked_ndcg, healthy.reasons[0]],
                [old.name, flagged.verdict.value, flagged.feedback_ndcg, flagged.benchmarked_ndcg, flagged.reasons[0]],
            ],
        )
    )
    checks = {
        "refresh raises NDCG@10 on the held-out dev half": held_out["new"] > held_out["old"],
        "lineage of the new artifact names the one it refreshes": refreshes is not None
        and refreshes.path == str(old)
        and not lineage.problems(),
        "the refreshed artifact reads healthy on test feedback": healthy.verdict.value == "healthy",
        "the old artifact is flagged against the refreshed one's benchmark": flagged.verdict.value == "degraded"
        and "below the benchmarked" in flagged.reasons[0],
    }
    for check, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {check}")
    write_result(
        args.out,
        "refresh",
        {
            "data": str(args.data),
            "seed": args.seed,
            "replay": args.replay,
            "feedback_pairs": refreshed.refresh.pairs.to_dict(),
            "old": str(old),
            "new": str(new),
            "ndcg@10": {
                "dev_half_b": held_out,
                "test": test,
                "feedback": {"old": refreshed.refresh.old.feedback_ndcg, "new": refreshed.refresh.new.feedback_ndcg},
            },
            "health": {"refreshed": healthy.to_dict(), "old_vs_refreshed_benchmark": flagged.to_dict()},
            "lineage": lineage.to_dict()["summary"],
            "checks": checks,
            "wall_s": round(time.time() - started, 1),
        },
    )
    print(json.dumps({"wall_s": round(time.time() - started)}))


if __name__ == "__main__":
    main()
