"""Distill a (finetuned) model into a static token table with model2vec: the artifact for devices too small for a
transformer. The device runs it with numpy alone (:mod:`edge_embed.runtime.static`).

model2vec embeds every token of the vocabulary with the model, reduces the vectors with PCA and weights them by
token frequency (SIF); a text's vector is then the mean of its tokens' rows. The artifact carries the same lineage
as an export (the checkpoint's weights sha256 and training run) and, before it appears, its vectors are checked
against model2vec's own ``StaticModel.encode`` on the fixed probe texts.
"""

from __future__ import annotations

import logging
from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np

from edge_embed.data.probes import PARITY_TEXTS
from edge_embed.errors import CheckpointError, MissingExtraError, ParityError
from edge_embed.export.source import resolve_source
from edge_embed.lineage.atomic import atomic_dir
from edge_embed.lineage.manifest import (
    TOKENIZER_FILE,
    Backend,
    GraphSpec,
    Manifest,
    OutputKind,
    Pooling,
    TokenizerSpec,
    hash_artifact_files,
    write_manifest,
)
from edge_embed.runtime.embedder import Embedder
from edge_embed.runtime.static import STATIC_FILE, STATIC_OUTPUT
from edge_embed.versions import package_versions

logger = logging.getLogger(__name__)

# model2vec averages in the table's float16, the runtime in float32: over 512 tokens they differ in the 4th decimal.
STATIC_PARITY_THRESHOLD = 0.999
MODEL2VEC_INSTALL = "pip install --no-deps 'model2vec==0.10.0'"


def distill_artifact(
    checkpoint: str | Path,
    output: str | Path,
    *,
    which: str = "best",
    pca_dims: int | None = 256,
    sif_coefficient: float | None = 1e-4,
    parity_threshold: float = STATIC_PARITY_THRESHOLD,
    overwrite: bool = False,
) -> Path:
    """Distill a sentence-transformers model, transformers checkpoint or training run into a static artifact.

    Args:
        checkpoint: The model, checkpoint or run folder (as :func:`~edge_embed.export.export_artifact` takes).
        output: The artifact folder to create.
        which: For run folders, ``"best"`` or ``"last"`` checkpoint.
        pca_dims: Width of the table after PCA (None keeps the model's width).
        sif_coefficient: model2vec's frequency weighting (None: no weighting).
        parity_threshold: Lowest cosine between the runtime's and model2vec's vector on any probe text.
        overwrite: Replace ``output`` if it exists (only once the new artifact is complete).

    Returns:
        The artifact folder.

    Raises:
        CheckpointError: If ``checkpoint`` is not a model.
        MissingExtraError: If model2vec is not installed.
        ParityError: If the runtime does not reproduce model2vec's vectors (nothing is written).
        InputError: If ``output`` exists and ``overwrite`` is false.
    """
    if find_spec("model2vec") is None:
        raise MissingExtraError(
            f"edge-embed distill needs model2vec: {MODEL2VEC_INSTALL} (its metadata asks for huggingface-hub>=1.0, "
            "which the build extra's transformers forbids; its distillation runs with the hub installed)"
        )
    source = resolve_source(checkpoint, checkpoint=which)  # its pooling notes do not apply: model2vec means tokens
    with atomic_dir(output, overwrite=overwrite) as tmp:  # refuses an existing output before the long part
        static = _distill(source.transformer_dir, pca_dims, sif_coefficient)
        vectors, ignored = static_table(static)
        np.savez(tmp / STATIC_FILE, vectors=vectors, ignored_ids=ignored)
        tokenizer = _write_tokenizer(static, tmp / TOKENIZER_FILE)
        manifest = Manifest(
            graph=GraphSpec(
                output_name=STATIC_OUTPUT,
                output_kind=OutputKind.SENTENCE_EMBEDDING,
                normalize_in_graph=False,
                input_names=("input_ids", "attention_mask"),
                precision=f"static-{vectors.dtype.name}",
                file=STATIC_FILE,
                backend=Backend.STATIC,
            ),
            tokenizer=tokenizer,
            pooling=Pooling.MEAN,
            normalize=bool(static.normalize),
            max_seq_length=int(static.max_length or 512),
            embedding_dim=int(vectors.shape[1]),
            files=hash_artifact_files(tmp),
            source=source.describe(),
            versions=package_versions(),
            options={
                "method": "model2vec-distill",
                "model2vec": version("model2vec"),
                "pca_dims": pca_dims,
                "sif_coefficient": sif_coefficient,
            },
        )
        write_manifest(tmp, manifest)
        parity = check_static_parity(tmp, static, threshold=parity_threshold)
        write_manifest(tmp, manifest.replace(checks={"parity": parity}))
    logger.info("wrote %s (%d tokens x %d, min cosine %.6f)", output, *vectors.shape, parity["min_cosine"])
    return Path(output)


