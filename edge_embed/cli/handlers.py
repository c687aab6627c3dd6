"""What each ``edge-embed`` command does once its arguments are parsed. Build-side commands import their
libraries inside the handler, so the CLI's own import stays lean."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from edge_embed.errors import InputError
from edge_embed.tables import format_table

# serve --workload: the bench report's workloads, spelled for a command line
SERVED_WORKLOADS = {"short-texts": "short texts", "batch-1-queries": "batch-1 queries", "documents": "documents"}

if TYPE_CHECKING:
    from edge_embed.data.beir import RetrievalDataset
    from edge_embed.data.texts import TextSample
    from edge_embed.index import VectorIndex
    from edge_embed.pipeline.config import PipelineConfig
    from edge_embed.quantize.quantizer import QuantizeResult
    from edge_embed.registry import Registry
    from edge_embed.runtime import Embedder


def run_train(args: argparse.Namespace) -> int:
    """Run ``edge-embed train``."""
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
        "processes",
        "unsupervised",
        "sibling_negatives",
        "query_log",
        "pseudo_label_margin",
    )
    config = preset(
        args.preset,
        data=tuple(DataSource(str(path), args.split, lic) for path, lic in zip(args.data, licenses, strict=True)),
        eval_data=str(args.eval_data) if args.eval_data else None,
        **{name: getattr(args, name) for name in fields},
    )
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    from edge_embed.records import RunRecord, WallTime
    from edge_embed.tables import base_vs_finetuned_table
    from edge_embed.train.distributed import current_rank
    from edge_embed.train.trainer import train

    run = train(config, show_progress=sys.stderr.isatty())
    if not current_rank().is_main:  # under torchrun: rank 0 alone evaluates, writes run.json and reports
        return 0
    record = RunRecord.read(run)
    print(base_vs_finetuned_table(record))
    times = record.wall_time or WallTime()
    print(
        f"run {record.run_id}: {run}  (training {times.training / 60:.1f} min, "
        f"evaluation {times.evaluation / 60:.1f} min)"
    )
    print(f"next: edge-embed export {run} -o artifacts/{record.run_id}")
    return 0


def load_eval(folder: Path, split: str, sample: int | None) -> RetrievalDataset:
    """One split of a BEIR folder, or a seeded sample of it (N queries, their passages, 10N others)."""
    from edge_embed.data.beir import load_beir

    dataset = load_beir(folder, split)
    return dataset.sample(sample, 10 * sample) if sample else dataset


def run_quantize(args: argparse.Namespace) -> int:
    """Run ``edge-embed quantize``."""
    from edge_embed._extras import require_build

    require_build("edge-embed quantize", ("onnx",))
    logging.getLogger().setLevel(logging.ERROR)  # onnxruntime's quantizer logs every tensor at the root logger
    from edge_embed.quantize.config import QuantizationConfig

    config = QuantizationConfig.for_target(
        args.method,
        args.target,
        optimize=args.optimize,
        activations=args.activations,
        per_channel=args.per_channel,
        reduce_range=args.reduce_range,
        calibration=args.calibration_method,
        calibration_size=args.calibration_size,
        block_size=args.block_size,
        nncf_preset=args.nncf_preset,
        nodes_to_exclude=args.exclude_nodes,
    )
    # Read every input before any work, so bad data fails in a second, not after quantizing.
    calibration = None
    if args.calibration is not None:
        calibration = _calibration_texts(args.calibration, args.calibration_size, args.calibration_split)
    dataset = load_eval(args.eval_data, args.split, args.eval_sample) if args.eval_data else None
    from edge_embed.quantize.quantizer import quantize_artifact

    options = dict(max_drop=args.max_drop, auto=args.auto, force=args.force, overwrite=args.overwrite)
    if dataset is None and args.fallback:
        print(
            "edge-embed: note: --fallback has no effect without --eval (with no gate, no candidate can fail)",
            file=sys.stderr,
        )
    if dataset is not None and args.fallback is not False:
        from edge_embed.quantize.fallback import quantize_with_fallback

        # Calibrated fallbacks read the user's texts, else the gate folder's passages of its training split.
        source, split = (args.calibration, args.calibration_split) if args.calibration else (args.eval_data, "train")

        def read_calibration(size: int) -> TextSample | None:
            try:
                return _calibration_texts(source, size, split)
            except InputError:  # e.g. no train split in the gate's folder: calibrated fallbacks are skipped
                return None

        result = quantize_with_fallback(
            args.artifact, args.output, config, dataset, read_calibration, batch_size=args.batch_size, **options
        )
    else:
        result = quantize_artifact(
            args.artifact,
            args.output,
            config,
            calibration=calibration,
            eval_dataset=dataset,
            batch_size=args.batch_size,
            **options,
        )
    _print_quantized(args.artifact, result)
    return 0


def _print_quantized(parent: Path, result: QuantizeResult) -> None:
    """The candidates the fallback tried, then the parent and the child side by side."""
    if len(result.candidates) > 1:
        for tried in result.candidates[:-1]:
            print(f"edge-embed: {tried.recipe}: {tried.outcome()}", file=sys.stderr)
        print(f"edge-embed: passed with {result.manifest.graph.precision}", file=sys.stderr)
    parent_size = folder_mb(parent)
    child_size = folder_mb(result.path)
    rows: list[list[object]] = [
        ["parent", "fp32", parent_size, "-"],
        [str(result.path), result.manifest.graph.precision, child_size, f"{child_size / parent_size:.0%}"],
    ]
    if result.gate:
        rows[0].append(result.gate.parent["ndcg@10"])
        rows[1].append(result.gate.child["ndcg@10"])
    headers = ["artifact", "precision", "model MB", "size"] + (["ndcg@10"] if result.gate else [])
    print(format_table(headers, rows))
    if "kept_fp32" in result.auto:
        print(f"kept in fp32 by --auto: {', '.join(result.auto['kept_fp32'])}")
    elif "accuracy_control" in result.auto:
        control = result.auto["accuracy_control"]
        print(f"NNCF accuracy control: {control['evaluations']} evaluations of the gate's metric")


def _calibration_texts(path: Path, size: int, split: str | None) -> TextSample:
    from edge_embed.data.texts import read_domain_texts

    calibration = read_domain_texts(path, size, split=split)
    if calibration.skipped_lines:
        lines = ", ".join(map(str, calibration.skipped_lines[:10]))
        print(
            f"edge-embed: skipped {len(calibration.skipped_lines)} unreadable calibration lines ({lines})",
            file=sys.stderr,
        )
    return calibration


def folder_mb(folder: Path) -> float:
    """Size of an artifact's graph files in MB."""
    from edge_embed.lineage.manifest import read_manifest

    manifest = read_manifest(folder)
    return sum((folder / name).stat().st_size for name in manifest.graph.files) / 1e6


