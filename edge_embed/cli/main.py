"""The ``edge-embed`` command. Lean at the top: build-side commands import their libraries only when run."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from edge_embed import __version__
from edge_embed.errors import EdgeEmbedError, InputError

if TYPE_CHECKING:
    from edge_embed.data.beir import RetrievalDataset


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the process exit code (1 with a one-line message for user errors)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _log_to_stderr()
    try:
        return int(args.handler(args) or 0)
    except EdgeEmbedError as exc:
        print(f"edge-embed: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("edge-embed: interrupted; nothing was left half-written", file=sys.stderr)
        return 130


def _show_warning(message: Warning | str, category: type[Warning], *args: object, **kwargs: object) -> None:
    print(f"edge-embed: warning: {message}", file=sys.stderr)


def _log_to_stderr() -> None:
    """Show edge-embed's own progress messages (not the libraries') as ``edge-embed: ...`` lines, and warnings
    as one line each."""
    warnings.showwarning = _show_warning
    logger = logging.getLogger("edge_embed")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("edge-embed: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False  # some libraries configure the root logger; print each message once


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="edge-embed",
        description="Domain embeddings: export to ONNX, quantize, and embed with a lean CPU runtime.",
    )
    parser.add_argument("--version", action="version", version=f"edge-embed {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    export = commands.add_parser(
        "export",
        help="export a model, checkpoint or training run to an ONNX artifact folder (needs [build])",
        description="Export through Optimum, verify parity with sentence-transformers, write an artifact folder.",
    )
    export.add_argument("checkpoint", type=Path, help="sentence-transformers folder, checkpoint-N folder or run folder")
    export.add_argument("-o", "--output", type=Path, required=True, help="artifact folder to create")
    export.add_argument(
        "--checkpoint",
        dest="which",
        choices=["best", "last"],
        default="best",
        help="for run folders: the best recorded checkpoint (default) or the last one",
    )
    export.add_argument(
        "--pooling",
        choices=["mean", "cls", "max", "lasttoken", "mean_sqrt_len_tokens"],
        help="override the pooling read from the model's config",
    )
    export.add_argument(
        "--normalize",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="override whether embeddings are L2-normalized",
    )
    export.add_argument("--max-seq-length", type=int, help="override the maximum tokens per text")
    export.add_argument("--matryoshka-dims", type=_int_list, help="comma-separated dims the model was trained for")
    export.add_argument("--opset", type=int, help="ONNX opset (default: Optimum's choice)")
    export.add_argument(
        "--single-file",
        action="store_true",
        help="keep weights inside model.onnx (default: model.onnx_data beside it, memory-mapped)",
    )
    export.add_argument(
        "--overwrite", action="store_true", help="replace the output folder once the new one is complete"
    )
    export.set_defaults(handler=_run_export)

    embed = commands.add_parser(
        "embed",
        help="embed texts with an artifact (from arguments, a file or stdin)",
        description="Embed texts. Without TEXT or --file, reads one text per line from stdin.",
    )
    embed.add_argument("artifact", type=Path, help="artifact folder")
    embed.add_argument("texts", nargs="*", metavar="TEXT", help="texts to embed")
    embed.add_argument("-f", "--file", type=Path, help="UTF-8 file: one text per line, or .jsonl with --field")
    embed.add_argument("--field", default="text", help="JSON field holding the text in a .jsonl file (default: text)")
    embed.add_argument("-o", "--output", type=Path, help="write .npy or .jsonl (default: JSON lines on stdout)")
    embed.add_argument("--kind", choices=["query", "document"], default="document", help="selects the model's prompt")
    embed.add_argument("--dim", type=int, help="Matryoshka: keep the first DIM components")
    embed.add_argument("--batch-size", type=int, default=32)
    embed.add_argument("--threads", type=int, help="onnxruntime intra-op threads (default: all available CPUs)")
    embed.add_argument("--no-verify", action="store_true", help="skip the sha256 check of the model file on load")
    embed.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar (default: when stderr is a terminal)",
    )
    embed.set_defaults(handler=_run_embed)

    quantize = commands.add_parser(
        "quantize",
        help="quantize an artifact into a new artifact, optionally gated on retrieval quality (needs [build])",
        description="Quantize an fp32 artifact. With --eval, the child must keep NDCG@10 within --max-drop of "
        "its parent, or nothing is written.",
    )
    quantize.add_argument("artifact", type=Path, help="the fp32 artifact folder")
    quantize.add_argument("-o", "--output", type=Path, required=True, help="artifact folder to create")
    quantize.add_argument(
        "--method", default="dynamic-int8", help="dynamic-int8 (default), static-int8, fp16 or int4-weights"
    )
    quantize.add_argument(
        "--target", default="auto", help="CPU preset: auto (this CPU), avx2, avx512, avx512_vnni, arm64"
    )
    quantize.add_argument(
        "--optimize",
        default="auto",
        help="graph optimization first: auto (O2 for int8 on BERT-like encoders), none, O1, O2",
    )
    quantize.add_argument("--per-channel", action=argparse.BooleanOptionalAction, default=True)
    quantize.add_argument("--reduce-range", action="store_true", help="7-bit weights (older CPUs without VNNI)")
    quantize.add_argument("--calibration", type=Path, help="static-int8: a BEIR folder, .txt or .jsonl of domain texts")
    quantize.add_argument("--calibration-split", help="BEIR folder: only passages of this split (e.g. train)")
    quantize.add_argument("--calibration-size", type=int, default=128, help="most calibration texts (default 128)")
    quantize.add_argument("--calibration-method", default="minmax", help="minmax, percentile or entropy")
    quantize.add_argument("--block-size", type=int, default=32, help="int4-weights block size")
    quantize.add_argument("--exclude-nodes", type=_str_list, default=(), help="comma-separated nodes to keep in fp32")
    quantize.add_argument("--eval", dest="eval_data", type=Path, help="BEIR folder for the accuracy gate")
    quantize.add_argument("--split", default="dev", help="split of --eval (default dev)")
    quantize.add_argument("--eval-sample", type=int, help="gate on N queries (+ their passages and 10N distractors)")
    quantize.add_argument("--max-drop", type=float, default=0.01, help="largest relative NDCG@10 drop (default 0.01)")
    quantize.add_argument(
        "--auto", action="store_true", help="keep the most sensitive nodes in fp32 until the gate passes"
    )
    quantize.add_argument("--force", action="store_true", help="quantize an artifact that is already quantized")
    quantize.add_argument("--overwrite", action="store_true")
    quantize.add_argument("--batch-size", type=int, default=32)
    quantize.set_defaults(handler=_run_quantize)

    evaluate = commands.add_parser(
        "eval",
        help="retrieval metrics of an artifact on a BEIR dataset (lean runtime, exact search)",
        description="NDCG@10, MRR@10, Recall@1/10/100 and MAP@100, as sentence-transformers names them.",
    )
    evaluate.add_argument("artifact", type=Path)
    evaluate.add_argument("--data", type=Path, required=True, help="BEIR folder")
    evaluate.add_argument("--split", default="test")
    evaluate.add_argument("--dim", type=_int_list, default=(), help="Matryoshka dims to score too, e.g. 256,128")
    evaluate.add_argument("--sample", type=int, help="N queries (+ their passages and 10N distractors), seeded")
    evaluate.add_argument("--batch-size", type=int, default=32)
    evaluate.add_argument("--threads", type=int)
    evaluate.add_argument("--json", action="store_true", help="print JSON instead of a table")
    evaluate.set_defaults(handler=_run_eval)

    train = commands.add_parser(
        "train",
        help="finetune the base model on domain data into runs/<run_id>/ (needs [build])",
        description="Finetune with sentence-transformers (MultipleNegativesRankingLoss), evaluating the base and "
        "the finetuned model on the dev and test splits. The same command resumes an interrupted run.",
    )
    train.add_argument(
        "--data",
        type=Path,
        action="append",
        required=True,
        help="BEIR folder (its --split qrels give query/passage pairs) or a .jsonl/.csv/.tsv/.parquet "
        "pair file; repeatable",
    )
    train.add_argument("--license", action="append", default=[], help="licence of each --data source, in order")
    train.add_argument("--split", default="train", help="qrels split of BEIR sources to train on (default train)")
    train.add_argument(
        "--eval-data", type=Path, help="BEIR folder with dev/test qrels (default: the first BEIR --data)"
    )
    train.add_argument("--preset", default="default", help="default (reference recipe), cpu-30m, tiny")
    train.add_argument("--base-model", help="sentence-transformers folder (default: bundled all-MiniLM-L6-v2)")
    train.add_argument("--output-dir", default="runs")
    train.add_argument("--run-id", help="default: <dataset>-<preset>-<hash of settings and data>")
    train.add_argument("--epochs", type=float)
    train.add_argument("--lr", dest="learning_rate", type=float)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--max-seq-length", type=int)
    train.add_argument("--loss", help="mnrl (default) or cached-mnrl")
    train.add_argument("--mini-batch-size", type=int, help="cached-mnrl: texts per forward pass")
    train.add_argument("--matryoshka-dims", type=_int_list, help="e.g. 256,128,64")
    train.add_argument("--hard-negatives", type=int, help="mine N hard negatives per pair with the base model")
    train.add_argument("--seed", type=int)
    train.add_argument("--time-budget", type=_duration, dest="time_budget_s", help="stop training after e.g. 30m, 2h")
    train.add_argument("--eval-steps", type=int, help="evaluate and checkpoint every N steps (default: each epoch)")
    train.add_argument("--eval-sample", type=int, help="dev queries used to pick the best checkpoint")
    train.add_argument("--bf16", choices=["auto", "yes", "no"])
    train.add_argument("--pii-scrub", action="store_true", default=None, help="replace emails, phones, IBANs, ...")
    train.add_argument(
        "--require-license",
        action="store_true",
        default=None,
        help="fail (instead of warning) when a --data source has no --license",
    )
    train.set_defaults(handler=_run_train)

    info = commands.add_parser("info", help="describe an artifact folder", description="Print an artifact's manifest.")
    info.add_argument("artifact", type=Path, help="artifact folder")
    info.add_argument("--json", action="store_true", help="print the raw manifest JSON")
    info.add_argument("--verify", action="store_true", help="also check every file's sha256")
    info.set_defaults(handler=_run_info)
    return parser


def _int_list(value: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {value!r}") from None


def _duration(value: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        return float(value[:-1]) * units[value[-1]] if value[-1] in units else float(value)
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(f"expected a duration like 90s, 30m or 2h, got {value!r}") from None


def _run_train(args: argparse.Namespace) -> int:
    from edge_embed._extras import require_build

    require_build("edge-embed train", ("torch", "transformers", "sentence_transformers", "datasets", "accelerate"))
    from edge_embed.train.config import DataSource, preset

    if len(args.license) > len(args.data):
        raise InputError(f"{len(args.license)} --license values for {len(args.data)} --data sources")
    licenses = args.license + [None] * (len(args.data) - len(args.license))
    fields = (
        "base_model",
        "output_dir",
        "run_id",
        "epochs",
        "learning_rate",
        "batch_size",
        "max_seq_length",
        "loss",
        "mini_batch_size",
        "matryoshka_dims",
        "hard_negatives",
        "seed",
        "time_budget_s",
        "eval_steps",
        "eval_sample",
        "bf16",
        "pii_scrub",
        "require_license",
    )
    config = preset(
        args.preset,
        data=tuple(DataSource(str(path), args.split, lic) for path, lic in zip(args.data, licenses, strict=True)),
        eval_data=str(args.eval_data) if args.eval_data else None,
        **{name: getattr(args, name) for name in fields},
    )
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    from edge_embed.cli.tables import format_table
    from edge_embed.train.trainer import train

    run = train(config, show_progress=sys.stderr.isatty())
    record = json.loads((run / "run.json").read_text())
    rows = []
    for split, by_dim in record["metrics"]["finetuned"].items():
        for dim, tuned in by_dim.items():
            before = record["metrics"]["base"][split][dim]["ndcg@10"]
            rows.append(
                [split, dim, before, tuned["ndcg@10"], f"{tuned['ndcg@10'] / before - 1:+.1%}", tuned["recall@10"]]
            )
    print(format_table(["split", "dim", "base ndcg@10", "finetuned ndcg@10", "change", "recall@10"], rows))
    times = record.get("wall_time_s", {})
    print(
        f"run {record['run_id']}: {run}  (training {times.get('training', 0) / 60:.1f} min, "
        f"evaluation {times.get('evaluation_before_after', 0) / 60:.1f} min)"
    )
    print(f"next: edge-embed export {run} -o artifacts/{record['run_id']}")
    return 0


def _str_list(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _load_eval(folder: Path, split: str, sample: int | None) -> RetrievalDataset:
    from edge_embed.data.beir import load_beir

    dataset = load_beir(folder, split)
    return dataset.sample(sample, 10 * sample) if sample else dataset


def _run_quantize(args: argparse.Namespace) -> int:
    from edge_embed._extras import require_build

    require_build("edge-embed quantize", ("onnx",))
    logging.getLogger().setLevel(logging.ERROR)  # onnxruntime's quantizer logs every tensor at the root logger
    from edge_embed.quantize.config import QuantizationConfig

    config = QuantizationConfig.for_target(
        args.method,
        args.target,
        optimize=args.optimize,
        per_channel=args.per_channel,
        reduce_range=args.reduce_range,
        calibration=args.calibration_method,
        calibration_size=args.calibration_size,
        block_size=args.block_size,
        nodes_to_exclude=args.exclude_nodes,
    )
    # Read every input before any work, so bad data fails in a second, not after quantizing.
    calibration = None
    if args.calibration is not None:
        from edge_embed.data.texts import read_domain_texts

        calibration = read_domain_texts(args.calibration, args.calibration_size, split=args.calibration_split)
        if calibration.skipped_lines:
            lines = ", ".join(map(str, calibration.skipped_lines[:10]))
            print(
                f"edge-embed: skipped {len(calibration.skipped_lines)} unreadable calibration lines ({lines})",
                file=sys.stderr,
            )
    dataset = _load_eval(args.eval_data, args.split, args.eval_sample) if args.eval_data else None
    from edge_embed.quantize.quantizer import quantize_artifact

    result = quantize_artifact(
        args.artifact,
        args.output,
        config,
        calibration=calibration,
        eval_dataset=dataset,
        max_drop=args.max_drop,
        auto=args.auto,
        force=args.force,
        overwrite=args.overwrite,
        batch_size=args.batch_size,
    )
    from edge_embed.cli.tables import format_table

    parent_size = _folder_mb(args.artifact)
    child_size = _folder_mb(result.path)
    rows: list[list[object]] = [
        ["parent", "fp32", parent_size, "-"],
        [str(result.path), result.manifest.graph.precision, child_size, f"{child_size / parent_size:.0%}"],
    ]
    if result.gate:
        rows[0].append(result.gate.parent["ndcg@10"])
        rows[1].append(result.gate.child["ndcg@10"])
    headers = ["artifact", "precision", "model MB", "size"] + (["ndcg@10"] if result.gate else [])
    print(format_table(headers, rows))
    if result.auto:
        print(f"kept in fp32 by --auto: {', '.join(result.auto['kept_fp32'])}")
    return 0


def _folder_mb(folder: Path) -> float:
    from edge_embed.lineage.manifest import read_manifest

    manifest = read_manifest(folder)
    return sum((folder / name).stat().st_size for name in manifest.graph.files) / 1e6


def _run_eval(args: argparse.Namespace) -> int:
    from edge_embed.cli.tables import format_table
    from edge_embed.eval.retrieval import evaluate_artifact
    from edge_embed.runtime import Embedder

    dataset = _load_eval(args.data, args.split, args.sample)
    embedder = Embedder.load(args.artifact, threads=args.threads)
    results = evaluate_artifact(
        embedder, dataset, dims=args.dim, batch_size=args.batch_size, show_progress=sys.stderr.isatty()
    )
    if args.json:
        print(
            json.dumps(
                {
                    "artifact": str(args.artifact),
                    "dataset": dataset.name,
                    "split": dataset.split,
                    "queries": len(dataset.queries),
                    "corpus": len(dataset.corpus),
                    "sampled": dataset.sampled,
                    "metrics": {str(dim): m for dim, m in results.items()},
                },
                indent=2,
            )
        )
        return 0
    names = list(next(iter(results.values())))
    print(
        f"{dataset.name}/{dataset.split}: {len(dataset.queries)} queries, {len(dataset.corpus)} passages"
        + (" (sampled)" if dataset.sampled else "")
    )
    print(format_table(["dim", *names], [[dim, *m.values()] for dim, m in results.items()]))
    return 0


def _run_export(args: argparse.Namespace) -> int:
    from edge_embed._extras import require_build

    require_build("edge-embed export")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    from edge_embed.export import export_artifact

    path = export_artifact(
        args.checkpoint,
        args.output,
        which=args.which,
        pooling=args.pooling,
        normalize=args.normalize,
        max_seq_length=args.max_seq_length,
        matryoshka_dims=args.matryoshka_dims,
        opset=args.opset,
        external_data=not args.single_file,
        overwrite=args.overwrite,
    )
    print(path)
    return 0


def _run_embed(args: argparse.Namespace) -> int:
    from edge_embed.cli.texts import read_lines, read_texts_file, write_vectors
    from edge_embed.runtime import Embedder

    if args.texts and args.file:
        raise InputError("give texts as arguments or with --file, not both")
    if args.file:
        texts = read_texts_file(args.file, args.field)
    elif args.texts:
        texts = list(args.texts)
    elif not sys.stdin.isatty():
        texts = read_lines(sys.stdin.buffer, "<stdin>")
    else:
        raise InputError("no texts: pass TEXT arguments, --file FILE, or pipe lines on stdin")
    embedder = Embedder.load(args.artifact, threads=args.threads, dim=args.dim, verify=not args.no_verify)
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    vectors = embedder.embed(texts, batch_size=args.batch_size, kind=args.kind, show_progress=progress)
    write_vectors(vectors, args.output, sys.stdout)
    if args.output is not None:
        print(f"edge-embed: wrote {vectors.shape[0]} x {vectors.shape[1]} vectors to {args.output}", file=sys.stderr)
    return 0


def _run_info(args: argparse.Namespace) -> int:
    from edge_embed.cli.info import format_manifest
    from edge_embed.lineage.manifest import read_manifest, verify_files

    manifest = read_manifest(args.artifact)
    if args.verify:
        verify_files(args.artifact, manifest)
    if args.json:
        print(json.dumps(manifest.to_dict(), indent=2, sort_keys=True, ensure_ascii=False))
    else:
        print(format_manifest(args.artifact, manifest))
        if args.verify:
            print(f"all {len(manifest.files)} files match their sha256")
    return 0


if __name__ == "__main__":
    sys.exit(main())
