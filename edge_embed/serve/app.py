"""The HTTP service (``pip install 'edge-embed[serve]'``): OpenAI's ``/v1/embeddings``, TEI's ``/embed``,
``/tokenize`` and ``/similarity``, and ``/health``, ``/info``, ``/metrics``, on Starlette.

Starlette (with uvicorn) because it is the small, well-kept ASGI core that FastAPI itself is built on: routing,
lifespan and streaming bodies without a validation framework the device would carry for six routes. Requests are
parsed into typed records (:mod:`edge_embed.serve.schemas`); every error is JSON, in OpenAI's shape under ``/v1`` and
TEI's elsewhere.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from edge_embed.errors import InputError
from edge_embed.index import VectorIndex
from edge_embed.lifecycle.feedback import FeedbackStore, Judgment
from edge_embed.runtime.embedder import Embedder
from edge_embed.serve.batcher import Overloaded
from edge_embed.serve.schemas import (
    EmbeddingsRequest,
    EmbedRequest,
    EncodingFormat,
    ErrorKind,
    RequestError,
    SearchRequest,
    SimilarityRequest,
    TokenizeRequest,
)
from edge_embed.serve.service import EmbeddingService
from edge_embed.serve.settings import ServeSettings

logger = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]
_TEI_ERROR_TYPES = {
    400: "Validation",
    401: "Unauthorized",
    404: "NotFound",
    405: "NotFound",
    413: "Validation",
    422: "Validation",
    429: "Overloaded",
    500: "Backend",
}


def create_app(
    embedder: Embedder,
    settings: ServeSettings | None = None,
    index: VectorIndex | None = None,
    feedback: FeedbackStore | None = None,
) -> Starlette:
    """The ASGI app serving ``embedder`` (run it with uvicorn, or ``edge-embed serve``); with ``index``, also
    ``POST /search`` over it; with ``feedback``, ``POST /feedback`` into that store."""
    service = EmbeddingService(embedder, settings or ServeSettings(), index)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    routes = _Routes(service, feedback)
    app = Starlette(
        routes=[
            Route("/v1/embeddings", routes.endpoint("/v1/embeddings", routes.openai_embeddings), methods=["POST"]),
            Route("/embeddings", routes.endpoint("/v1/embeddings", routes.openai_embeddings), methods=["POST"]),
            Route("/embed", routes.endpoint("/embed", routes.tei_embed), methods=["POST"]),
            Route("/tokenize", routes.endpoint("/tokenize", routes.tokenize), methods=["POST"]),
            Route("/similarity", routes.endpoint("/similarity", routes.similarity), methods=["POST"]),
            Route("/search", routes.endpoint("/search", routes.search), methods=["POST"]),
            Route("/feedback", routes.endpoint("/feedback", routes.feedback), methods=["POST"]),
            Route("/health", routes.endpoint("/health", routes.health, auth=False), methods=["GET"]),
            Route("/info", routes.endpoint("/info", routes.info), methods=["GET"]),
            Route("/metrics", routes.endpoint("/metrics", routes.metrics), methods=["GET"]),
            Route("/v1/models", routes.endpoint("/v1/models", routes.models), methods=["GET"]),
        ],
        exception_handlers={HTTPException: routes.http_error},
        lifespan=lifespan,
    )
    service.metrics.declare_routes(sorted(routes.served))
    app.state.service = service
    return app


def run(app: Starlette, host: str, port: int) -> None:
    """Serve ``app`` with uvicorn until SIGTERM/SIGINT; requests in flight get up to 30 s to finish."""
    import uvicorn

    # No access log: one formatted line per request is a real share of a small device's CPU at hundreds of req/s;
    # /metrics counts requests by route and status instead.
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, timeout_graceful_shutdown=30)


class _Routes:
    def __init__(self, service: EmbeddingService, feedback: FeedbackStore | None = None) -> None:
        self.feedback_store = feedback
        self.service = service
        self.served: set[str] = set()  # the metric names of the routes handed out by endpoint()
        self.settings = service.settings

    def endpoint(self, route: str, handler: Handler, auth: bool = True) -> Handler:
        """``handler`` with authorization, JSON errors and the route's metrics."""
        openai = route.startswith("/v1")
        self.served.add(route)

        async def run(request: Request) -> Response:
            start = time.perf_counter()
            try:
                if auth:
                    self._authorize(request)
                response = await handler(request)
            except RequestError as exc:
                response = _error(exc, openai)
            except Overloaded as exc:
                response = _error(RequestError(429, str(exc), kind=ErrorKind.RATE_LIMIT), openai)
            except Exception:
                logger.exception("%s failed", route)
                error = RequestError(500, "the service failed on this request; see its log", kind=ErrorKind.SERVER)
                response = _error(error, openai)
            self.service.metrics.requests.labels(route, str(response.status_code)).inc()
            self.service.metrics.latency.labels(route).observe(time.perf_counter() - start)
            return response

        return run

    async def http_error(self, request: Request, exc: Exception) -> Response:
        """Unknown routes and methods: JSON like every other error."""
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        message = f"no route {request.method} {request.url.path}" if status in (404, 405) else str(exc)
        self.service.metrics.requests.labels("unknown", str(status)).inc()
        return _error(RequestError(status, message), request.url.path.startswith("/v1"))

    async def openai_embeddings(self, request: Request) -> Response:
        parsed = EmbeddingsRequest.parse(
            await self._json(request), self.settings, self.service.width, self.service.embedder.manifest.prompts
        )
        result = await self.service.embed(parsed.texts, prompt_name=parsed.prompt_name, dimensions=parsed.dimensions)
        data = [
            {"object": "embedding", "index": i, "embedding": _encode(vector, parsed.encoding_format)}
            for i, vector in enumerate(result.vectors)
        ]
        usage = {"prompt_tokens": result.tokens, "total_tokens": result.tokens}
        return _json({"object": "list", "data": data, "model": self.service.model_name, "usage": usage})

    async def tei_embed(self, request: Request) -> Response:
        parsed = EmbedRequest.parse(
            await self._json(request), self.settings, self.service.width, self.service.embedder.manifest.prompts
        )
        result = await self.service.embed(
            parsed.texts,
            prompt_name=parsed.prompt_name,
            dimensions=parsed.dimensions,
            normalize_output=parsed.normalize,
            refuse_truncation=not parsed.truncate,
        )
        return _json(result.vectors)

    async def tokenize(self, request: Request) -> Response:
        parsed = TokenizeRequest.parse(await self._json(request), self.settings)
        return _json(self.service.tokenize(parsed.texts, parsed.add_special_tokens))

    async def similarity(self, request: Request) -> Response:
        parsed = SimilarityRequest.parse(await self._json(request), self.settings)
        result = await self.service.embed([parsed.source, *parsed.sentences], normalize_output=True)
        return _json(result.vectors[1:] @ result.vectors[0])

    async def search(self, request: Request) -> Response:
        parsed = SearchRequest.parse(await self._json(request), self.settings)
        results = await self.service.search(parsed.queries, parsed.k)
        answers = [
            {"query": query, "hits": [hit.to_dict() for hit in hits]}
            for query, hits in zip(parsed.queries, results, strict=True)
        ]
        return _json(answers[0] if parsed.single else {"results": answers})

    async def feedback(self, request: Request) -> Response:
        if self.feedback_store is None:
            raise RequestError(404, "this service takes no feedback; start it with --feedback WORKSPACE")
        body = await self._json(request)
        items = body.get("feedback") if isinstance(body, dict) and "feedback" in body else [body]
        if not isinstance(items, list) or not items or len(items) > self.settings.max_inputs:
            raise RequestError(422, f"'feedback' must be a list of 1 to {self.settings.max_inputs} judgments")
        sha = self.service.manifest_sha256
        judgments = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise RequestError(422, f"feedback[{i}] must be a JSON object", "feedback")
            try:
                judgment = Judgment.parse({"artifact_sha256": sha, **item}, f"feedback[{i}]")
            except InputError as exc:
                raise RequestError(422, str(exc), "feedback") from None
            if max(len(judgment.query), len(judgment.passage or "")) > self.settings.max_chars:
                raise RequestError(413, f"feedback[{i}] has a text over {self.settings.max_chars} characters")
            judgments.append(judgment)
        stored = await asyncio.to_thread(self.feedback_store.add, judgments, "POST /feedback")
        return _json({"stored": stored})

    async def health(self, request: Request) -> Response:
        return _json({"status": "ok"})

    async def info(self, request: Request) -> Response:
        return _json(self.service.info())

    async def metrics(self, request: Request) -> Response:
        return Response(self.service.metrics.render(), media_type=self.service.metrics.content_type)

    async def models(self, request: Request) -> Response:
        model = {"id": self.service.model_name, "object": "model", "owned_by": "edge-embed", "created": 0}
        return _json({"object": "list", "data": [model]})

    def _authorize(self, request: Request) -> None:
        expected = self.settings.api_key
        if expected is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
            raise RequestError(
                401, "missing or wrong API key (send Authorization: Bearer KEY)", kind=ErrorKind.AUTHENTICATION
            )

    async def _json(self, request: Request) -> Any:
        """The body as JSON, refused past ``max_body_bytes`` before it is all read."""
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise RequestError(413, f"the request body has {declared} bytes; this service takes at most {limit}")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise RequestError(413, f"the request body is over {limit} bytes")
        if not body:
            raise RequestError(400, "the request body is empty; send a JSON object")
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:  # also lone surrogates and nesting past orjson's limit
            raise RequestError(400, f"the request body is not valid JSON ({exc})") from None


def _encode(vector: np.ndarray, encoding: EncodingFormat) -> np.ndarray | str:
    if encoding is EncodingFormat.BASE64:  # what the OpenAI SDK decodes: little-endian float32
        return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
    return vector


def _json(content: Any, status: int = 200) -> Response:
    """A JSON response; numpy arrays are written directly as lists of numbers (orjson, no Python floats between)."""
    body = orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)
    return Response(body, status_code=status, media_type="application/json")


def _error(exc: RequestError, openai: bool) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    if openai:
        code = {401: "invalid_api_key", 413: "request_too_large", 429: "rate_limit_exceeded"}.get(exc.status)
        content: dict[str, Any] = {
            "error": {"message": exc.message, "type": exc.kind.value, "param": exc.param, "code": code}
        }
    else:
        content = {"error": exc.message, "error_type": _TEI_ERROR_TYPES.get(exc.status, "Validation")}
    return JSONResponse(content, status_code=exc.status, headers=headers)