def run_eval(args: argparse.Namespace) -> int:
    """Run ``edge-embed eval``."""
    from edge_embed.eval.retrieval import evaluate_artifact
    from edge_embed.runtime import Embedder
    from edge_embed.tables import format_table

    dataset = load_eval(args.data, args.split, args.sample)
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


def run_export(args: argparse.Namespace) -> int:
    """Run ``edge-embed export``."""
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


def run_distill(args: argparse.Namespace) -> int:
    """Run ``edge-embed distill``."""
    from edge_embed._extras import require_build

    require_build("edge-embed distill")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    from edge_embed.export.static import distill_artifact

    path = distill_artifact(
        args.checkpoint,
        args.output,
        which=args.which,
        pca_dims=args.pca_dims,
        sif_coefficient=args.sif_coefficient,
        overwrite=args.overwrite,
    )
    print(path)
    return 0


def run_embed_corpus(args: argparse.Namespace) -> int:
    """Run ``edge-embed embed-corpus``."""
    from edge_embed.scale import embed_corpus

    job = embed_corpus(
        args.artifact,
        args.corpus,
        args.output,
        args.engine,
        workers=args.workers,
        threads=args.threads,
        address=args.address,
        batch_size=args.batch_size,
        shard_size=args.shard_size,
        text_field=args.text_field,
        id_field=args.id_field,
        overwrite=args.overwrite,
        show_progress=sys.stderr.isatty(),
    )
    resumed = f", {job.resumed_shards} of {job.shards} shards from an earlier run" if job.resumed_shards else ""
    print(
        f"{job.output}: {job.passages} passages in {job.shards} shards on {job.engine.value}{resumed}, "
        f"{job.seconds:.1f} s ({job.passages_per_s:.0f} passages/s)"
    )
    return 0


