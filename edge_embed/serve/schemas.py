"""Typed requests of the service, parsed and checked once at the edge: OpenAI's embeddings, TEI's embed, tokenize
and similarity. A bad request becomes a :class:`RequestError` naming the field, answered as JSON with a 4xx."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from edge_embed.choices import Choice
from edge_embed.serve.settings import ServeSettings


class ErrorKind(Choice):
    """OpenAI's error ``type`` values (TEI's ``error_type`` is derived from the status)."""

    INVALID_REQUEST = "invalid_request_error"
    AUTHENTICATION = "authentication_error"
    RATE_LIMIT = "rate_limit_error"
    SERVER = "server_error"


class RequestError(Exception):
    """A request the service refuses: HTTP status, one-line message, the offending field."""

    def __init__(
        self, status: int, message: str, param: str | None = None, kind: ErrorKind = ErrorKind.INVALID_REQUEST
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.kind = status, message, param, kind


class EncodingFormat(Choice):
    """How ``/v1/embeddings`` returns vectors: JSON floats, or base64 of little-endian float32 (the SDK default)."""

    FLOAT = "float"
    BASE64 = "base64"


@dataclass(frozen=True)
class EmbeddingsRequest:
    """``POST /v1/embeddings`` (OpenAI)."""

    texts: tuple[str, ...]
    model: str | None
    dimensions: int | None
    encoding_format: EncodingFormat
    prompt_name: str | None = None  # extension (the SDK's extra_body): the model's query or document prompt

    @classmethod
    def parse(cls, body: object, settings: ServeSettings, width: int, prompts: Mapping[str, str]) -> EmbeddingsRequest:
        data = _object(body)
        model = data.get("model")
        if model is not None and not isinstance(model, str):
            raise RequestError(422, "'model' must be a string", "model")
        try:
            encoding = EncodingFormat(data.get("encoding_format") or EncodingFormat.FLOAT.value)
        except ValueError:
            raise RequestError(
                422,
                f"'encoding_format' must be 'float' or 'base64', got {data.get('encoding_format')!r}",
                "encoding_format",
            ) from None
        return cls(
            texts=_texts(data.get("input"), "input", settings, token_ids_hint=True),
            model=model,
            dimensions=_dimensions(data.get("dimensions"), "dimensions", width),
            encoding_format=encoding,
            prompt_name=_prompt_name(data, prompts),
        )


@dataclass(frozen=True)
class EmbedRequest:
    """``POST /embed`` (text-embeddings-inference)."""

    texts: tuple[str, ...]
    normalize: bool
    truncate: bool
    prompt_name: str | None
    dimensions: int | None

    @classmethod
    def parse(cls, body: object, settings: ServeSettings, width: int, prompts: Mapping[str, str]) -> EmbedRequest:
        data = _object(body)
        return cls(
            texts=_texts(data.get("inputs"), "inputs", settings),
            normalize=_flag(data, "normalize", True),
            truncate=_flag(data, "truncate", False),
            prompt_name=_prompt_name(data, prompts),
            dimensions=_dimensions(data.get("dimensions"), "dimensions", width),
        )


@dataclass(frozen=True)
class TokenizeRequest:
    """``POST /tokenize`` (text-embeddings-inference)."""

    texts: tuple[str, ...]
    add_special_tokens: bool

    @classmethod
    def parse(cls, body: object, settings: ServeSettings) -> TokenizeRequest:
        data = _object(body)
        return cls(_texts(data.get("inputs"), "inputs", settings), _flag(data, "add_special_tokens", True))


@dataclass(frozen=True)
class SimilarityRequest:
    """``POST /similarity`` (text-embeddings-inference): one source sentence scored against candidates."""

    source: str
    sentences: tuple[str, ...]

    @classmethod
    def parse(cls, body: object, settings: ServeSettings) -> SimilarityRequest:
        inputs = _object(body).get("inputs")
        if not isinstance(inputs, Mapping):
            raise RequestError(422, "'inputs' must be an object with 'source_sentence' and 'sentences'", "inputs")
        source = _texts(inputs.get("source_sentence"), "inputs.source_sentence", settings)
        if len(source) != 1:
            raise RequestError(422, "'inputs.source_sentence' must be one string", "inputs.source_sentence")
        return cls(source[0], _texts(inputs.get("sentences"), "inputs.sentences", settings))


@dataclass(frozen=True)
class SearchRequest:
    """``POST /search``: one ``query`` or a list of ``queries`` against the service's index."""

    queries: tuple[str, ...]
    k: int
    single: bool

    @classmethod
    def parse(cls, body: object, settings: ServeSettings) -> SearchRequest:
        data = _object(body)
        if ("query" in data) == ("queries" in data):
            raise RequestError(422, "send either 'query' (a string) or 'queries' (a list of strings)", "query")
        single = "query" in data
        if single and not isinstance(data["query"], str):
            raise RequestError(422, "'query' must be a string", "query")
        queries = _texts(data["query"] if single else data["queries"], "query" if single else "queries", settings)
        k = data.get("k", 10)
        if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 1000:
            raise RequestError(422, f"'k' must be an integer from 1 to 1000, got {k!r}", "k")
        return cls(queries, k, single)


def _object(body: object) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise RequestError(422, "the request body must be a JSON object")
    return body


def _texts(value: object, field: str, settings: ServeSettings, token_ids_hint: bool = False) -> tuple[str, ...]:
    """One string or a non-empty list of strings, within the service's limits."""
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list) or not texts:
        raise RequestError(422, f"'{field}' must be a string or a non-empty list of strings", field)
    if len(texts) > settings.max_inputs:
        raise RequestError(
            413, f"'{field}' has {len(texts)} items; this service takes at most {settings.max_inputs}", field
        )
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            hint = "; token-id input is not supported, send the text" if token_ids_hint and _is_ids(text) else ""
            raise RequestError(422, f"'{field}[{i}]' must be a string, got {type(text).__name__}{hint}", field)
        if len(text) > settings.max_chars:
            raise RequestError(
                413,
                f"'{field}[{i}]' has {len(text)} characters; this service takes at most {settings.max_chars}",
                field,
            )
    return tuple(texts)


def _is_ids(value: object) -> bool:
    return isinstance(value, int) or (isinstance(value, list) and all(isinstance(v, int) for v in value))


def _dimensions(value: object, field: str, width: int) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= width:
        raise RequestError(422, f"'{field}' must be an integer from 1 to {width}, got {value!r}", field)
    return value


def _prompt_name(data: Mapping[str, Any], prompts: Mapping[str, str]) -> str | None:
    value = data.get("prompt_name")
    if value is not None and (not isinstance(value, str) or value not in prompts):
        known = ", ".join(sorted(prompts)) or "none"
        raise RequestError(422, f"'prompt_name' {value!r} is not one of this model's prompts ({known})", "prompt_name")
    return value


def _flag(data: Mapping[str, Any], field: str, default: bool) -> bool:
    value = data.get(field, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise RequestError(422, f"'{field}' must be true or false, got {value!r}", field)
    return value
