"""Does int8 keep what training bought? A training run exported and quantized, gated on a whole split.

Exports the run's best checkpoint through Optimum (parity-checked against sentence-transformers), quantizes it to
dynamic int8 as ``edge-embed quantize`` does by default, and gates the child on every query of the split: its
NDCG@10 may fall at most ``--max-drop`` (relative) below the fp32 export's. The numbers are read back from the
artifacts' manifests (what a device would see), printed side by side and written to
``results/train_<name>_int8.json``. A failed gate is recorded too (nothing is published, as the CLI does). A run
trained with Matryoshka dims has both artifacts scored again at each of them in the lean runtime (``edge-embed eval
--dim``), so the int8 drop at 128 dims is measured, not assumed.

    python benchmarks/int8_of_run.py runs/<run id> --name NAME
        [--data ../shared/data/medquad] [--split test] [--max-seq-length 256] [--work /tmp/ee-int8]

At 128 tokens on the 2-core machine this takes ~8 minutes (two full evaluations of medquad's 15,788 passages), ~13
with Matryoshka dims (two more).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import write_result  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "medquad"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a finished training run folder (runs/<id>)")
    parser.add_argument("--name", required=True, help="names the result: results/train_<name>_int8.json")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--split", default="test")
    parser.add_argument("--max-drop", type=float, default=0.01)
    parser.add_argument("--max-seq-length", type=int, help="export at this many tokens (default: the run's)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/ee-int8"))
    args = parser.parse_args()
    if not (args.run / "run.json").is_file():
        parser.error(f"{args.run} is not a training run folder (no run.json)")
    if not args.data.is_dir():
        parser.error(f"{args.data} does not exist; pass --data with a BEIR folder")
    from edge_embed.errors import EdgeEmbedError

    try:
        return measure(args)
    except EdgeEmbedError as exc:  # a bad split, length or drop: one line, as the CLI says it
        parser.exit(2, f"{parser.prog}: error: {exc}\n")


def measure(args: argparse.Namespace) -> int:
    """Export, quantize with the gate, print and write the result; 0 when the gate passed."""
    from transformers.utils import logging as hf_logging

    from edge_embed.data.beir import load_beir
    from edge_embed.errors import GateError
    from edge_embed.export import export_artifact
    from edge_embed.lineage.manifest import read_manifest
    from edge_embed.quantize import QuantizationConfig, quantize_artifact
    from edge_embed.tables import format_table

    hf_logging.set_verbosity_error()  # as edge-embed export does: library chatter stays off the console

    args.work.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(filename=args.work / "int8_of_run.log", level=logging.INFO, force=True)
    dataset = load_beir(args.data, args.split)
    fp32_folder, int8_folder = args.work / f"{args.name}-fp32", args.work / f"{args.name}-int8"

    started = time.perf_counter()
    export_artifact(args.run, fp32_folder, max_seq_length=args.max_seq_length, overwrite=True)
    exported = time.perf_counter()
    config = QuantizationConfig.for_target("dynamic-int8")
    try:
        quantize_artifact(
            fp32_folder, int8_folder, config, eval_dataset=dataset, max_drop=args.max_drop, overwrite=True
        )
        gate: dict[str, Any] = read_manifest(int8_folder).checks["gate"]
    except GateError as failed:
        print(f"gate failed: {failed}")  # noqa: T201
        gate = failed.gate or {}
    finished = time.perf_counter()

    fp32 = read_manifest(fp32_folder)
    print(  # noqa: T201
        format_table(
            ["artifact", f"{args.split} ndcg@10", "relative drop", "verdict"],
            [
                ["fp32 export", gate.get("parent", {}).get("ndcg@10"), "-", "-"],
                ["dynamic int8", gate.get("child", {}).get("ndcg@10"), gate.get("relative_drop"), gate.get("verdict")],
            ],
        )
    )
    published = [("fp32", fp32_folder)] + ([("int8", int8_folder)] if gate.get("passed") else [])
    dims = fp32.matryoshka_dims
    at_dims = {label: score_at_dims(folder, dataset, dims) for label, folder in published} if dims else {}
    scored = time.perf_counter()
    if dims:
        print(format_table(*dims_table(at_dims, dims)))  # noqa: T201
    write_result(
        ROOT / "benchmarks" / "results" / f"train_{args.name}_int8.json",
        "int8_of_run",
        {
            "what": f"the run exported (edge-embed export RUN) and quantized to dynamic int8, gated on the full "
            f"{args.data.name} {args.split} split (--max-drop {args.max_drop})",
            "command": " ".join(["python", "benchmarks/int8_of_run.py", *sys.argv[1:]]),
            "run_id": fp32.source.get("run_id"),
            "checkpoint": fp32.source.get("checkpoint"),
            "max_seq_length": fp32.max_seq_length,
            "fp32_checks": fp32.checks,
            "int8_gate": gate,
            "matryoshka_dims": list(dims),
            "at_dims": at_dims,
            "wall_time_s": {
                "export": exported - started,
                "quantize_and_gate": finished - exported,
                "scores_at_dims": scored - finished,
            },
        },
    )
    return 0 if gate.get("passed") else 1


def score_at_dims(folder: Path, dataset: Any, dims: tuple[int, ...]) -> dict[str, dict[str, float]]:
    """``{dim: metrics}`` for an artifact at its full width and each Matryoshka dim."""
    from edge_embed.eval.retrieval import evaluate_artifact
    from edge_embed.runtime import Embedder

    results = evaluate_artifact(Embedder.load(folder), dataset, dims=dims, show_progress=sys.stderr.isatty())
    return {str(dim): metrics for dim, metrics in results.items()}


def dims_table(at_dims: dict[str, dict[str, dict[str, float]]], dims: tuple[int, ...]) -> tuple[list[str], list[list]]:
    """Headers and rows: NDCG@10 of fp32 and int8 at each Matryoshka dim, with int8's relative drop."""
    rows = []
    for dim in map(str, dims):
        fp32 = at_dims["fp32"][dim]["ndcg@10"]
        int8 = at_dims.get("int8", {}).get(dim, {}).get("ndcg@10")
        rows.append([dim, fp32, "-" if int8 is None else int8, "-" if int8 is None else f"{1 - int8 / fp32:+.4f}"])
    return ["dim", "fp32 ndcg@10", "int8 ndcg@10", "relative drop"], rows


if __name__ == "__main__":
    sys.exit(main())
