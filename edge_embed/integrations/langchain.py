"""A LangChain ``Embeddings`` over an edge-embed artifact (``pip install 'edge-embed[langchain]'``)."""

from __future__ import annotations

from pathlib import Path

from edge_embed.errors import MissingExtraError
from edge_embed.integrations import as_embedder
from edge_embed.runtime.embedder import Embedder

try:
    from langchain_core.embeddings import Embeddings
except ImportError:  # pragma: no cover - exercised only where the extra is missing
    raise MissingExtraError(
        "edge_embed.integrations.langchain needs langchain-core: pip install 'edge-embed[langchain]'"
    ) from None


class EdgeEmbedEmbeddings(Embeddings):
    """LangChain embeddings computed on CPU by the lean runtime (queries get the model's query prompt).

    Example:
        >>> from langchain_core.vectorstores import InMemoryVectorStore               # doctest: +SKIP
        >>> store = InMemoryVectorStore(EdgeEmbedEmbeddings("artifacts/minilm-int8"))  # doctest: +SKIP
        >>> store.add_texts(["Relubricate the pump bearing every 2,000 h."])           # doctest: +SKIP
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

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One vector per passage, with the model's document prompt."""
        vectors = self.embedder.embed_documents(texts, batch_size=self.batch_size, dim=self.dim)
        return vectors.tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        """One vector for a search query, with the model's query prompt."""
        return self.embedder.embed_query(text, dim=self.dim).tolist()  # type: ignore[no-any-return]
