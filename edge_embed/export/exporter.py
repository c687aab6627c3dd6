"""Export a checkpoint through Optimum's ONNX exporter into a verified artifact folder."""

from __future__ import annotations

import logging
import shutil
import warnings
from pathlib import Path

from edge_embed.errors import CheckpointError
from edge_embed.export.parity import PARITY_THRESHOLD, check_parity
from edge_embed.export.source import ExportSource, resolve_source
from edge_embed.graph_io import save_graph
from edge_embed.lineage.atomic import atomic_dir
from edge_embed.lineage.manifest import (
    EXTERNAL_DATA_FILE,
    MODEL_FILE,
    TOKENIZER_FILE,
    GraphSpec,
    Manifest,
    OutputKind,
    Pooling,
    TokenizerSpec,
    hash_artifact_files,
    write_manifest,
)
from edge_embed.versions import package_versions

logger = logging.getLogger(__name__)

_OUTPUT_NAME = "last_hidden_state"


def export_artifact(
    checkpoint: str | Path,
    output: str | Path,
    *,
    which: str = "best",
    pooling: Pooling | str | None = None,
    normalize: bool | None = None,
    max_seq_length: int | None = None,
    matryoshka_dims: tuple[int, ...] | None = None,
    opset: int | None = None,
    parity_threshold: float = PARITY_THRESHOLD,
    external_data: bool = True,
    overwrite: bool = False,
) -> Path:
    """Export a sentence-transformers model, transformers checkpoint or training run to an artifact folder.

    The graph is exported by Optimum (task ``feature-extraction``, dynamic batch and sequence axes) and its
    token embeddings are pooled by the runtime as the model's own config says. Before the folder appears, the
    artifact's embeddings are compared with sentence-transformers' on fixed probe texts; if any cosine falls
    below ``parity_threshold`` nothing is written.

    Args:
        checkpoint: The model, checkpoint or run folder.
        output: The artifact folder to create.
        which: For run folders, ``"best"`` or ``"last"`` checkpoint.
        pooling: Override the pooling read from the model's config.
        normalize: Override whether embeddings are L2-normalized.
        max_seq_length: Override the maximum tokens per text.
        matryoshka_dims: Dimensions the model was trained to truncate to (read from the run record if None).
        opset: ONNX opset; Optimum's default for the architecture when None.
        parity_threshold: Minimum cosine similarity against sentence-transformers on every probe text.
        external_data: Keep weights in ``model.onnx_data`` beside the graph, so onnxruntime maps them from disk
            instead of copying them (a much smaller peak RSS on the device).
        overwrite: Replace ``output`` if it exists (only once the new artifact is complete).

    Returns:
        The artifact folder.

    Raises:
        CheckpointError: If ``checkpoint`` is not an exportable model.
        ParityError: If the exported graph does not reproduce the model's embeddings.
        InputError: If ``output`` exists and ``overwrite`` is false.

    Example:
        >>> from edge_embed.export import export_artifact                     # doctest: +SKIP
        >>> export_artifact("runs/2026-11-27-medquad", "artifacts/medquad")  # doctest: +SKIP
        PosixPath('artifacts/medquad')
    """
    source = resolve_source(
        checkpoint,
        checkpoint=which,
        pooling=Pooling(pooling) if pooling is not None else None,
        normalize=normalize,
        max_seq_length=max_seq_length,
    )
    if matryoshka_dims:
        source = _with_dims(source, matryoshka_dims)
    for note in source.notes:
        logger.warning(note)
    options = {
        "task": "feature-extraction",
        "library": "transformers",
        "opset": opset,
        "which": which,
        "parity_threshold": parity_threshold,
        "external_data": external_data,
    }
    with atomic_dir(output, overwrite=overwrite) as tmp:
        logger.info("exporting %s with Optimum", source.transformer_dir)
        options["opset"], input_names = _optimum_export(source, tmp, opset, external_data)
        tokenizer = _write_tokenizer(source, tmp / TOKENIZER_FILE)
        manifest = Manifest(
            graph=GraphSpec(
                output_name=_OUTPUT_NAME,
                output_kind=OutputKind.TOKEN_EMBEDDINGS,
                normalize_in_graph=False,
                input_names=input_names,
                external_data=EXTERNAL_DATA_FILE if external_data else None,
            ),
            tokenizer=tokenizer,
            pooling=source.pooling,
            normalize=source.normalize,
            include_prompt=source.include_prompt,
            max_seq_length=source.max_seq_length,
            embedding_dim=source.embedding_dim,
            matryoshka_dims=source.matryoshka_dims,
            prompts=source.prompts,
            files=hash_artifact_files(tmp),
            source=source.describe(),
            versions=package_versions(),
            options=options,
        )
        write_manifest(tmp, manifest)
        logger.info("checking parity against sentence-transformers")
        parity = check_parity(tmp, source, threshold=parity_threshold)
        write_manifest(tmp, manifest.replace(checks={"parity": parity}))
    logger.info("wrote %s (min cosine %.6f)", output, parity["min_cosine"])
    return Path(output)


def _with_dims(source: ExportSource, dims: tuple[int, ...]) -> ExportSource:
    import dataclasses

    bad = [d for d in dims if not 0 < d <= source.embedding_dim]
    if bad:
        raise CheckpointError(f"matryoshka dims {bad} are outside 1..{source.embedding_dim}")
    return dataclasses.replace(source, matryoshka_dims=tuple(dims))


def _optimum_export(
    source: ExportSource, folder: Path, opset: int | None, external_data: bool
) -> tuple[int, tuple[str, ...]]:
    """Run Optimum's exporter into a scratch folder and keep only the graph; return the opset and input names."""
    import onnx
    from optimum.exporters.onnx import main_export

    scratch = folder / ".optimum"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings from the model code are not actionable here
        main_export(
            str(source.transformer_dir),
            scratch,
            task="feature-extraction",
            library_name="transformers",
            opset=opset,
            device="cpu",
            do_validation=False,  # our own parity check compares the full pipeline, pooling included
            local_files_only=True,
        )
    if not (scratch / MODEL_FILE).is_file():
        raise CheckpointError(f"Optimum produced no {MODEL_FILE} for {source.transformer_dir}")
    model = onnx.load(str(scratch / MODEL_FILE))  # also reads Optimum's side file, if it wrote one
    shutil.rmtree(scratch)
    save_graph(model, folder, external_data)
    opset_used = int(next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")))
    return opset_used, tuple(i.name for i in model.graph.input)


def _write_tokenizer(source: ExportSource, path: Path) -> TokenizerSpec:
    """Save the fast tokenizer with truncation at ``max_seq_length`` and no fixed padding."""
    from transformers import AutoTokenizer

    try:
        hf_tokenizer = AutoTokenizer.from_pretrained(str(source.transformer_dir), use_fast=True, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{source.transformer_dir} has no usable tokenizer: {exc}") from None
    backend = getattr(hf_tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise CheckpointError(f"{source.transformer_dir}: no fast tokenizer (tokenizer.json) can be built")
    backend.no_padding()
    backend.enable_truncation(max_length=source.max_seq_length)
    backend.save(str(path))
    pad_token = hf_tokenizer.pad_token or hf_tokenizer.eos_token or ""
    pad_id = hf_tokenizer.convert_tokens_to_ids(pad_token) if pad_token else 0
    return TokenizerSpec(pad_token=str(pad_token), pad_id=int(pad_id or 0))