def run_embed(args: argparse.Namespace) -> int:
    """Run ``edge-embed embed``."""
    from edge_embed.cli.texts import check_vector_output, read_lines, read_texts_file, write_vectors
    from edge_embed.runtime import Embedder
    from edge_embed.runtime.embedder import DEFAULT_MAX_BATCH_TOKENS

    if args.texts and args.file:
        raise InputError("give texts as arguments or with --file, not both")
    check_vector_output(args.output)
    if args.file:
        texts = read_texts_file(args.file, args.field)
    elif args.texts:
        texts = list(args.texts)
    elif sys.stdin is not None and not sys.stdin.closed and not sys.stdin.isatty():
        texts = read_lines(sys.stdin.buffer, "<stdin>")
    else:
        raise InputError("no texts: pass TEXT arguments, --file FILE, or pipe lines on stdin")
    if args.trust and args.no_verify:
        raise InputError("--trust checks every file: it cannot be combined with --no-verify")
    embedder = Embedder.load(
        args.artifact, threads=args.threads, dim=args.dim, verify=not args.no_verify, trust=args.trust
    )
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    budget = DEFAULT_MAX_BATCH_TOKENS if args.max_batch_tokens is None else args.max_batch_tokens or None
    vectors = embedder.embed(
        texts, batch_size=args.batch_size, kind=args.kind, show_progress=progress, max_batch_tokens=budget
    )
    write_vectors(vectors, args.output, sys.stdout)
    if args.output is not None:
        print(f"edge-embed: wrote {vectors.shape[0]} x {vectors.shape[1]} vectors to {args.output}", file=sys.stderr)
    return 0


def run_serve(args: argparse.Namespace) -> int:
    """Run ``edge-embed serve``: load, warm up, serve until SIGTERM/SIGINT (in-flight requests are finished)."""
    import os

    from edge_embed.runtime import Embedder
    from edge_embed.serve import ServeSettings, create_app, run  # one line naming [serve] if it is missing

    if not 0 < args.port < 65536:
        raise InputError(f"--port must be from 1 to 65535, got {args.port}")
    settings = ServeSettings(
        max_batch_tokens=args.max_batch_tokens,
        max_batch_requests=args.max_batch_requests,
        max_wait_ms=args.max_wait_ms,
        max_concurrent_requests=args.max_concurrent_requests,
        max_inputs=args.max_inputs,
        max_chars=args.max_chars,
        api_key=args.api_key if args.api_key is not None else os.environ.get("EDGE_EMBED_API_KEY"),
        warmup=not args.no_warmup,
        model_name=args.model_name,
    )
    if args.trust and args.no_verify:
        raise InputError("--trust checks every file: it cannot be combined with --no-verify")
    artifact = _served_artifact(args.artifact, args.workload)
    embedder = Embedder.load(
        artifact,
        threads=args.threads,
        verify=not args.no_verify,
        trust=args.trust,
        compile_cache=args.compile_cache,
    )
    index = None
    if args.index is not None:
        from edge_embed.index import VectorIndex

        index = VectorIndex.open(args.index)  # create_app checks it was built with this artifact
    feedback = None
    if args.feedback is not None:
        from edge_embed.lifecycle.feedback import FeedbackStore
        from edge_embed.registry import registry_path

        feedback = FeedbackStore(registry_path(args.feedback), threads=True)
    app = create_app(embedder, settings, index=index, feedback=feedback)
    print(
        f"edge-embed: serving {artifact} on http://{args.host}:{args.port} "
        f"(POST /v1/embeddings, /embed{', /search' if index is not None else ''}"
        f"{', /feedback' if feedback is not None else ''}; GET /health, /info, /metrics)"
        f"{' with an API key' if settings.api_key else ''}",
        file=sys.stderr,
    )
    run(app, args.host, args.port)
    return 0


def _served_artifact(target: Path, workload: str | None) -> Path:
    """``target`` itself, or the artifact a bench report folder picks for the service's workload."""
    from edge_embed.records.bench import REPORT_FILE

    if not (target / REPORT_FILE).is_file():
        if workload is not None:
            raise InputError(f"--workload picks from a bench report folder; {target} holds no {REPORT_FILE}")
        return target
    from edge_embed.bench.report import workload_pick

    pick = workload_pick(target, SERVED_WORKLOADS[workload or "short-texts"])
    print(f"edge-embed: {target} picks {pick.describe()}", file=sys.stderr)
    return Path(pick.path)


