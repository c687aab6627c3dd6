"""The ``edge-embed`` command. Lean at the top: build-side commands import their libraries only when run."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from edge_embed import __version__
from edge_embed.errors import EdgeEmbedError, InputError


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


def _log_to_stderr() -> None:
    """Show edge-embed's own progress messages (not the libraries') as ``edge-embed: ...`` lines."""
    logger = logging.getLogger("edge_embed")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("edge-embed: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


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
    export.add_argument("--checkpoint", dest="which", choices=["best", "last"], default="best",
                        help="for run folders: the best recorded checkpoint (default) or the last one")
    export.add_argument("--pooling", choices=["mean", "cls", "max", "lasttoken", "mean_sqrt_len_tokens"],
                        help="override the pooling read from the model's config")
    export.add_argument("--normalize", action=argparse.BooleanOptionalAction, default=None,
                        help="override whether embeddings are L2-normalized")
    export.add_argument("--max-seq-length", type=int, help="override the maximum tokens per text")
    export.add_argument("--matryoshka-dims", type=_int_list, help="comma-separated dims the model was trained for")
    export.add_argument("--opset", type=int, help="ONNX opset (default: Optimum's choice)")
    export.add_argument("--single-file", action="store_true",
                        help="keep weights inside model.onnx (default: model.onnx_data beside it, memory-mapped)")
    export.add_argument("--overwrite", action="store_true", help="replace the output folder once the new one is complete")
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
    embed.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="show a progress bar (default: when stderr is a terminal)")
    embed.set_defaults(handler=_run_embed)

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
