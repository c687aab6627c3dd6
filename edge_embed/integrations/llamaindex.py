"""A LlamaIndex ``BaseEmbedding`` over an edge-embed artifact (``pip install 'edge-embed[llamaindex]'``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge_embed.errors import MissingExtraError
from edge_embed.integrations import as_embedder
from edge_embed.runtime.embedder import Embedder

try:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from pydantic import PrivateAttr
except ImportError:  # pragma: no cover - exercised only where the extra is missing
    raise MissingExtraError(
        "edge_embed.integrations.llamaindex needs llama-index-core: pip install 'edge-embed[llamaindex]'"
    ) from None


class EdgeEmbedEmbedding(BaseEmbedding):  # type: ignore[misc]
    """LlamaIndex embeddings computed on CPU by the lean runtime (queries get the model's query prompt).

    Example:
        >>> from llama_index.core import VectorStoreIndex                                       # doctest: +SKIP
        >>> from llama_index.core.schema import TextNode                                        # doctest: +SKIP
        >>> model = EdgeEmbedEmbedding("artifacts/minilm-int8")                                 # doctest: +SKIP
        >>> index = VectorStoreIndex([TextNode(text="Relubricate every 2,000 h.")], embed_model=model)  # doctest: +SKIP
    """

    dim: int | None = None
    _embedder: Embedder = PrivateAttr()

    def __init__(
        self,
        artifact: str | Path | Embedder,
        *,
        dim: int | None = None,
        embed_batch_size: int = 32,
        threads: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Wrap an artifact folder (loaded here) or an already loaded :class:`Embedder`."""
        embedder = as_embedder(artifact, threads)
        super().__init__(model_name=str(embedder.folder), embed_batch_size=embed_batch_size, **kwargs)
        self.dim = dim
        self._embedder = embedder

    @classmethod
    def class_name(cls) -> str:
        return "EdgeEmbedEmbedding"

    @property
    def embedder(self) -> Embedder:
        """The runtime embedder behind this model."""
        return self._embedder

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embedder.embed_query(query, dim=self.dim).tolist()  # type: ignore[no-any-return]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        vectors = self._embedder.embed_documents(texts, batch_size=self.embed_batch_size, dim=self.dim)
        return vectors.tolist()  # type: ignore[no-any-return]
