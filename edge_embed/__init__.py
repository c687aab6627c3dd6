"""edge-embed: domain-adapted sentence embeddings, exported to ONNX and run lean on CPU-only devices.

``import edge_embed`` is cheap: ``Embedder`` (onnxruntime, tokenizers, numpy) loads on first use, and nothing on
this side ever imports torch, transformers, optimum or sentence-transformers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edge_embed.errors import EdgeEmbedError

__version__ = "0.1.0"

if TYPE_CHECKING:
    from edge_embed.runtime.embedder import Embedder, TextKind

__all__ = ["EdgeEmbedError", "Embedder", "TextKind", "__version__"]


def __getattr__(name: str) -> Any:
    if name in ("Embedder", "TextKind"):
        from edge_embed.runtime import embedder

        return getattr(embedder, name)
    raise AttributeError(f"module 'edge_embed' has no attribute {name!r}")
