"""A Chroma embedding function over an edge-embed artifact (``pip install 'edge-embed[chroma]'``).

Chroma calls it on ``add``/``upsert`` (passages, with the model's document prompt) and on ``query(query_texts=...)``
(with the query prompt); ``get_config``/``build_from_config`` let a persistent collection reopen with the same
artifact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edge_embed.errors import MissingExtraError
from edge_embed.integrations import as_embedder
from edge_embed.runtime.embedder import Embedder

try:
    from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
    from chromadb.utils.embedding_functions import register_embedding_function
except ImportError:  # pragma: no cover - exercised only where the extra is missing
    raise MissingExtraError("edge_embed.integrations.chroma needs chromadb: pip install 'edge-embed[chroma]'") from None


@register_embedding_function
class EdgeEmbedFunction(EmbeddingFunction[Documents]):  # type: ignore[misc]
    """Chroma embeddings computed on CPU by the lean runtime.

    Example:
        >>> import chromadb                                                             # doctest: +SKIP
        >>> collection = chromadb.EphemeralClient().create_collection(
        ...     "manuals", embedding_function=EdgeEmbedFunction("artifacts/minilm-int8"))  # doctest: +SKIP
        >>> collection.add(ids=["m1"], documents=["Relubricate the pump bearing every 2,000 h."])  # doctest: +SKIP
        >>> collection.query(query_texts=["DE brg regrs interval"], n_results=1)        # doctest: +SKIP
    """

    def __init__(
        self,
        artifact: str | Path | Embedder,
        *,
        dim: int | None = None,
        batch_size: int = 32,
        threads: int | None = None,
    ) -> None:
        """Wrap an artifact folder (loaded here) or an already loaded :class:`Embedder`."""
        self.embedder = as_embedder(artifact, threads)
        self.dim = dim
        self.batch_size = batch_size
        self.threads = threads

    def __call__(self, input: Documents) -> Embeddings:  # noqa: A002 - Chroma's parameter name
        """One vector per passage, with the model's document prompt."""
        vectors = self.embedder.embed_documents(list(input), batch_size=self.batch_size, dim=self.dim)
        return list(np.asarray(vectors, dtype=np.float32))

    def embed_query(self, input: Documents) -> Embeddings:  # noqa: A002
        """One vector per search query, with the model's query prompt."""
        vectors = self.embedder.embed(list(input), batch_size=self.batch_size, kind="query", dim=self.dim)
        return list(np.asarray(vectors, dtype=np.float32))

    @staticmethod
    def name() -> str:
        return "edge-embed"

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip", "l2"]

    def get_config(self) -> dict[str, Any]:
        """What reopens this function: the artifact folder and the call options."""
        return {
            "artifact": str(self.embedder.folder),
            "dim": self.dim,
            "batch_size": self.batch_size,
            "threads": self.threads,
        }

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> EdgeEmbedFunction:
        return EdgeEmbedFunction(
            config["artifact"],
            dim=config.get("dim"),
            batch_size=config.get("batch_size", 32),
            threads=config.get("threads"),
        )
