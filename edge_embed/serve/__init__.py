"""The on-device HTTP service (``pip install 'edge-embed[serve]'``): OpenAI- and TEI-compatible embeddings with
dynamic micro-batching, Prometheus metrics and request limits, on the lean runtime."""

from edge_embed._extras import require_build

require_build("edge-embed serve", ("starlette", "uvicorn", "prometheus_client", "orjson"), extra="serve")

from edge_embed.serve.app import create_app, run  # noqa: E402
from edge_embed.serve.settings import ServeSettings  # noqa: E402

__all__ = ["ServeSettings", "create_app", "run"]
