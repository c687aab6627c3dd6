"""What a service may take and how it batches: one record the CLI fills and the app, batcher and limits read."""

from __future__ import annotations

from dataclasses import dataclass

from edge_embed.errors import InputError


@dataclass(frozen=True)
class ServeSettings:
    """Batching, admission and request limits of ``edge-embed serve``.

    Micro-batching: concurrent requests wait in one queue; the model thread takes as many as fit in
    ``max_batch_requests`` requests and ``max_batch_tokens`` tokens (an input longer than the budget still runs,
    alone), waiting up to ``max_wait_ms`` for more once the first has arrived (0: take what is queued). With
    ``max_batch_requests = 1`` every request runs by itself.
    """

    max_batch_tokens: int = 8192
    max_batch_requests: int = 64
    max_wait_ms: float = 0.0
    max_concurrent_requests: int = 512  # queued or running; more are answered 429
    max_inputs: int = 2048  # texts per request (OpenAI's limit)
    max_chars: int = 65_536  # characters per text
    max_body_bytes: int = 16 * 1024 * 1024
    api_key: str | None = None  # ``Authorization: Bearer KEY`` on every route but /health
    warmup: bool = True
    model_name: str | None = None  # the name answered in "model"; the artifact folder's name when None

    def __post_init__(self) -> None:
        counts = ("max_batch_tokens", "max_batch_requests", "max_concurrent_requests", "max_inputs", "max_chars")
        for name in (*counts, "max_body_bytes"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(f"{name.replace('_', '-')} must be a positive integer, got {value!r}")
        if not isinstance(self.max_wait_ms, int | float) or not 0 <= self.max_wait_ms <= 1000:
            raise InputError(f"max-wait-ms must be between 0 and 1000, got {self.max_wait_ms!r}")
        if self.api_key is not None and not self.api_key.strip():
            raise InputError("the API key is empty; pass a non-empty --api-key or unset EDGE_EMBED_API_KEY")
