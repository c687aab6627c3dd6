"""Remember an artifact's retrieval metrics on a dataset, keyed by content, so a parent is scored once."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edge_embed.data.beir import RetrievalDataset
from edge_embed.eval.retrieval import TextEmbedder, evaluate_artifact
from edge_embed.lineage.atomic import atomic_write_bytes
from edge_embed.lineage.hashing import sha256_bytes


def dataset_fingerprint(dataset: RetrievalDataset) -> str:
    """sha256 over the ids, texts and relevance judgements of a dataset (what the metrics depend on)."""
    payload = json.dumps(
        [
            sorted(dataset.queries.items()),
            sorted(dataset.corpus.items()),
            sorted((q, sorted(c)) for q, c in dataset.relevant_docs.items()),
        ],
        ensure_ascii=False,
    )
    return sha256_bytes(payload.encode())


def cache_dir() -> Path:
    """``$EDGE_EMBED_CACHE`` or ``~/.cache/edge-embed``."""
    return Path(os.environ.get("EDGE_EMBED_CACHE") or Path.home() / ".cache" / "edge-embed")


def _path(manifest_sha: str, fingerprint: str, key: str) -> Path:
    return cache_dir() / "eval" / f"{manifest_sha[:20]}-{fingerprint[:20]}-{key}.json"


def load_cached(manifest_sha: str, fingerprint: str, key: str) -> dict[str, Any] | None:
    """The stored metrics for this artifact, dataset and settings, or None."""
    path = _path(manifest_sha, fingerprint, key)
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None


def store(manifest_sha: str, fingerprint: str, key: str, metrics: dict[str, Any]) -> None:
    """Store metrics atomically (a failure to write the cache is not an error)."""
    try:
        atomic_write_bytes(_path(manifest_sha, fingerprint, key), json.dumps(metrics).encode())
    except OSError:
        pass


def evaluate_cached(
    embedder: TextEmbedder,
    identity: str,
    dataset: RetrievalDataset,
    dims: Sequence[int] = (),
    batch_size: int = 32,
    use_cache: bool = True,
    show_progress: bool = False,
) -> dict[int, dict[str, float]]:
    """:func:`evaluate_artifact`, reading and storing each width's metrics under ``identity`` (a manifest sha256)
    and the dataset's fingerprint, so the gate, ``eval`` and ``bench`` score an artifact on a dataset once.

    Returns:
        ``{dim: metrics}``, the embedder's full width first.
    """
    fingerprint = dataset_fingerprint(dataset)
    widths = [embedder.dim] + [d for d in dims if d != embedder.dim]
    keys = {dim: "full" if dim == embedder.dim else f"dim{dim}" for dim in widths}
    if use_cache:
        cached = {dim: load_cached(identity, fingerprint, key) for dim, key in keys.items()}
        if all(m is not None for m in cached.values()):
            return {dim: m for dim, m in cached.items() if m is not None}
    results = evaluate_artifact(embedder, dataset, widths[1:], batch_size, show_progress)
    if use_cache:
        for dim, metrics in results.items():
            store(identity, fingerprint, keys[dim], metrics)
    return results
