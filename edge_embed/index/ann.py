"""Approximate candidates for large indexes, from usearch's HNSW graph (``pip install 'edge-embed[ann]'``).

The graph only proposes candidates; they are scored again exactly from the stored vectors (or, for a binary index,
its int8 rescoring codes), so scores mean the same with and without it. The graph holds its own vectors at the
index's precision (float32, int8 or packed bits with Hamming distance) and is memory-mapped when an index is opened.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edge_embed.errors import MissingExtraError
from edge_embed.index.scoring import StoredPrecision

ANN_FILE = "ann.usearch"
_DTYPES = {
    StoredPrecision.FLOAT32: ("f32", "cos"),
    StoredPrecision.INT8: ("i8", "cos"),
    StoredPrecision.BINARY: ("b1", "hamming"),
}


def _usearch() -> Any:
    try:
        from usearch.index import Index
    except ImportError:
        raise MissingExtraError("approximate search needs usearch: pip install 'edge-embed[ann]'") from None
    return Index


def new_graph(dim: int, precision: StoredPrecision) -> Any:
    """An empty HNSW graph for ``dim``-wide vectors stored at ``precision``."""
    dtype, metric = _DTYPES[precision]
    return _usearch()(ndim=dim, metric=metric, dtype=dtype)


def add_to_graph(graph: Any, first_row: int, unit_vectors: np.ndarray, precision: StoredPrecision) -> None:
    """Add rows ``first_row ..`` (float unit vectors; packed to sign bits for a binary graph)."""
    keys = np.arange(first_row, first_row + len(unit_vectors), dtype=np.uint64)
    vectors = np.packbits(unit_vectors > 0, axis=1) if precision is StoredPrecision.BINARY else unit_vectors
    graph.add(keys, vectors)


def open_graph(path: Path) -> Any:
    """A saved graph, memory-mapped."""
    return _usearch().restore(str(path), view=True)


def candidate_rows(graph: Any, queries: np.ndarray, count: int, precision: StoredPrecision) -> list[np.ndarray]:
    """Up to ``count`` candidate rows per query, nearest first."""
    probes = np.packbits(queries > 0, axis=1) if precision is StoredPrecision.BINARY else queries
    matches = graph.search(probes, count)
    if not hasattr(matches, "counts"):  # usearch answers one query with a single Matches
        return [np.asarray(matches.keys, dtype=np.int64)]
    return [row[:n].astype(np.int64) for row, n in zip(matches.keys, matches.counts, strict=True)]
