"""Parity check: the exported artifact must reproduce the PyTorch model's embeddings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edge_embed.data.probes import PARITY_TEXTS
from edge_embed.errors import ParityError
from edge_embed.export.source import ExportSource, SourceFormat
from edge_embed.runtime.embedder import Embedder

PARITY_THRESHOLD = 0.9999


def reference_model(source: ExportSource) -> Any:
    """Load the source with sentence-transformers on CPU, configured exactly as the artifact will be."""
    from sentence_transformers import SentenceTransformer

    if source.format == SourceFormat.SENTENCE_TRANSFORMERS:
        model = SentenceTransformer(str(source.model_dir), device="cpu", local_files_only=True)
    else:
        try:  # sentence-transformers >= 5.7 moved the module classes
            from sentence_transformers.sentence_transformer import modules as models
        except ImportError:
            from sentence_transformers import models  # type: ignore[no-redef,attr-defined]
        transformer = models.Transformer(str(source.transformer_dir), max_seq_length=source.max_seq_length)
        modules = [transformer, models.Pooling(source.embedding_dim, pooling_mode=source.pooling.value)]
        if source.normalize:
            modules.append(models.Normalize())
        model = SentenceTransformer(modules=modules, device="cpu")
    model.max_seq_length = source.max_seq_length
    return model


def check_parity(
    artifact_dir: Path,
    source: ExportSource,
    texts: tuple[str, ...] = PARITY_TEXTS,
    threshold: float = PARITY_THRESHOLD,
) -> dict[str, Any]:
    """Compare the artifact's runtime embeddings with sentence-transformers' ``encode`` of the source.

    Every prompt kind the model has is checked as well as plain texts.

    Args:
        artifact_dir: The (temporary) artifact folder, manifest written.
        source: The model it was exported from.
        texts: The probe texts.
        threshold: The lowest acceptable cosine similarity for any text.

    Returns:
        ``{"min_cosine", "texts", "threshold", "kinds"}`` for the manifest.

    Raises:
        ParityError: If any text's cosine similarity is below ``threshold``.
    """
    reference = reference_model(source)
    embedder = Embedder.load(artifact_dir, verify=False)
    worst, worst_text, kinds = 1.0, "", []
    for kind in ("document", "query"):
        prompt = embedder.manifest.prompts.get(kind)
        if kind == "query" and not prompt:
            continue
        ours = embedder.embed(list(texts), batch_size=4, kind=kind)
        theirs = np.asarray(
            reference.encode(list(texts), batch_size=4, prompt=prompt, convert_to_numpy=True, show_progress_bar=False),
            dtype=np.float32,
        )
        cosines = _cosine(ours, theirs)
        kinds.append(kind)
        if cosines.min() < worst:
            worst, worst_text = float(cosines.min()), texts[int(cosines.argmin())]
    if worst < threshold:
        raise ParityError(
            f"export parity failed: cosine {worst:.6f} < {threshold} against sentence-transformers for text "
            f"{worst_text[:40]!r}; the artifact was not written"
        )
    return {"min_cosine": worst, "texts": len(texts), "threshold": threshold, "kinds": kinds}


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return np.asarray((a * b).sum(axis=1))
