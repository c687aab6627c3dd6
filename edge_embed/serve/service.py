"""What the HTTP routes call: one loaded artifact behind the micro-batcher, with per-request width, normalization
and prompt, token counts for ``usage``, and the warm-up that makes the first request as fast as the rest."""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from tokenizers import Encoding

from edge_embed import __version__
from edge_embed.index import Hit, VectorIndex
from edge_embed.lineage.manifest import manifest_sha256
from edge_embed.runtime.embedder import Embedder
from edge_embed.runtime.pooling import normalize
from edge_embed.serve.batcher import MicroBatcher
from edge_embed.serve.metrics import ServeMetrics
from edge_embed.serve.schemas import RequestError
from edge_embed.serve.settings import ServeSettings

logger = logging.getLogger(__name__)

# Requests with more characters than this are tokenized (for the token budget and usage) off the event loop.
_INLINE_TOKENIZE_CHARS = 20_000


@dataclass(frozen=True)
class Embedded:
    """One request's vectors and the tokens the model read for them."""

    vectors: np.ndarray
    tokens: int


class EmbeddingService:
    """One artifact served to many concurrent requests."""

    def __init__(self, embedder: Embedder, settings: ServeSettings, index: VectorIndex | None = None) -> None:
        if index is not None:
            index.check(embedder)
        self.embedder, self.settings, self.index = embedder, settings, index
        if settings.max_batch_requests > 1 and not embedder.manifest.graph.vectors_batch_invariant:
            warnings.warn(
                f"{embedder.folder.name} ({embedder.manifest.graph.precision}) gives a text a slightly different "
                "vector depending on the requests it is batched with; serve it with --max-batch-requests 1, or "
                "quantize with the default per-token scales",
                stacklevel=2,
            )
        self.metrics = ServeMetrics()
        self.batcher = MicroBatcher(self._embed_raw, settings, self.metrics)
        self.model_name = settings.model_name or embedder.folder.name
        self.manifest_sha256 = manifest_sha256(embedder.folder)

    @property
    def width(self) -> int:
        return self.embedder.manifest.embedding_dim

    async def start(self) -> None:
        """Start batching, then warm up on the shapes requests will have."""
        await self.batcher.start()
        if self.settings.warmup:
            await self.batcher.run_on_model_thread(self._warm_up)
            await self.embed(["warm-up"])  # the request path itself: tokenizer, batcher, model thread, numpy

    async def stop(self) -> None:
        await self.batcher.stop()

    async def embed(
        self,
        texts: Sequence[str],
        *,
        kind: str = "document",
        prompt_name: str | None = None,
        dimensions: int | None = None,
        normalize_output: bool | None = None,
        refuse_truncation: bool = False,
    ) -> Embedded:
        """Vectors for one request, batched with whatever else is waiting.

        The prompt is the runtime's rule (``Embedder.resolve_prompt``): ``prompt_name`` if given, else ``kind``'s.
        ``normalize_output`` None normalizes as the model does (``Embedder.embed``'s default). With
        ``refuse_truncation`` a text longer than the model reads is refused (TEI's ``truncate: false``).

        Raises:
            RequestError: 413 for a text the model would truncate when truncation is refused.
            Overloaded: If the queue is full.
        """
        prompt = self.embedder.resolve_prompt(kind, prompt_name, None)
        encodings = await self._tokenize(texts, prompt)
        if refuse_truncation:
            overflowing = next((i for i, e in enumerate(encodings) if e.overflowing), None)
            if overflowing is not None:
                limit = self.embedder.manifest.max_seq_length
                raise RequestError(
                    413,
                    f"inputs[{overflowing}] is longer than the model's {limit} tokens; send truncate: true to cut it",
                )
        tokens = sum(len(e) for e in encodings)
        raw = await self.batcher.embed(encodings, prompt, tokens)
        width = dimensions or self.width
        vectors = raw[:, :width] if width < raw.shape[1] else raw
        if self.embedder.manifest.normalize if normalize_output is None else normalize_output:
            vectors = normalize(vectors)
        self.metrics.texts.inc(len(texts))
        self.metrics.tokens.inc(tokens)
        return Embedded(np.ascontiguousarray(vectors, dtype=np.float32), tokens)

    async def search(self, queries: Sequence[str], k: int) -> list[list[Hit]]:
        """The ``k`` nearest indexed documents of each query (with the model's query prompt).

        Raises:
            RequestError: 404 when the service has no index.
        """
        if self.index is None:
            raise RequestError(404, "this service has no index; start it with --index INDEX_DIR")
        embedded = await self.embed(queries, kind="query", dimensions=self.index.manifest.dim, normalize_output=True)
        calibration = self.index.calibration_for(self.embedder)
        return await asyncio.to_thread(self.index.search_vectors, embedded.vectors, k, calibration=calibration)

    def tokenize(self, texts: Sequence[str], add_special_tokens: bool) -> list[list[dict[str, Any]]]:
        """TEI's ``/tokenize`` answer: each token's id, text, whether it is special, and its character span."""
        out = []
        for text, encoding in zip(texts, self.embedder.tokenize(list(texts)), strict=True):
            tokens = []
            for token_id, token, special, (start, stop) in zip(
                encoding.ids, encoding.tokens, encoding.special_tokens_mask, encoding.offsets, strict=True
            ):
                if special and not add_special_tokens:
                    continue
                piece = None if special else text[start:stop]
                tokens.append(
                    {"id": token_id, "text": piece or token, "special": bool(special), "start": start, "stop": stop}
                )
            out.append(tokens)
        return out

    def info(self) -> dict[str, Any]:
        """``GET /info``: what is served, where it came from, and the service's limits."""
        manifest, settings = self.embedder.manifest, self.settings
        return {
            "model_id": self.model_name,
            "model_sha256": self.manifest_sha256,
            "model_type": "embedding",
            "dim": manifest.embedding_dim,
            "matryoshka_dims": list(manifest.matryoshka_dims),
            "max_input_length": manifest.max_seq_length,
            "pooling": manifest.pooling.value,
            "normalize": manifest.normalize,
            "precision": manifest.graph.precision,
            "batch_invariant": manifest.graph.vectors_batch_invariant,
            "prompts": dict(manifest.prompts),
            "parent": manifest.parent,
            "run_id": manifest.source.get("run_id"),
            "created_at": manifest.created_at,
            "max_batch_tokens": settings.max_batch_tokens,
            "max_batch_requests": settings.max_batch_requests,
            "max_concurrent_requests": settings.max_concurrent_requests,
            "max_client_batch_size": settings.max_inputs,
            "max_input_chars": settings.max_chars,
            "auth": settings.api_key is not None,
            "index": None
            if self.index is None
            else {
                "documents": len(self.index),
                "precision": self.index.manifest.precision.value,
                "dim": self.index.manifest.dim,
            },
            "version": __version__,
        }

    async def _tokenize(self, texts: Sequence[str], prompt: str) -> list[Encoding]:
        """The texts as the model reads them (prompt included, truncated): tokenized once per request, here, for
        the token budget, ``usage`` and the truncation check, and handed to the model thread as they are."""
        with_prompt = [prompt + t for t in texts] if prompt else list(texts)
        if sum(len(t) for t in with_prompt) <= _INLINE_TOKENIZE_CHARS:
            return self.embedder.tokenize(with_prompt)
        return await asyncio.to_thread(self.embedder.tokenize, with_prompt)

    def _embed_raw(self, encodings: list[Encoding], prompt: str) -> np.ndarray:
        return self.embedder.embed_tokens(encodings, prompt=prompt, normalize=False)

    def _warm_up(self) -> None:
        """Every batch shape the model thread will run (``embed_tokens``' batch limits), once."""
        started = time.perf_counter()
        shapes = self.embedder.warm_up()
        logger.info("warmed up %s on %d batch shapes in %.1f s", self.model_name, shapes, time.perf_counter() - started)
