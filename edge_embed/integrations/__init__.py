"""Adapters that plug an :class:`~edge_embed.Embedder` into other libraries' embedding interfaces.

Each adapter is its own module and imports its library only when that module is imported.
"""

from __future__ import annotations

from pathlib import Path

from edge_embed.runtime.embedder import Embedder


def as_embedder(artifact: str | Path | Embedder, threads: int | None = None) -> Embedder:
    """An adapter's embedder: ``artifact`` itself when already loaded, else the artifact folder loaded."""
    return artifact if isinstance(artifact, Embedder) else Embedder(artifact, threads=threads)