def run_index_build(args: argparse.Namespace) -> int:
    """Run ``edge-embed index build``."""
    from edge_embed.index import VectorIndex, read_documents
    from edge_embed.runtime import Embedder

    if args.output.exists() and not args.overwrite:  # before the embedding work
        raise InputError(f"{args.output} already exists; choose another index folder or pass --overwrite")
    documents = read_documents(args.corpus, args.field, args.id_field)
    if args.from_parquet:  # vectors embed-corpus made (on a cluster, say): check they are this artifact's
        from edge_embed.lineage.manifest import manifest_sha256
        from edge_embed.scale import read_corpus_vectors

        Embedder.load(args.artifact)  # verifies the artifact the index will name
        vectors = read_corpus_vectors(args.from_parquet).aligned_to(
            [d.id for d in documents], manifest_sha256(args.artifact)
        )
        index = VectorIndex.from_vectors(
            args.artifact, documents, vectors, args.output, args.precision, args.overwrite, dim=args.dim, ann=args.ann
        )
    else:
        index = VectorIndex.build(
            Embedder.load(args.artifact),
            documents,
            args.output,
            args.precision,
            args.overwrite,
            sys.stderr.isatty(),
            dim=args.dim,
            ann=args.ann,
        )
    print(
        f"edge-embed: indexed {len(index)} documents into {args.output} "
        f"({index.manifest.precision} x {index.manifest.dim}, {index.memory_bytes / 1e6:.1f} MB of vectors)",
        file=sys.stderr,
    )
    return 0


def run_index_add(args: argparse.Namespace) -> int:
    """Run ``edge-embed index add``."""
    from edge_embed.index import VectorIndex, read_documents

    index = VectorIndex.open(args.index)
    documents = read_documents(args.corpus, args.field, args.id_field)
    grown = index.add(_index_embedder(index, args.artifact), documents, sys.stderr.isatty())
    print(f"edge-embed: added {len(documents)} documents; {args.index} holds {len(grown)}", file=sys.stderr)
    return 0


def run_search(args: argparse.Namespace) -> int:
    """Run ``edge-embed search``."""
    from edge_embed.index import VectorIndex

    index = VectorIndex.open(args.index)
    results = index.search(_index_embedder(index, args.artifact), args.queries, k=args.k)
    for query, hits in zip(args.queries, results, strict=True):
        if args.json:
            print(json.dumps({"query": query, "hits": [h.to_dict() for h in hits]}, ensure_ascii=False))
            continue
        print(f"query: {query}")
        calibrated = any(h.probability is not None for h in hits)
        rows = [
            [i, f"{h.score:.4f}", *([f"{h.probability:.2f}"] if h.probability is not None else []), h.id]
            + [(h.title + ": " if h.title else "") + h.text[:80]]
            for i, h in enumerate(hits, 1)
        ]
        print(format_table(["rank", "score", *(["p(relevant)"] if calibrated else []), "id", "text"], rows))
    return 0


def _index_embedder(index: VectorIndex, artifact: Path | None) -> Embedder:
    """The artifact given, or the one the index records (checked against the index either way)."""
    from edge_embed.runtime import Embedder

    path = artifact if artifact is not None else Path(index.manifest.artifact_path)
    if artifact is None and not path.is_dir():
        raise InputError(f"the index's artifact {path} is gone; pass --artifact with the same artifact")
    embedder = Embedder.load(path)
    index.check(embedder)
    return embedder


def run_info(args: argparse.Namespace) -> int:
    """Run ``edge-embed info``."""
    from edge_embed.cli.info import format_manifest
    from edge_embed.lineage.manifest import read_manifest
    from edge_embed.lineage.verify import verify_artifact

    if args.trust and not args.verify:
        raise InputError("--trust checks the signature: use it with --verify")
    manifest = read_manifest(args.artifact)
    verification = verify_artifact(args.artifact, manifest, trust=args.trust) if args.verify else None
    if args.json:
        print(json.dumps(manifest.to_dict(), indent=2, sort_keys=True, ensure_ascii=False))
    else:
        print(format_manifest(args.artifact, manifest))
        for line in verification.lines() if verification else []:
            print(line)
    return 0


