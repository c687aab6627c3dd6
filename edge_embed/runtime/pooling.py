"""Pooling, normalization and Matryoshka truncation as small numpy functions."""

from __future__ import annotations

import numpy as np

from edge_embed.lineage.manifest import Pooling

# torch.nn.functional.normalize's default eps, so results match sentence-transformers' Normalize module.
_NORM_EPS = 1e-12


def pool(token_embeddings: np.ndarray, attention_mask: np.ndarray, mode: Pooling) -> np.ndarray:
    """Pool token embeddings into one vector per row, ignoring padding.

    Args:
        token_embeddings: ``(batch, seq, dim)`` float array.
        attention_mask: ``(batch, seq)`` array, 1 for real tokens and 0 for padding.
        mode: The pooling to apply.

    Returns:
        A ``(batch, dim)`` float32 array.

    Raises:
        ValueError: If ``mode`` is not a known pooling.
    """
    if mode is Pooling.CLS:
        return np.ascontiguousarray(token_embeddings[:, 0], dtype=np.float32)
    if mode is Pooling.MEAN and attention_mask.all():  # no padding (one text, or equal lengths): a plain mean
        return token_embeddings.mean(axis=1, dtype=np.float32)
    mask = attention_mask.astype(np.float32)[:, :, None]
    if mode is Pooling.LAST_TOKEN:
        # Right padding: the last real token sits at (number of real tokens - 1).
        last = np.maximum(attention_mask.sum(axis=1).astype(np.int64) - 1, 0)
        return token_embeddings[np.arange(len(last)), last].astype(np.float32)
    if mode is Pooling.MAX:
        masked = np.where(mask > 0, token_embeddings, np.float32(-1e9))
        return masked.max(axis=1).astype(np.float32)
    summed = (token_embeddings * mask).sum(axis=1)
    counts = np.clip(mask.sum(axis=1), 1e-9, None)
    if mode is Pooling.MEAN:
        return (summed / counts).astype(np.float32)
    if mode is Pooling.MEAN_SQRT_LEN:
        return (summed / np.sqrt(counts)).astype(np.float32)
    raise ValueError(f"unknown pooling {mode!r}")


def normalize(embeddings: np.ndarray) -> np.ndarray:
    """L2-normalize each row (rows of zeros stay zero).

    Args:
        embeddings: ``(n, dim)`` float array.

    Returns:
        A ``(n, dim)`` float32 array of unit rows.
    """
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    return (embeddings / np.maximum(norms, _NORM_EPS)).astype(np.float32)


def truncate_dim(embeddings: np.ndarray, dim: int, renormalize: bool) -> np.ndarray:
    """Keep the first ``dim`` components (Matryoshka), renormalizing if asked.

    Args:
        embeddings: ``(n, full_dim)`` float array.
        dim: How many leading components to keep.
        renormalize: L2-normalize the truncated rows.

    Returns:
        A ``(n, dim)`` float32 array.
    """
    cut = np.ascontiguousarray(embeddings[:, :dim], dtype=np.float32)
    return normalize(cut) if renormalize else cut
