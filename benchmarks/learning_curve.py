"""How many labelled pairs are worth writing: test NDCG@10 on medquad against the number of labelled training pairs.

Every point is a real ``edge-embed train`` run (the ``cpu-30m`` recipe as it was measured: 128 tokens, bf16
autocast, frozen word embeddings, dev-selected checkpoint) on a seeded, nested sample of medquad's train pairs (50
within 200 within 1000):

    labels          the bundled base model trained on the N labelled pairs alone
    corpus+labels   first the corpus-only run (title -> passage and inverse cloze pairs from the passages, no query
                    read: ``--unsupervised title,ict``), then the N labelled pairs on top of it

A small set is repeated for at least ``--min-pairs-seen`` pair presentations (epochs = max(2, that / N)), so that
50 pairs get 80 steps rather than 4. 2000 was chosen on dev: 200 pairs read dev NDCG@10 0.8868 at 10 epochs
against 0.8556 at 5 (``results/learning_curve_min1000.json`` is the curve at 1000). The 0
point is the base model (labels) and the corpus-only model (corpus+labels). CPU time is the training wall time of
each run on this machine's cores (the corpus-only stage is paid once and shared by its row's points); test is
scored only for this report, selection is on dev. ``--full-from`` takes the all-pairs point from an earlier run of
the same recipe on every train pair instead of training it again (30 minutes here).

    python benchmarks/learning_curve.py [--data ../shared/data/medquad] [--work /tmp/ee-curve]
        [--points 50,200,1000,all] [--corpus-points 50,200,1000] [--full-from results/train_cpu30m.json]

Runs are kept under ``--work/runs`` and reused when complete (the same command resumes). Writes
``results/learning_curve.json`` and prints the table.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import write_result  # noqa: E402

from edge_embed.data.pairs import pairs_from_beir  # noqa: E402
from edge_embed.tables import format_table  # noqa: E402
from edge_embed.train import DataSource, preset, train  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "medquad"
RECIPE = "cpu-30m"
# As the committed curve was measured: the preset has since moved to fp32 (on all pairs and without its stop, 0.026
# higher; README), and "auto" keeps the run ids of the recorded points.
RECIPE_SETTINGS = {"bf16": "auto"}
LICENSE = "CC-BY-4.0"  # medquad's


@dataclass(frozen=True)
class CurvePoint:
    """One run of the curve."""

    variant: str  # labels | corpus+labels
    labelled_pairs: int
    test_ndcg10: float
    dev_ndcg10: float
    train_s: float  # this run's training wall time
    shared_train_s: float  # the corpus-only stage it starts from (0 for labels)
    steps: int
    epochs: float
    run_id: str


def labelled_sample(rows: list[tuple[str, str, str | None]], n: int | None, work: Path, seed: int = 0) -> Path:
    """The first ``n`` of one seeded shuffle of the train pairs ``rows`` (all when None), as a JSONL pair file."""
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    chosen = order if n is None else order[:n]
    path = work / f"pairs-{'all' if n is None else n}.jsonl"
    if not path.is_file():
        tmp = path.with_suffix(".partial")
        with open(tmp, "w") as handle:
            for i in chosen:
                handle.write(json.dumps({"anchor": rows[i][0], "positive": rows[i][1]}) + "\n")
        tmp.replace(path)
    return path


def corpus_only_run(data: Path, runs: Path) -> Path:
    """The corpus-only stage (made once; the same settings find the same finished run)."""
    config = preset(
        RECIPE,
        data=(DataSource(str(data), license=LICENSE),),
        output_dir=str(runs),
        unsupervised=("title", "ict"),
        **RECIPE_SETTINGS,
    )
    return train(config)


def labelled_run(data: Path, pairs: Path, n: int, runs: Path, base: Path | None, min_seen: int) -> Path:
    """N labelled pairs on ``base`` (the bundled model when None)."""
    recipe = preset(RECIPE, data=(DataSource(str(data), license=LICENSE),))
    epochs = max(recipe.epochs, math.ceil(min_seen / n))
    steps = epochs * math.ceil(n / recipe.batch_size)
    config = preset(
        RECIPE,
        data=(DataSource(str(pairs), license=LICENSE),),
        eval_data=str(data),
        base_model=str(base) if base else None,
        output_dir=str(runs),
        epochs=epochs,
        eval_steps=max(1, steps // 3),
        **RECIPE_SETTINGS,
    )
    return train(config)


def point(variant: str, n: int, run: Path, shared_train_s: float = 0.0) -> CurvePoint:
    """The point a finished run gives (``run`` a run folder or its record)."""
    record = json.loads((run if run.is_file() else run / "run.json").read_text())
    scores = record["metrics"]["finetuned"]
    return CurvePoint(
        variant=variant,
        labelled_pairs=n,
        test_ndcg10=scores["test"]["384"]["ndcg@10"],
        dev_ndcg10=scores["dev"]["384"]["ndcg@10"],
        train_s=record["wall_time_s"]["training"],
        shared_train_s=shared_train_s,
        steps=record["global_step"],
        epochs=record["epochs_done"],
        run_id=record["run_id"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--work", type=Path, default=Path("/tmp/ee-curve"))
    parser.add_argument("--points", default="50,200,1000,all", help="labelled pair counts; 'all' = every train pair")
    parser.add_argument("--corpus-points", default="50,200,1000", help="counts also run on the corpus-only model")
    parser.add_argument("--min-pairs-seen", type=int, default=2000, help="pair presentations for small sets")
    parser.add_argument(
        "--full-from",
        type=Path,
        help="take the all-pairs point from this run record (e.g. results/train_cpu30m.json, the same recipe on "
        "every train pair) instead of training it again",
    )
    args = parser.parse_args()
    if not (args.data / "corpus.jsonl").is_file():
        raise SystemExit(f"no BEIR folder at {args.data}: pass --data (medquad lives in ../shared/data/medquad)")
    data = args.data.resolve()
    runs = args.work / "runs"
    args.work.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(filename=args.work / "learning_curve.log", level=logging.INFO, force=True)
    if not all(p == "all" or p.isdigit() and int(p) > 0 for p in args.points.split(",")):
        raise SystemExit(f"--points {args.points!r}: give positive pair counts or 'all', e.g. 50,200,1000,all")
    counts = [None if p == "all" else int(p) for p in args.points.split(",")]
    train_rows = pairs_from_beir(data, "train")[0]
    total = len(train_rows)

    print("corpus-only stage (title + inverse cloze, no query read)", file=sys.stderr)
    corpus_run = corpus_only_run(data, runs)
    stage = point("corpus+labels", 0, corpus_run)
    base_test = json.loads((corpus_run / "run.json").read_text())["metrics"]["base"]["test"]["384"]["ndcg@10"]
    base_dev = json.loads((corpus_run / "run.json").read_text())["metrics"]["base"]["dev"]["384"]["ndcg@10"]
    points = [CurvePoint("labels", 0, base_test, base_dev, 0.0, 0.0, 0, 0.0, "base"), stage]
    for n in counts:
        size = total if n is None else n
        pairs = labelled_sample(train_rows, n, args.work)
        print(f"labels: {size} pairs", file=sys.stderr)
        points.append(point("labels", size, labelled_run(data, pairs, size, runs, None, args.min_pairs_seen)))
        if str(n) in args.corpus_points.split(","):
            print(f"corpus+labels: {size} pairs", file=sys.stderr)
            run = labelled_run(data, pairs, size, runs, corpus_run / "final", args.min_pairs_seen)
            points.append(point("corpus+labels", size, run, shared_train_s=stage.train_s))

    if args.full_from:
        points.append(point("labels", total, args.full_from))
    full = max((p for p in points if p.variant == "labels"), key=lambda p: p.labelled_pairs)
    gain = full.test_ndcg10 - base_test
    rows = [
        [
            p.variant,
            p.labelled_pairs,
            f"{p.test_ndcg10:.4f}",
            f"{p.test_ndcg10 - base_test:+.4f}",
            f"{(p.test_ndcg10 - base_test) / gain:.0%}" if gain > 0 else "-",
            f"{p.train_s + p.shared_train_s:.0f}",
            p.steps,
        ]
        for p in sorted(points, key=lambda p: (p.variant, p.labelled_pairs))
    ]
    print(
        format_table(
            ["variant", "labelled pairs", "test NDCG@10", "gain vs base", "of full gain", "train s", "steps"], rows
        )
    )
    write_result(
        ROOT / "benchmarks" / "results" / "learning_curve.json",
        "learning_curve",
        {
            "recipe": RECIPE,
            "data": str(args.data),
            "train_pairs_available": total,
            "min_pairs_seen": args.min_pairs_seen,
            "base_test_ndcg10": base_test,
            "full_gain": gain,
            "full_from": str(args.full_from) if args.full_from else None,
            "points": [asdict(p) for p in points],
        },
    )


if __name__ == "__main__":
    main()