def static_table(static: Any) -> tuple[np.ndarray, np.ndarray]:
    """A model2vec ``StaticModel`` as ``(vectors, ignored_ids)``: one row per token id (its vocabulary mapping and
    per-token weights applied), and the ids it drops before averaging (the unknown token)."""
    rows = np.arange(len(static.tokens)) if static.token_mapping is None else np.asarray(static.token_mapping)
    vectors = np.asarray(static.embedding)[rows]
    if static.weights is not None:
        vectors = (vectors.astype(np.float32) * np.asarray(static.weights, dtype=np.float32)[:, None]).astype(
            np.float32
        )
    ignored = [] if static.unk_token_id is None else [int(static.unk_token_id)]
    return np.ascontiguousarray(vectors), np.asarray(ignored, dtype=np.int64)


def check_static_parity(
    artifact_dir: Path, static: Any, texts: tuple[str, ...] = PARITY_TEXTS, threshold: float = STATIC_PARITY_THRESHOLD
) -> dict[str, Any]:
    """Compare the runtime's vectors of the static artifact with model2vec's ``StaticModel.encode``.

    Raises:
        ParityError: If any text's cosine is below ``threshold`` (an all-unknown text must be zero in both).
    """
    ours = Embedder.load(artifact_dir, verify=False).embed(list(texts), batch_size=4)
    theirs = np.asarray(static.encode(list(texts), use_multiprocessing=False), dtype=np.float32)
    norms = np.linalg.norm(ours, axis=1) * np.linalg.norm(theirs, axis=1)
    both_zero = (np.linalg.norm(ours, axis=1) == 0) & (np.linalg.norm(theirs, axis=1) == 0)
    cosines = np.where(both_zero, 1.0, (ours * theirs).sum(axis=1) / np.maximum(norms, 1e-12))
    worst = int(cosines.argmin())
    if cosines[worst] < threshold:
        raise ParityError(
            f"static parity failed: cosine {cosines[worst]:.6f} < {threshold} against model2vec for text "
            f"{texts[worst][:40]!r}; the artifact was not written"
        )
    return {"min_cosine": float(cosines[worst]), "texts": len(texts), "threshold": threshold, "against": "model2vec"}


def _distill(transformer_dir: Path, pca_dims: int | None, sif_coefficient: float | None) -> Any:
    """model2vec's distillation of the transformer in ``transformer_dir`` (every vocabulary token, on the CPU)."""
    from model2vec.distill import distill_from_model
    from transformers import AutoModel, AutoTokenizer

    try:
        model = AutoModel.from_pretrained(str(transformer_dir), local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(str(transformer_dir), use_fast=True, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{transformer_dir} cannot be loaded for distillation: {exc}") from None
    logger.info("distilling %s with model2vec (every vocabulary token through the model)", transformer_dir)
    return distill_from_model(
        model=model, tokenizer=tokenizer, device="cpu", pca_dims=pca_dims, sif_coefficient=sif_coefficient
    )


def _write_tokenizer(static: Any, path: Path) -> TokenizerSpec:
    """model2vec's tokenizer as it reads texts: no special tokens, truncated at the model's length, no padding."""
    tokenizer = static.tokenizer
    tokenizer.no_padding()
    tokenizer.save(str(path))
    pad_token = "[PAD]" if tokenizer.token_to_id("[PAD]") is not None else tokenizer.id_to_token(0)
    return TokenizerSpec(pad_token=str(pad_token), pad_id=int(tokenizer.token_to_id(pad_token) or 0))
