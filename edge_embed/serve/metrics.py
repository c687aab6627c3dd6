"""The service's Prometheus metrics (``GET /metrics``), on a registry of its own so several apps can share a process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
_TOKEN_BUCKETS = (16, 64, 256, 512, 1024, 2048, 4096, 8192, 16384)
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServeMetrics:
    """Request counts and latency by route and status, batch shapes, queue depth, embedded texts and tokens."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "edge_embed_requests", "HTTP requests by route and status", ["route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "edge_embed_request_duration_seconds",
            "Time from request to response by route",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_requests = Histogram(
            "edge_embed_batch_requests", "Requests per model batch", buckets=_BATCH_BUCKETS, registry=self.registry
        )
        self.batch_texts = Histogram(
            "edge_embed_batch_texts", "Texts per model batch", buckets=_BATCH_BUCKETS, registry=self.registry
        )
        self.batch_tokens = Histogram(
            "edge_embed_batch_tokens", "Tokens per model batch", buckets=_TOKEN_BUCKETS, registry=self.registry
        )
        self.queue_depth = Gauge(
            "edge_embed_queue_depth", "Embedding requests queued or running", registry=self.registry
        )
        self.texts = Counter("edge_embed_texts", "Texts embedded", registry=self.registry)
        self.tokens = Counter(
            "edge_embed_tokens", "Tokens embedded (prompt and special tokens included)", registry=self.registry
        )

    def declare_routes(self, routes: list[str]) -> None:
        """Start each route's series at zero (Prometheus' advice: a series that appears only with its first request
        breaks rate() over it, and creating it would fall on that first request)."""
        for route in routes:
            self.requests.labels(route, "200")
            self.latency.labels(route)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