def run_bench(args: argparse.Namespace) -> int:
    """Run ``edge-embed bench``."""
    from dataclasses import replace

    from edge_embed.bench import BenchSettings, recommend, run_bench, write_report
    from edge_embed.bench.report import recommendation_line, summary_table, workload_picks

    settings = BenchSettings(
        rounds=args.rounds,
        latency_queries=args.latency_queries,
        throughput_texts=args.throughput_texts,
        batch_size=args.batch_size,
        threads=args.threads,
        cold_start=not args.no_cold_start,
        use_cache=not args.no_cache,
    )
    if args.output.exists() and not args.overwrite:  # fail now, not after the measurements
        raise InputError(f"{args.output} already exists; choose another report folder or pass --overwrite")
    dataset = load_eval(args.data, args.split, args.sample)
    report = run_bench(
        args.artifacts,
        dataset,
        dims=args.dims,
        settings=settings,
        reference=args.reference,
        allow_broken_lineage=args.allow_broken_lineage,
        show_progress=sys.stderr.isatty(),
    )
    report = replace(
        report,
        dataset=replace(report.dataset, path=str(args.data)),
        recommendation=recommend(report.rows, args.budget_ms, args.budget_mb, args.min_ndcg),
    )
    folder = write_report(report, args.output, overwrite=args.overwrite)
    print(summary_table(report))
    if report.recommendation:
        print(recommendation_line(report.recommendation).replace("**", ""))
    picks = workload_picks(report.rows)
    if len({pick.label for pick in picks}) > 1:  # the workloads disagree: say which artifact serves which
        print("per workload: " + "; ".join(pick.describe() for pick in picks))
    print(f"report: {folder}/report.md, {folder}/report.json, {folder}/pareto.png")
    return 0


