"""The static tier on medquad: the finetuned model distilled into a numpy token table, beside the same distillation
of the base model (model2vec's, as its users would make it) and the finetuned transformer's int8 artifact.

Steps, each through the edge-embed command a user would run (artifacts under --work, reused when present):

1. ``edge-embed distill BASE`` and ``edge-embed distill RUN`` (model2vec, PCA 256, SIF 1e-4);
2. ``edge-embed export RUN`` and ``edge-embed quantize`` (the default dynamic int8) for the transformer row;
3. ``edge-embed bench`` of the three on the medquad test split: NDCG@10, passages/s, short texts/s, batch-1 p50,
   cold start and peak RSS, interleaved rounds, the latency/accuracy plot (pareto.png).

    python benchmarks/static_tier.py --run RUN_FOLDER [--data ../shared/data/medquad]

RUN_FOLDER is a finetuned run (e.g. ``edge-embed train --data ../shared/data/medquad --preset cpu-30m``). Writes
``results/static_tier.json`` and ``results/static_tier_pareto.png``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from edge_embed.records import BenchReport
from edge_embed.tables import format_table

HERE = Path(__file__).parent
EDGE_EMBED = [sys.executable, "-m", "edge_embed.cli.main"]


def run(*args: object) -> None:
    """One edge-embed command, its output shown as it runs; stop on failure."""
    command = [*EDGE_EMBED, *map(str, args)]
    print("$ edge-embed " + " ".join(map(str, args)), file=sys.stderr)
    if subprocess.run(command).returncode != 0:
        raise SystemExit(f"edge-embed {args[0]} failed")


def prepare(run_folder: Path, work: Path, data: Path) -> dict[str, Path]:
    """The three artifacts, made once."""
    from edge_embed.train.trainer import base_model_folder

    artifacts = {
        "static-finetuned": work / "static-finetuned",
        "static-base": work / "static-base",
        "finetuned-int8": work / "finetuned-int8",
    }
    if not artifacts["static-base"].exists():
        run("distill", base_model_folder(), "-o", artifacts["static-base"])
    if not artifacts["static-finetuned"].exists():
        run("distill", run_folder, "-o", artifacts["static-finetuned"])
    fp32 = work / "finetuned-fp32"
    if not fp32.exists():
        run("export", run_folder, "-o", fp32)
    if not artifacts["finetuned-int8"].exists():
        run("quantize", fp32, "-o", artifacts["finetuned-int8"], "--eval", data, "--split", "dev", "--eval-sample", 300)
    return artifacts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True, help="the finetuned training run folder")
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data" / "medquad")
    parser.add_argument("--split", default="test")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "edge-embed-static-tier")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "static_tier.json")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    artifacts = prepare(args.run, args.work, args.data)
    report_dir = args.work / "bench"
    run(
        "bench", *artifacts.values(), "--data", args.data, "--split", args.split, "--rounds", args.rounds,
        "-o", report_dir, "--overwrite",
    )  # fmt: skip
    report = BenchReport.read(report_dir)
    rows = {row.label: row for row in report.rows}
    table = [
        [
            label,
            f"{row.ndcg:.4f}",
            f"{row.texts_per_s:.1f}",
            f"{row.short_texts_per_s or 0:.0f}",
            f"{row.p50_ms:.2f}",
            f"{row.cold_start.seconds.median:.2f}" if row.cold_start else "-",
            f"{row.peak_rss_mb:.0f}" if row.peak_rss_mb else "-",
            f"{row.size_mb:.1f}",
        ]
        for label, row in rows.items()
    ]
    headers = ["artifact", "ndcg@10", "passages/s", "short/s", "p50 ms", "cold s", "RSS MB", "model MB"]
    print(format_table(headers, table))
    ours, theirs = rows["static-finetuned"], rows["static-base"]
    print(
        f"static tier: finetuned {ours.ndcg:.4f} vs base {theirs.ndcg:.4f} NDCG@10 "
        f"({ours.ndcg - theirs.ndcg:+.4f}); {ours.texts_per_s / rows['finetuned-int8'].texts_per_s:.0f}x the "
        f"passages/s of the finetuned int8 transformer at {ours.ndcg / rows['finetuned-int8'].ndcg:.0%} of its NDCG@10"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    summary = {
        "machine": dict(report.machine),
        "dataset": report.dataset.to_dict(),
        "run": str(args.run),
        "rows": {label: row.to_dict() for label, row in rows.items()},
        "finetuned_minus_base_ndcg": ours.ndcg - theirs.ndcg,
    }
    args.out.write_text(json.dumps(summary, indent=2) + "\n")
    shutil.copy(report_dir / "pareto.png", args.out.with_name("static_tier_pareto.png"))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
