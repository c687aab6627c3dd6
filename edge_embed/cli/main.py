"""The ``edge-embed`` command. Lean at the top: build-side commands import their libraries only when run."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from edge_embed import __version__
from edge_embed.cli import handlers
from edge_embed.errors import EdgeEmbedError, InputError


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the process exit code.

    Bad input or usage is one line and exit code 2; a failure of the work itself (a corrupt artifact, a failed
    gate) is one line and exit code 1. Anything else is a bug and keeps its traceback.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    _log_to_stderr()
    try:
        return int(args.handler(args) or 0)
    except InputError as exc:
        _error(str(exc))
        return 2
    except EdgeEmbedError as exc:
        _error(str(exc))
        return 1
    except UnicodeError as exc:  # e.g. a lone surrogate or non-UTF-8 bytes in an argument or a file
        reason = getattr(exc, "reason", str(exc))
        _error(f"text is not valid UTF-8 ({reason} at position {getattr(exc, 'start', '?')}); fix the input")
        return 2
    except OSError as exc:  # a file that cannot be read or written: the path and the reason, nothing more
        where = f"{exc.filename}: " if exc.filename else ""
        _error(f"{where}{exc.strerror or exc}")
        return 2 if isinstance(exc, (FileNotFoundError, IsADirectoryError, NotADirectoryError)) else 1
    except KeyboardInterrupt:
        _error("interrupted; nothing was left half-written")
        return 130


def _error(message: str) -> None:
    """The message on stderr, safe for any text it quotes (lone surrogates are escaped, not raised)."""
    line = f"edge-embed: error: {message}"
    sys.stderr.write(line.encode("utf-8", "backslashreplace").decode("utf-8") + "\n")


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
    root = logging.getLogger()
    if not root.handlers:
        # Libraries' warnings and errors still show, one line each; their INFO chatter does not. Having a handler
        # also makes a library's import-time logging.basicConfig(level=INFO) a no-op (onnxruntime's int4
        # quantizer calls it and would print a line per tensor).
        library = logging.StreamHandler(sys.stderr)
        library.setFormatter(logging.Formatter("edge-embed: %(name)s: %(message)s"))
        root.addHandler(library)
        root.setLevel(logging.WARNING)


class _OneLineParser(argparse.ArgumentParser):
    """A usage error is one line naming the problem and where the options are listed, like every other error."""

    def error(self, message: str) -> NoReturn:
        _error(f"{message} (see {self.prog} --help)")
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every subcommand."""
    parser: argparse.ArgumentParser = _OneLineParser(
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
    export.add_argument("--max-seq-length", type=_positive_int, help="override the maximum tokens per text")
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
    export.set_defaults(handler=handlers.run_export)

    distill = commands.add_parser(
        "distill",
        help="distill a model, checkpoint or training run into a static artifact that runs on numpy (needs [build])",
        description="model2vec's distillation (every vocabulary token through the model, PCA, frequency weights) into "
        "a token table the runtime averages with numpy alone; checked against model2vec's own encode.",
    )
    distill.add_argument("checkpoint", type=Path, help="sentence-transformers, checkpoint-N or training run folder")
    distill.add_argument("-o", "--output", type=Path, required=True, help="artifact folder to create")
    distill.add_argument(
        "--checkpoint", dest="which", choices=["best", "last"], default="best", help="for run folders (default best)"
    )
    distill.add_argument("--pca-dims", type=_positive_int, default=256, help="width of the table (default 256)")
    distill.add_argument(
        "--sif-coefficient", type=float, default=1e-4, help="model2vec's token-frequency weighting (default 1e-4)"
    )
    distill.add_argument(
        "--overwrite", action="store_true", help="replace the output folder once the new one is complete"
    )
    distill.set_defaults(handler=handlers.run_distill)

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
    embed.add_argument("--dim", type=_positive_int, help="Matryoshka: keep the first DIM components")
    embed.add_argument(
        "--batch-size", type=_positive_int, default=32, help="at most this many texts per call (default: 32)"
    )
    embed.add_argument(
        "--max-batch-tokens",
        type=_non_negative_int,
        help="at most this many padded tokens per call; 0 for fixed --batch-size batches (default: 2048)",
    )
    embed.add_argument(
        "--threads", type=_positive_int, help="onnxruntime intra-op threads (default: all available CPUs)"
    )
    embed.add_argument("--no-verify", action="store_true", help="skip the sha256 check of the model file on load")
    _add_trust(embed)
    embed.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar (default: when stderr is a terminal)",
    )
    embed.set_defaults(handler=handlers.run_embed)

    corpus = commands.add_parser(
        "embed-corpus",
        help="embed a whole corpus into Parquet, in one process or on Ray / Spark (resumable)",
        description="Embed every passage of a corpus into OUT.parquet (id, embedding). The same worker code runs "
        "in one process (--engine local) or on a cluster (ray, spark). Shards are written as they finish; a "
        "killed job rerun with the same arguments embeds only the unfinished shards.",
    )
    corpus.add_argument(
        "artifact",
        type=Path,
        help="artifact folder every worker can read, or its .tar.gz bundle (edge-embed package), shipped to each "
        "worker and verified there",
    )
    corpus.add_argument("corpus", type=Path, help="BEIR folder, .jsonl, .parquet or a text file (one per line)")
    corpus.add_argument("-o", "--output", type=Path, required=True, help="the .parquet file to write")
    corpus.add_argument("--engine", choices=["local", "ray", "spark"], default="local", help="(default: local)")
    corpus.add_argument("--address", help="the cluster: Ray 'auto' / 'ray://host:10001', a Spark master URL")
    corpus.add_argument("--workers", type=_positive_int, help="worker processes (default: cores / threads)")
    corpus.add_argument("--threads", type=_positive_int, help="onnxruntime threads per worker")
    corpus.add_argument("--batch-size", type=_positive_int, default=32, help="texts per call (default: 32)")
    corpus.add_argument("--shard-size", type=_positive_int, default=10_000, help="passages per shard (default: 10000)")
    corpus.add_argument("--text-field", default="text", help="the text column or JSON field (default: text)")
    corpus.add_argument("--id-field", default="_id", help="the id column or JSON field (default: _id, or id)")
    corpus.add_argument("--overwrite", action="store_true", help="replace an existing output")
    corpus.set_defaults(handler=handlers.run_embed_corpus)

    quantize = commands.add_parser(
        "quantize",
        help="quantize an artifact into a new artifact, optionally gated on retrieval quality (needs [build])",
        description="Quantize an fp32 artifact. With --eval, the child must keep NDCG@10 within --max-drop of "
        "its parent, or nothing is written.",
    )
    quantize.add_argument("artifact", type=Path, help="the fp32 artifact folder")
    quantize.add_argument("-o", "--output", type=Path, required=True, help="artifact folder to create")
    quantize.add_argument(
        "--method",
        default="dynamic-int8",
        help="dynamic-int8 (default), static-int8, fp16, int4-weights; OpenVINO artifacts: openvino-int8 (NNCF, "
        "calibrated on --calibration), openvino-fp32, openvino-bf16",
    )
    quantize.add_argument(
        "--target", default="auto", help="CPU preset: auto (this CPU), avx2, avx512, avx512_vnni, arm64"
    )
    quantize.add_argument(
        "--optimize",
        default="auto",
        help="graph optimization first: auto (O2 for int8 on BERT-like encoders), none, O1, O2",
    )
    quantize.add_argument(
        "--activations",
        default="per-token",
        help="dynamic-int8 activation scales: per-token (default: a text's vector does not depend on its batch) "
        "or per-tensor (onnxruntime's default; faster, batch-dependent)",
    )
    quantize.add_argument("--per-channel", action=argparse.BooleanOptionalAction, default=True)
    quantize.add_argument("--reduce-range", action="store_true", help="7-bit weights (older CPUs without VNNI)")
    quantize.add_argument(
        "--calibration", type=Path, help="static-int8, openvino-int8: a BEIR folder, .txt or .jsonl of domain texts"
    )
    quantize.add_argument(
        "--nncf-preset", default="mixed", help="openvino-int8: mixed (default; asymmetric activations) or performance"
    )
    quantize.add_argument("--calibration-split", help="BEIR folder: only passages of this split (e.g. train)")
    quantize.add_argument(
        "--calibration-size", type=_positive_int, default=128, help="most calibration texts (default 128)"
    )
    quantize.add_argument("--calibration-method", default="minmax", help="minmax, percentile or entropy")
    quantize.add_argument("--block-size", type=_positive_int, default=32, help="int4-weights block size")
    quantize.add_argument("--exclude-nodes", type=_str_list, default=(), help="comma-separated nodes to keep in fp32")
    quantize.add_argument("--eval", dest="eval_data", type=Path, help="BEIR folder for the accuracy gate")
    quantize.add_argument("--split", default="dev", help="split of --eval (default dev)")
    quantize.add_argument(
        "--eval-sample", type=_positive_int, help="gate on N queries (+ their passages and 10N distractors)"
    )
    quantize.add_argument("--max-drop", type=float, default=0.01, help="largest relative NDCG@10 drop (default 0.01)")
    quantize.add_argument(
        "--auto", action="store_true", help="keep the most sensitive nodes in fp32 until the gate passes"
    )
    quantize.add_argument(
        "--fallback",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="with --eval (on by default there): when the method fails its gate, try openvino-int8, static-int8 "
        "on 512 texts, then dynamic-int8 --auto before giving up (calibration from --calibration, else the "
        "--eval folder's passages)",
    )
    quantize.add_argument("--force", action="store_true", help="quantize an artifact that is already quantized")
    quantize.add_argument("--overwrite", action="store_true")
    quantize.add_argument("--batch-size", type=_positive_int, default=32)
    quantize.set_defaults(handler=handlers.run_quantize)

    evaluate = commands.add_parser(
        "eval",
        help="retrieval metrics of an artifact on a BEIR dataset (lean runtime, exact search)",
        description="NDCG@10, MRR@10, Recall@1/10/100 and MAP@100, as sentence-transformers names them.",
    )
    evaluate.add_argument("artifact", type=Path)
    evaluate.add_argument("--data", type=Path, required=True, help="BEIR folder")
    evaluate.add_argument("--split", default="test")
    evaluate.add_argument("--dim", type=_int_list, default=(), help="Matryoshka dims to score too, e.g. 256,128")
    evaluate.add_argument(
        "--sample", type=_positive_int, help="N queries (+ their passages and 10N distractors), seeded"
    )
    evaluate.add_argument("--batch-size", type=_positive_int, default=32)
    evaluate.add_argument("--threads", type=_positive_int)
    evaluate.add_argument("--json", action="store_true", help="print JSON instead of a table")
    evaluate.set_defaults(handler=handlers.run_eval)

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
        "--eval-data",
        type=Path,
        help="BEIR folder with dev/test qrels (default: the first BEIR --data with dev qrels, else a held-out slice "
        "of the training data)",
    )
    train.add_argument(
        "--preset",
        default="default",
        help="default (128 tokens, 2 epochs, fp32, Matryoshka 384/256/128/64: ~35 min on a 2-core CPU), cpu-30m "
        "(default without Matryoshka, stopped at 30 min), "
        "long (256 tokens, 3 epochs: hours), reference (long at lr 2e-5, the GPU reference recipe), tiny",
    )
    train.add_argument("--base-model", help="sentence-transformers folder (default: bundled all-MiniLM-L6-v2)")
    train.add_argument("--output-dir", default="runs")
    train.add_argument("--run-id", help="default: <dataset>-<preset>-<hash of settings and data>")
    train.add_argument("--epochs", type=float)
    train.add_argument("--lr", dest="learning_rate", type=float)
    train.add_argument("--batch-size", type=_positive_int)
    train.add_argument("--max-seq-length", type=_positive_int)
    train.add_argument("--loss", help="mnrl (default) or cached-mnrl")
    train.add_argument("--mini-batch-size", type=_positive_int, help="cached-mnrl: texts per forward pass")
    train.add_argument(
        "--matryoshka-dims",
        type=_dims_or_none,
        help="dims to train truncations for (at most the model's width), e.g. 256,128,64; none: full width only",
    )
    train.add_argument(
        "--hard-negatives", type=_non_negative_int, help="mine N hard negatives per pair with the base model"
    )
    train.add_argument("--seed", type=int)
    train.add_argument("--time-budget", type=_duration, dest="time_budget_s", help="stop training after e.g. 30m, 2h")
    train.add_argument(
        "--eval-steps", type=_positive_int, help="evaluate and checkpoint every N steps (default: each epoch)"
    )
    train.add_argument("--eval-sample", type=_positive_int, help="dev queries used to pick the best checkpoint")
    train.add_argument(
        "--bf16",
        choices=["auto", "yes", "no"],
        help="bf16 autocast: auto uses it where the hardware has it (faster; on medquad on a CPU it cost 0.026 "
        "NDCG@10 against no)",
    )
    train.add_argument(
        "--nproc",
        dest="processes",
        type=_positive_int,
        help="data-parallel training processes on this machine (DDP: gloo on CPUs, NCCL on GPUs; "
        "each takes --batch-size pairs per step)",
    )
    train.add_argument(
        "--unsupervised",
        metavar="METHODS",
        help="corpus-only: no queries read; pairs made from the --data passages by title (title -> passage), ict "
        "(a sentence -> the rest of its passage) and/or crops (two random spans), e.g. title,ict,crops; or tsdae alone "
        "(denoising auto-encoder on the passages' sentences)",
    )
    train.add_argument(
        "--sibling-negatives",
        action="store_true",
        default=None,
        help="corpus-only: give each pair a negative from the same title (another section of the document), so "
        "sections of one topic are told apart",
    )
    train.add_argument(
        "--query-log",
        metavar="FILE",
        help="unlabelled queries (.txt one per line, .jsonl 'text', or a BEIR folder's queries.jsonl): each is paired "
        "with the passage of --data the base model ranks first, where it leads the second by --pseudo-label-margin",
    )
    train.add_argument(
        "--pseudo-label-margin",
        type=float,
        metavar="COSINE",
        help="how far the top passage must lead the second to label a logged query (default 0.05)",
    )
    train.add_argument("--pii-scrub", action="store_true", default=None, help="replace emails, phones, IBANs, ...")
    train.add_argument(
        "--require-license",
        action="store_true",
        default=None,
        help="fail (instead of warning) when a --data source has no --license",
    )
    train.set_defaults(handler=handlers.run_train)

    pipeline = commands.add_parser(
        "pipeline",
        help="data -> finetune -> export -> quantize -> bench -> report, from one TOML file (needs [build])",
        description="Run every stage a pipeline config names. A stage whose inputs (content hashes) and output "
        "are unchanged is reported as cached and not run again.",
    )
    pipeline.add_argument("config", type=Path, help="pipeline TOML file")
    pipeline.add_argument("--check", action="store_true", help="only validate the config")
    pipeline.add_argument(
        "--feedback",
        type=Path,
        metavar="WORKSPACE",
        help="refresh: finetune the deployed artifact's checkpoint on the old data plus the feedback stored in "
        "WORKSPACE's registry (as the config's [refresh] section does)",
    )
    pipeline.add_argument(
        "--refresh",
        type=Path,
        metavar="ARTIFACT",
        help="the deployed artifact to refresh (default: refresh.artifact, else the one the last report recommends)",
    )
    pipeline.set_defaults(handler=handlers.run_pipeline_command)

    quickstart = commands.add_parser(
        "quickstart",
        help="the whole pipeline on the bundled industrial-maintenance sample (a few minutes on a laptop CPU)",
        description="Writes quickstart.toml into the workspace (edit it for your own data) and runs it.",
    )
    quickstart.add_argument("--workspace", type=Path, default=Path("edge-embed-quickstart"), help="output folder")
    quickstart.set_defaults(handler=handlers.run_quickstart)

    bench = commands.add_parser(
        "bench",
        help="latency/accuracy benchmark of artifacts on this machine, with lineage (report.json/.md, pareto.png)",
        description="Accuracy on a BEIR split, batch-1 latency p50/p95/p99, throughput, cold start and peak RSS, "
        "measured with the lean runtime in interleaved rounds. Every row carries its lineage back to the training run.",
    )
    bench.add_argument("artifacts", type=Path, nargs="+", metavar="ARTIFACT", help="artifact folders")
    bench.add_argument("--data", type=Path, required=True, help="BEIR folder")
    bench.add_argument("--split", default="test")
    bench.add_argument("-o", "--output", type=Path, required=True, help="report folder to create")
    bench.add_argument("--dims", type=_int_list, default=(), help="Matryoshka dims to score too, e.g. 256,128,64")
    bench.add_argument("--sample", type=_positive_int, help="N queries (+ their passages and 10N distractors), seeded")
    bench.add_argument("--rounds", type=_positive_int, default=5, help="interleaved timing rounds (default 5)")
    bench.add_argument(
        "--latency-queries", type=_positive_int, default=200, help="batch-1 calls per artifact per round"
    )
    bench.add_argument("--throughput-texts", type=_positive_int, default=128, help="passages per artifact per round")
    bench.add_argument("--batch-size", type=_positive_int, default=32, help="batch size for throughput and accuracy")
    bench.add_argument(
        "--threads", type=_positive_int, help="onnxruntime intra-op threads (default: all available CPUs)"
    )
    bench.add_argument("--no-cold-start", action="store_true", help="skip the fresh-process measurements")
    bench.add_argument("--no-cache", action="store_true", help="recompute accuracy even if cached")
    bench.add_argument("--budget-ms", type=float, help="recommend the most accurate artifact with p95 within this")
    bench.add_argument("--budget-mb", type=float, help="... and cold-start peak RSS within this")
    bench.add_argument("--min-ndcg", type=float, help="... with NDCG@10 at least this (alone: the fastest such)")
    bench.add_argument(
        "--reference",
        action="store_true",
        help="add sentence-transformers on PyTorch for the same checkpoint (needs [build])",
    )
    bench.add_argument(
        "--allow-broken-lineage", action="store_true", help="benchmark anyway, marking the broken link in the report"
    )
    bench.add_argument("--overwrite", action="store_true")
    bench.set_defaults(handler=handlers.run_bench)

    lineage = commands.add_parser(
        "lineage",
        help="print an artifact's chain back to its parents, checkpoint, run, base model and data",
        description="Follow parent links and the export source, checking every recorded sha256. Exit 1 when a "
        "link is missing or altered.",
    )
    lineage.add_argument("artifact", type=Path, help="artifact folder")
    lineage.add_argument("--json", action="store_true", help="print the chain as JSON")
    lineage.add_argument(
        "--strict", action="store_true", help="also fail when the checkpoint or run is not on this machine"
    )
    lineage.set_defaults(handler=handlers.run_lineage)

    package = commands.add_parser(
        "package",
        help="bundle an artifact as one .tar.gz for an offline device",
        description="Verify an artifact and write it as a reproducible .tar.gz (one folder, sorted entries).",
    )
    package.add_argument("artifact", type=Path, help="artifact folder")
    package.add_argument("-o", "--output", type=Path, required=True, help="bundle file to write (.tar.gz)")
    package.add_argument("--overwrite", action="store_true")
    package.add_argument(
        "--sign", type=Path, metavar="KEY", help="private key (edge-embed keygen): the bundle carries a signature"
    )
    package.set_defaults(handler=handlers.run_package)

    install = commands.add_parser(
        "install-artifact",
        help="unpack a bundle into an artifact folder, checking every file",
        description="Refuses path traversal, links and devices; checks every sha256 against the manifest before "
        "DEST appears.",
    )
    install.add_argument("bundle", type=Path, help="a .tar.gz written by `edge-embed package`")
    install.add_argument("dest", type=Path, help="artifact folder to create")
    install.add_argument("--overwrite", action="store_true")
    install.add_argument(
        "--trust",
        type=Path,
        action="append",
        metavar="PUBKEY",
        help="refuse the bundle unless a trusted key signed it (repeat for several keys; needs [sign])",
    )
    install.add_argument(
        "--max-bytes",
        type=_positive_int,
        default=None,
        help="largest total the bundle may write (default 8 GiB)",
    )
    install.set_defaults(handler=handlers.run_install)

    drift = commands.add_parser(
        "drift",
        help="do incoming texts still look like the texts the model was built for? (MMD test on its embeddings)",
        description="Compare a current sample of texts with a reference (texts, or a profile saved earlier so the "
        "device needs no reference texts) on the artifact's own embeddings. Verdict: stable, drifting or refresh "
        "recommended, with the current texts farthest from the reference. Exit 0 whatever the verdict.",
    )
    drift.add_argument("artifact", type=Path, help="artifact folder")
    drift.add_argument("--reference", type=Path, help="reference texts: a BEIR folder, .jsonl or .txt")
    drift.add_argument("--profile", type=Path, help="a reference profile saved with --save-profile")
    drift.add_argument("--current", type=Path, help="current texts: a BEIR folder, .jsonl or .txt")
    drift.add_argument("--save-profile", type=Path, metavar="FILE", help="save the reference as a profile (.npz)")
    drift.add_argument("--sample", type=_positive_int, default=500, help="texts per side, seeded (default 500)")
    drift.add_argument("--p-value", type=float, default=0.01, help="drifting below this MMD p-value (default 0.01)")
    drift.add_argument("--json", action="store_true", help="print the report as JSON")
    drift.set_defaults(handler=handlers.run_drift)

    calibrate = commands.add_parser(
        "calibrate",
        help="map cosine scores to probabilities of relevance, into a child artifact",
        description="Fit an isotonic (or Platt) map from cosine to the probability that a retrieved passage is "
        "relevant, on one split's top-10 results; report expected calibration error and Brier score before/after on "
        "another split; write a child artifact whose manifest holds the map (lineage kept).",
    )
    calibrate.add_argument("artifact", type=Path, help="the artifact to calibrate")
    calibrate.add_argument("--data", type=Path, required=True, help="BEIR folder with qrels")
    calibrate.add_argument("--split", default="dev", help="split to fit on (default dev)")
    calibrate.add_argument("--test-split", default="test", help="split to measure on (default test)")
    calibrate.add_argument("-o", "--output", type=Path, required=True, help="child artifact folder to create")
    calibrate.add_argument("--method", choices=["isotonic", "platt"], default="isotonic")
    calibrate.add_argument("--sample", type=_positive_int, help="N queries per split (+ passages and 10N others)")
    calibrate.add_argument("--plot", type=Path, metavar="PNG", help="write a reliability diagram (needs [plot])")
    calibrate.add_argument("--overwrite", action="store_true")
    calibrate.set_defaults(handler=handlers.run_calibrate)

    gc = commands.add_parser(
        "gc",
        help="list and remove what interrupted runs left (hidden .NAME.partial-* folders and files)",
        description="Finds the temporary siblings that killed exports, quantizations, installs and writes left "
        "below each FOLDER. One whose writer (the PID in its name) is still running is never touched.",
    )
    gc.add_argument("folders", type=Path, nargs="*", default=[Path(".")], help="folders to search (default: .)")
    gc.add_argument("--dry-run", action="store_true", help="only list what would be removed")
    gc.add_argument(
        "--min-age",
        type=_duration,
        default=3600.0,
        help="leftovers without a PID (older edge-embed) are removed once this old (default 1h)",
    )
    gc.set_defaults(handler=handlers.run_gc)

    keygen = commands.add_parser(
        "keygen",
        help="write an Ed25519 key pair for signing artifacts (needs [sign])",
        description="Writes KEY (private, mode 0600; keep it on the build machine) and KEY.pub (give it to devices).",
    )
    keygen.add_argument("key", type=Path, help="private key file to create; the public key goes to KEY.pub")
    keygen.set_defaults(handler=handlers.run_keygen)

    sign = commands.add_parser(
        "sign",
        help="sign an artifact's manifest (needs [sign])",
        description="Verify the artifact, then write edge_embed.json.sig: an Ed25519 signature over the manifest, "
        "which lists the sha256 of every file. Devices check it with --trust PUBKEY.",
    )
    sign.add_argument("artifact", type=Path, help="artifact folder")
    sign.add_argument("--key", type=Path, required=True, help="private key file (edge-embed keygen)")
    sign.set_defaults(handler=handlers.run_sign)

    workspace = argparse.ArgumentParser(add_help=False)
    workspace.add_argument(
        "--workspace",
        type=Path,
        default=Path(os.environ.get("EDGE_EMBED_WORKSPACE", ".")),
        help="folder whose .edge-embed/registry.sqlite to use (default: $EDGE_EMBED_WORKSPACE or .)",
    )
    workspace.add_argument("--json", action="store_true", help="print JSON")
    feedback = commands.add_parser("feedback", help="user feedback on search results, in the registry").add_subparsers(
        dest="feedback_command", required=True
    )
    feedback_import = feedback.add_parser(
        "import",
        parents=[workspace],
        help="store judgments from a .jsonl or .csv file (query, passage_id or passage, relevant[, at, user])",
    )
    feedback_import.add_argument("file", type=Path)
    feedback_import.add_argument("--corpus", type=Path, help="BEIR folder the passage ids refer to (checked)")
    feedback_import.set_defaults(handler=handlers.run_feedback_import)
    feedback_list = feedback.add_parser("summary", parents=[workspace], help="how much feedback is stored")
    feedback_list.set_defaults(handler=handlers.run_feedback_summary)
    health = commands.add_parser(
        "health",
        parents=[workspace],
        help="is the deployed artifact still as good as benchmarked? (feedback quality, drift)",
        description="NDCG@10 on the workspace's feedback against the artifact's benchmarked number, drift of "
        "current texts against a saved profile, calibration error on the judged pairs. Exit 0 when healthy, 1 when "
        "degraded (with the reasons).",
    )
    health.add_argument("artifact", type=Path, help="the deployed artifact")
    health.add_argument("--corpus", type=Path, required=True, help="BEIR folder the feedback's passage ids refer to")
    health.add_argument("--report", type=Path, help="bench report folder with the artifact's benchmarked NDCG@10")
    health.add_argument("--row", help="the report row to compare with (default: this artifact's own row)")
    health.add_argument("--max-drop", type=float, default=0.05, help="largest relative NDCG@10 drop (default 0.05)")
    health.add_argument("--profile", type=Path, help="drift profile (edge-embed drift --save-profile)")
    health.add_argument("--current", type=Path, help="current texts, checked for drift against --profile")
    health.set_defaults(handler=handlers.run_health)
    runs = commands.add_parser("runs", help="training runs in the registry").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    runs.add_parser("list", parents=[workspace], help="list runs, newest first").set_defaults(
        handler=handlers.run_runs_list
    )
    artifacts = commands.add_parser("artifacts", help="artifacts in the registry").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    listing = artifacts.add_parser("list", parents=[workspace], help="list artifacts with their latest benchmark")
    listing.add_argument("--sort", choices=["ndcg", "p95", "created"], default="created")
    listing.set_defaults(handler=handlers.run_artifacts_list)
    show = artifacts.add_parser("show", parents=[workspace], help="one artifact: manifest, lineage, benchmarks")
    show.add_argument("id", help="manifest sha256 prefix, folder name or path")
    show.set_defaults(handler=handlers.run_artifacts_show)
    registry = commands.add_parser("registry", help="the workspace's SQLite index").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    rebuild = registry.add_parser(
        "rebuild", parents=[workspace], help="re-index every run, artifact and report from the folders on disk"
    )
    rebuild.add_argument("roots", type=Path, nargs="*", help="folders to scan (default: the workspace)")
    rebuild.add_argument(
        "--strict", action="store_true", help="fail (keeping the old index) when a folder cannot be read"
    )
    rebuild.set_defaults(handler=handlers.run_registry_rebuild)

    _add_serve_commands(commands)

    info = commands.add_parser("info", help="describe an artifact folder", description="Print an artifact's manifest.")
    info.add_argument("artifact", type=Path, help="artifact folder")
    info.add_argument("--json", action="store_true", help="print the raw manifest JSON")
    info.add_argument(
        "--verify", action="store_true", help="also check every file's sha256, the manifest's seal and signature"
    )
    info.add_argument(
        "--trust", type=Path, action="append", metavar="PUBKEY", help="with --verify: require a signature by this key"
    )
    info.set_defaults(handler=handlers.run_info)
    return parser