def run_lineage(args: argparse.Namespace) -> int:
    """Run ``edge-embed lineage``."""
    from edge_embed.lineage.chain import resolve_lineage

    lineage = resolve_lineage(args.artifact)
    if args.json:
        print(json.dumps(lineage.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(lineage.format_tree())
    lineage.check(strict=args.strict)
    return 0


def run_package(args: argparse.Namespace) -> int:
    """Run ``edge-embed package``."""
    from edge_embed.deploy import package_artifact

    path = package_artifact(args.artifact, args.output, overwrite=args.overwrite, sign=args.sign)
    signed = ", signed" if args.sign else ""
    print(f"{path}  ({path.stat().st_size / 1e6:.1f} MB{signed})")
    return 0


def run_install(args: argparse.Namespace) -> int:
    """Run ``edge-embed install-artifact``."""
    from edge_embed.deploy import install_artifact
    from edge_embed.deploy.bundle import DEFAULT_MAX_BYTES

    path = install_artifact(
        args.bundle,
        args.dest,
        overwrite=args.overwrite,
        trust=args.trust,
        max_bytes=args.max_bytes or DEFAULT_MAX_BYTES,
    )
    trusted = "; signed by a trusted key" if args.trust else ""
    print(f"{path}  (every file matches its sha256{trusted})")
    return 0


def run_drift(args: argparse.Namespace) -> int:
    """Run ``edge-embed drift``."""
    from edge_embed.lifecycle.drift import DriftThresholds, detect_drift
    from edge_embed.lifecycle.profile import CURRENT_SEED, DriftProfile, read_sample
    from edge_embed.runtime import Embedder

    if (args.reference is None) == (args.profile is None):
        raise InputError("give the reference as --reference TEXTS or --profile FILE (one of them)")
    if args.current is None and args.save_profile is None:
        raise InputError("nothing to do: give --current TEXTS to compare, or --save-profile FILE")
    thresholds = DriftThresholds(p_value=args.p_value)
    embedder = Embedder.load(args.artifact)
    if args.profile is not None:
        reference = DriftProfile.load(args.profile, args.artifact).sample
    else:
        reference = read_sample(embedder, args.reference, args.sample)
    if args.save_profile is not None:
        DriftProfile.of(args.artifact, reference, str(args.reference)).save(args.save_profile)
        print(
            f"edge-embed: saved the reference profile ({len(reference.vectors)} texts) to {args.save_profile}",
            file=sys.stderr,
        )
    if args.current is None:
        return 0
    report = detect_drift(reference, read_sample(embedder, args.current, args.sample, seed=CURRENT_SEED), thresholds)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        return 0
    rows = [
        ["MMD² (p-value)", f"{report.mmd2:.5f} ({report.mmd_p_value:.4f})"],
        ["classifier ROC AUC (null 95%)", f"{report.classifier_auc:.3f} ({report.classifier_threshold:.3f})"],
        ["centroid shift", f"{report.centroid_shift:.4f}"],
        ["drifted components", f"{report.drifted_components:.0%}"],
        [
            "nearest-neighbour similarity",
            f"{report.nn_similarity:.3f} (reference {report.reference_nn_similarity:.3f})",
        ],
        [
            "unknown tokens",
            f"{report.current_tokens.unknown_rate:.2%} (reference {report.reference_tokens.unknown_rate:.2%})",
        ],
        [
            "tokens per word",
            f"{report.current_tokens.tokens_per_word:.2f} (reference {report.reference_tokens.tokens_per_word:.2f})",
        ],
    ]
    print(format_table(["statistic", "value"], rows))
    print(f"\nverdict: {report.verdict.value}")
    for reason in report.reasons:
        print(f"  - {reason}")
    if report.farthest:
        print("current texts farthest from the reference:")
        for similarity, text in report.farthest[:5]:
            print(f"  {similarity:.3f}  {text[:100]}")
    return 0


def run_calibrate(args: argparse.Namespace) -> int:
    """Run ``edge-embed calibrate``."""
    from edge_embed.lifecycle.calibrate import calibrate_artifact, reliability_diagram

    if args.output.exists() and not args.overwrite:  # before the embedding work
        raise InputError(f"{args.output} already exists; choose another folder or pass --overwrite")
    result = calibrate_artifact(
        args.artifact,
        args.data,
        args.output,
        split=args.split,
        test_split=args.test_split,
        method=args.method,
        sample=args.sample,
        overwrite=args.overwrite,
    )
    q = result.quality
    print(
        f"{result.path}  ({result.calibration.method.value}, fitted on {result.calibration.fitted_on}, "
        f"{result.calibration.pairs} pairs)"
    )
    print(
        format_table(
            [f"on {q.split} ({q.pairs} pairs)", "raw cosine (min-max)", "calibrated"],
            [
                ["expected calibration error", f"{q.ece_raw:.4f}", f"{q.ece_calibrated:.4f}"],
                ["Brier score", f"{q.brier_raw:.4f}", f"{q.brier_calibrated:.4f}"],
            ],
        )
    )
    if args.plot is not None:
        print(f"reliability diagram: {reliability_diagram(result, args.plot)}")
    return 0


def run_feedback_import(args: argparse.Namespace) -> int:
    """Run ``edge-embed feedback import``."""
    from edge_embed.lifecycle.feedback import FeedbackStore, check_passage_ids, read_feedback
    from edge_embed.registry import registry_path

    judgments = read_feedback(args.file)
    if any(j.passage_id is not None for j in judgments):
        if args.corpus is None:
            raise InputError("the feedback names passages by id: give --corpus BEIR_FOLDER so the ids can be checked")
        from edge_embed.data.beir import load_corpus

        check_passage_ids(judgments, set(load_corpus(args.corpus)), str(args.file))
    with FeedbackStore(registry_path(args.workspace)) as store:
        added = store.add(judgments, source=str(args.file))
        total = len(store.judgments())
    relevant = sum(j.relevant for j in judgments)
    print(f"{registry_path(args.workspace)}: added {added} judgments ({relevant} relevant); {total} stored")
    return 0


def run_feedback_summary(args: argparse.Namespace) -> int:
    """Run ``edge-embed feedback summary``."""
    from edge_embed.lifecycle.feedback import FeedbackStore
    from edge_embed.registry import registry_path

    path = registry_path(args.workspace)
    if not path.is_file():
        raise InputError(f"no registry at {path}; import feedback with `edge-embed feedback import FILE`")
    with FeedbackStore(path) as store:
        judgments = store.judgments()
    summary = {
        "judgments": len(judgments),
        "relevant": sum(j.relevant for j in judgments),
        "queries": len({j.query for j in judgments}),
        "users": len({j.user for j in judgments if j.user}),
        "first": min((j.at for j in judgments), default=None),
        "last": max((j.at for j in judgments), default=None),
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(format_table(["judgments", "relevant", "queries", "users", "first", "last"], [list(summary.values())]))
    return 0


def run_health(args: argparse.Namespace) -> int:
    """Run ``edge-embed health``."""
    from edge_embed.lifecycle.feedback import FeedbackStore
    from edge_embed.lifecycle.health import Health, check_health
    from edge_embed.registry import registry_path
    from edge_embed.runtime import Embedder

    if (args.profile is None) != (args.current is None):
        raise InputError("drift needs both --profile FILE and --current TEXTS")
    path = registry_path(args.workspace)
    if not path.is_file():
        raise InputError(f"no registry at {path}; import feedback with `edge-embed feedback import FILE`")
    with FeedbackStore(path) as store:
        judgments = store.judgments()
    embedder = Embedder.load(args.artifact)
    drift = None
    if args.profile is not None:
        from edge_embed.lifecycle.drift import detect_drift
        from edge_embed.lifecycle.profile import CURRENT_SEED, DriftProfile, read_sample

        reference = DriftProfile.load(args.profile, args.artifact).sample
        drift = detect_drift(reference, read_sample(embedder, args.current, seed=CURRENT_SEED))
    report = check_health(
        args.artifact,
        judgments,
        args.corpus,
        report=args.report,
        row=args.row,
        max_drop=args.max_drop,
        drift=drift,
        embedder=embedder,
    )
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        rows = [
            ["judged queries", str(report.feedback_queries)],
            ["NDCG@10 on feedback", f"{report.feedback_ndcg:.4f}"],
            ["benchmarked NDCG@10", "-" if report.benchmarked_ndcg is None else f"{report.benchmarked_ndcg:.4f}"],
            ["relative drop", "-" if report.relative_drop is None else f"{report.relative_drop:+.1%}"],
            ["drift", report.drift or "-"],
            ["ECE on feedback", "-" if report.feedback_ece is None else f"{report.feedback_ece:.4f}"],
        ]
        print(format_table(["health of " + str(args.artifact), "value"], rows))
        print(f"\nverdict: {report.verdict.value}")
        for reason in report.reasons:
            print(f"  - {reason}")
    return 0 if report.verdict is Health.HEALTHY else 1


def run_gc(args: argparse.Namespace) -> int:
    """Run ``edge-embed gc``."""
    from edge_embed.lineage.debris import find_leftovers, remove

    for folder in args.folders:
        if not folder.is_dir():
            raise InputError(f"{folder} is not a folder")
    leftovers = find_leftovers(args.folders)
    rows, freed = [], 0
    for leftover in leftovers:
        stale, size = leftover.stale(args.min_age), leftover.size()
        writer = f"pid {leftover.pid} " + ("gone" if stale else "running") if leftover.pid else "no pid"
        kept = "kept (writer running)" if leftover.pid else "kept (younger than --min-age)"
        action = kept if not stale else ("would remove" if args.dry_run else "removed")
        if stale and not args.dry_run:
            remove(leftover)
        freed += size if stale else 0
        rows.append([str(leftover.path), f"{size / 1e6:.1f}", f"{leftover.age_s / 60:.0f} min", writer, action])
    if not rows:
        print("no leftovers found")
        return 0
    print(format_table(["leftover", "MB", "age", "writer", "action"], rows))
    verb = "would free" if args.dry_run else "freed"
    print(f"{verb} {freed / 1e6:.1f} MB")
    return 0


def run_keygen(args: argparse.Namespace) -> int:
    """Run ``edge-embed keygen``."""
    from edge_embed.lineage.signing import generate_keypair

    private, public, key_id = generate_keypair(args.key)
    print(f"private key {private} (keep it on the build machine)\npublic key  {public} (give it to devices)")
    print(f"key id      {key_id}")
    return 0


def run_sign(args: argparse.Namespace) -> int:
    """Run ``edge-embed sign``."""
    from edge_embed.lineage.manifest import SIGNATURE_NAME
    from edge_embed.lineage.signing import sign_artifact

    signature = sign_artifact(args.artifact, args.key)
    print(f"{args.artifact / SIGNATURE_NAME}  (key {signature.key_id}, manifest {signature.manifest_sha256[:12]}…)")
    return 0


def _registry(args: argparse.Namespace) -> Registry:
    from edge_embed.registry import Registry, registry_path

    path = registry_path(args.workspace)
    if not path.is_file() and args.handler is not run_registry_rebuild:
        raise InputError(f"no registry at {path}; run `edge-embed registry rebuild --workspace {args.workspace}`")
    return Registry(path)


def run_runs_list(args: argparse.Namespace) -> int:
    """Run ``edge-embed runs list``."""
    from edge_embed.tables import format_table

    with _registry(args) as registry:
        runs = registry.runs()
    if args.json:
        print(json.dumps(runs, indent=2))
        return 0
    print(
        format_table(
            ["run id", "status", "created", "base ndcg@10", "finetuned ndcg@10", "path"],
            [
                [r["run_id"], r["status"], r["created_at"], _num(r["base_ndcg"]), _num(r["finetuned_ndcg"]), r["path"]]
                for r in runs
            ],
        )
    )
    return 0


def run_artifacts_list(args: argparse.Namespace) -> int:
    """Run ``edge-embed artifacts list``."""
    from edge_embed.tables import format_table

    with _registry(args) as registry:
        rows = registry.artifacts(args.sort)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(
        format_table(
            ["id", "name", "precision", "ndcg@10", "p95 ms", "measured on", "size MB", "run id", "path"],
            [
                [
                    r["id"],
                    r["name"],
                    r["precision"],
                    _num(r["ndcg"]),
                    _num(r["p95_ms"], 2),
                    f"{r['dataset']}/{r['split']}" if r["dataset"] else "-",
                    f"{r['size_mb']:.1f}",
                    r["run_id"] or "-",
                    r["path"],
                ]
                for r in rows
            ],
        )
    )
    return 0


def run_artifacts_show(args: argparse.Namespace) -> int:
    """Run ``edge-embed artifacts show``."""
    from edge_embed.cli.info import format_manifest
    from edge_embed.lineage import Manifest

    with _registry(args) as registry:
        found = registry.artifact(args.id)
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    print(format_manifest(Path(found["path"]), Manifest.from_dict(found["manifest"])))
    print(f"manifest sha256: {found['manifest_sha256']}")
    for path in found["paths"][1:]:
        print(f"also at: {path}")
    for row in found["bench"]:
        print(
            f"bench {row['dataset']}/{row['split']}{' (sampled)' if row['sampled'] else ''} dim {row['dim']}: "
            f"ndcg@10 {row['ndcg']:.4f}, p95 {row['p95_ms']:.2f} ms, {row['texts_per_s']:.1f} texts/s "
            f"({row['report_path']})"
        )
    return 0


def run_registry_rebuild(args: argparse.Namespace) -> int:
    """Run ``edge-embed registry rebuild``."""
    with _registry(args) as registry:
        result = registry.rebuild(args.roots or [args.workspace], strict=args.strict)
        for folder, reason in result.skipped:
            print(f"skipped {folder}: {reason}", file=sys.stderr)
        print(
            f"{registry.path}: {result.runs} runs, {result.artifacts} artifacts, {result.reports} reports"
            + (f"; {len(result.skipped)} folders skipped (see above)" if result.skipped else "")
        )
    return 0


def _num(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def run_pipeline_command(args: argparse.Namespace) -> int:
    """Run ``edge-embed pipeline``."""
    from edge_embed.pipeline.config import load_pipeline_config, with_refresh

    config = load_pipeline_config(args.config)  # every key checked before any work
    if args.feedback is not None or args.refresh is not None:
        given = config.refresh
        config = with_refresh(
            config,
            args.feedback.absolute() if args.feedback else (given.feedback if given else None),
            args.refresh.absolute() if args.refresh else (given.artifact if given else None),
        )
    if args.check:
        refresh = f", refreshing {config.refresh.artifact}" if config.refresh else ""
        print(f"{args.config}: ok ({len(config.quantize)} quantization(s), workspace {config.workspace}{refresh})")
        return 0
    return _run_pipeline(config)


def run_quickstart(args: argparse.Namespace) -> int:
    """Run ``edge-embed quickstart``."""
    from edge_embed.pipeline.config import load_pipeline_config
    from edge_embed.samples import write_quickstart_config

    path = write_quickstart_config(args.workspace)
    print(f"edge-embed: quickstart config: {path} (edit it to run on your own data)", file=sys.stderr)
    return _run_pipeline(load_pipeline_config(path))


def _run_pipeline(config: PipelineConfig) -> int:
    from importlib.util import find_spec

    if find_spec("transformers") is not None:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
    logging.getLogger().setLevel(logging.ERROR)  # onnxruntime's quantizer logs every tensor at the root logger
    from edge_embed.pipeline.runner import run_pipeline
    from edge_embed.pipeline.summary import format_summary

    result = run_pipeline(config, show_progress=sys.stderr.isatty())
    print(format_summary(result))
    return 0