def _add_serve_commands(commands: Any) -> None:
    """``serve``, ``index build|add`` and ``search``: the device's service and local search."""
    serve = commands.add_parser(
        "serve",
        help="serve an artifact over HTTP: OpenAI /v1/embeddings and TEI /embed (needs [serve])",
        description="Serve an artifact on loopback (by default) with dynamic micro-batching. Routes: POST "
        "/v1/embeddings (OpenAI), /embed, /tokenize, /similarity (TEI); GET /health, /info, /metrics (Prometheus).",
    )
    serve.add_argument(
        "artifact", type=Path, help="artifact folder, or a bench report folder: serve its pick for --workload"
    )
    serve.add_argument(
        "--workload",
        choices=list(handlers.SERVED_WORKLOADS),
        help="with a bench report: the workload whose pick to serve (default: short-texts, what a micro-batching "
        "service runs)",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    serve.add_argument("--port", type=int, default=8080, help="port (default: 8080)")
    serve.add_argument(
        "--api-key", help="require Authorization: Bearer KEY (default: $EDGE_EMBED_API_KEY if set, else no key)"
    )
    serve.add_argument(
        "--threads", type=_positive_int, help="onnxruntime intra-op threads (default: all available CPUs)"
    )
    serve.add_argument(
        "--max-batch-tokens", type=_positive_int, default=8192, help="tokens per model batch (default: 8192)"
    )
    serve.add_argument(
        "--max-batch-requests", type=_positive_int, default=64, help="requests per model batch (default: 64)"
    )
    serve.add_argument(
        "--max-wait-ms", type=float, default=0.0, help="wait this long for more requests to batch (default: 0)"
    )
    serve.add_argument(
        "--max-concurrent-requests",
        type=_positive_int,
        default=512,
        help="queued or running requests before 429 (default: 512)",
    )
    serve.add_argument("--max-inputs", type=_positive_int, default=2048, help="texts per request (default: 2048)")
    serve.add_argument("--max-chars", type=_positive_int, default=65536, help="characters per text (default: 65536)")
    serve.add_argument("--model-name", help="the model name answered in responses (default: the folder's name)")
    serve.add_argument("--no-warmup", action="store_true", help="skip the warm-up batches at start")
    serve.add_argument("--no-verify", action="store_true", help="skip the sha256 check of the model file on load")
    serve.add_argument(
        "--compile-cache",
        type=Path,
        metavar="DIR",
        help="OpenVINO artifacts: keep the compiled model in DIR so restarts skip compiling (a folder only this "
        "user can write)",
    )
    _add_trust(serve)
    serve.add_argument(
        "--feedback", type=Path, metavar="WORKSPACE", help="accept POST /feedback into this workspace's registry"
    )
    serve.add_argument("--index", type=Path, help="an index folder built with this artifact: enables POST /search")
    serve.set_defaults(handler=handlers.run_serve)

    index = commands.add_parser("index", help="local search indexes (build, add)").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    build = index.add_parser(
        "build",
        help="embed a corpus into a new index folder",
        description="Embed documents (a BEIR folder, .jsonl or .txt with one document per line) as passages and "
        "write an index folder tied to the artifact.",
    )
    build.add_argument("artifact", type=Path, help="artifact folder")
    build.add_argument("corpus", type=Path, help="BEIR folder (corpus.jsonl), .jsonl file or text file")
    build.add_argument("-o", "--output", type=Path, required=True, help="index folder to create")
    build.add_argument(
        "--precision",
        choices=["float32", "int8", "binary"],
        default="float32",
        help="stored vectors: float32 (exact), int8 (1/4 the memory) or binary with float rescoring (1/32)",
    )
    build.add_argument("--dim", type=_positive_int, help="Matryoshka: index the first DIM components")
    build.add_argument("--ann", action="store_true", help="also build an HNSW graph for large corpora (needs [ann])")
    build.add_argument(
        "--from-parquet",
        type=Path,
        metavar="VECTORS",
        help="use the vectors edge-embed embed-corpus wrote for this artifact and corpus instead of embedding",
    )
    build.add_argument("--field", default="text", help="JSON field holding the text (default: text)")
    build.add_argument("--id-field", default="_id", help="JSON field holding the id (default: _id, or id)")
    build.add_argument("--overwrite", action="store_true")
    build.set_defaults(handler=handlers.run_index_build)
    add = index.add_parser("add", help="embed more documents into an index (atomically)")
    add.add_argument("index", type=Path, help="index folder")
    add.add_argument("corpus", type=Path, help="BEIR folder, .jsonl file or text file")
    add.add_argument("--artifact", type=Path, help="the artifact (default: the one the index records)")
    add.add_argument("--field", default="text")
    add.add_argument("--id-field", default="_id")
    add.set_defaults(handler=handlers.run_index_add)

    search = commands.add_parser("search", help="search an index with a query", description="Search an index.")
    search.add_argument("index", type=Path, help="index folder")
    search.add_argument("queries", nargs="+", metavar="QUERY", help="search queries")
    search.add_argument("-k", type=_positive_int, default=10, help="hits per query (default: 10)")
    search.add_argument("--artifact", type=Path, help="the artifact (default: the one the index records)")
    search.add_argument("--json", action="store_true", help="print JSON lines, one per query")
    search.set_defaults(handler=handlers.run_search)


def _add_trust(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--trust",
        type=Path,
        action="append",
        metavar="PUBKEY",
        help="load only an artifact signed by this key (repeat for several; needs [sign])",
    )


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {number}")
    return number


def _non_negative_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {number}")
    return number


def _int_list(value: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {value!r}") from None


def _dims_or_none(value: str) -> tuple[int, ...]:
    """``--matryoshka-dims``: comma-separated positive dims, or ``none`` (switches a preset's Matryoshka loss off)."""
    if value.strip().lower() == "none":
        return ()
    dims = _int_list(value)
    if not dims or min(dims) < 1:
        raise argparse.ArgumentTypeError(f"expected positive comma-separated dims or none, got {value!r}")
    return dims


def _duration(value: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        return float(value[:-1]) * units[value[-1]] if value[-1] in units else float(value)
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(f"expected a duration like 90s, 30m or 2h, got {value!r}") from None


def _str_list(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


if __name__ == "__main__":
    sys.exit(main())
