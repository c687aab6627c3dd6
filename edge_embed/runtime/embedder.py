"""The lean runtime: embed texts with an artifact folder using onnxruntime, tokenizers and numpy only."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence, Sized
from dataclasses import dataclass
from enum import Enum
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tokenizers import Encoding, Tokenizer

from edge_embed.errors import ArtifactError, InputError
from edge_embed.lineage.manifest import (
    MANIFEST_NAME,
    Backend,
    Manifest,
    check_manifest_bytes,
    parse_manifest,
    read_manifest,
    read_verified_manifest,
    verify_files,
)
from edge_embed.runtime.graph import GraphRunner, check_graph, compile_cache_folder, open_graph
from edge_embed.runtime.pooling import normalize, pool
from edge_embed.runtime.precision import RANGES_CHECK, Precision, quantize
from edge_embed.runtime.session import DEFAULT_PROVIDERS

if TYPE_CHECKING:
    from edge_embed.lifecycle.calibration import Calibration

# Texts are tokenized this many at a time, so memory stays bounded for very large inputs.
_TOKENIZE_CHUNK = 4096
# Padded tokens per onnxruntime call. Long texts then go in small batches whose activations stay in cache
# (on a 2-core AVX-512 CPU the int8 session alone runs 256-token passages ~7% faster in batches of 4 than of 32;
# end to end the gain is within that machine's noise), while short texts still fill ``batch_size``.
# See benchmarks/README.md.
DEFAULT_MAX_BATCH_TOKENS = 2048
# A text longer than this many characters per allowed token is cut (at a whitespace) before tokenizing: the
# tokenizer would otherwise read a whole 20k-character passage to keep its first 256 tokens.
_CHARS_PER_TOKEN = 8


class TextKind(str, Enum):
    """Whether a text is a search query or a document (selects the prompt, if the model has one)."""

    QUERY = "query"
    DOCUMENT = "document"


class Embedder:
    """Embeds texts with an exported artifact on CPU.

    ``Embedder("artifacts/minilm")`` loads an artifact folder (``Embedder.load`` is the same). The tokenizer and
    session never change afterwards, so one ``Embedder`` may serve calls from several threads at once.

    :meth:`embed` always returns one row per text, also for a single string (``(1, dim)``); :meth:`encode` takes
    sentence-transformers' arguments and, like ``SentenceTransformer.encode``, returns a 1-D vector for a single
    string; :meth:`embed_query` likewise returns one vector for one query.

    Example:
        >>> from edge_embed import Embedder
        >>> embedder = Embedder("artifacts/minilm")                            # doctest: +SKIP
        >>> embedder.embed(["How is a pump bearing lubricated?"]).shape        # doctest: +SKIP
        (1, 384)
        >>> embedder.embed_query("pump bearing noise", dim=128).shape         # doctest: +SKIP
        (128,)
    """

    def __init__(
        self,
        path: str | Path,
        threads: int | None = None,
        dim: int | None = None,
        verify: bool = True,
        providers: tuple[str, ...] = DEFAULT_PROVIDERS,
        trust: Iterable[str | Path | bytes] | None = None,
        compile_cache: str | Path | None = None,
    ) -> None:
        """Load an artifact folder.

        Args:
            path: The artifact folder (holding ``edge_embed.json``, ``model.onnx``, ``tokenizer.json``).
            threads: onnxruntime intra-op threads; all available CPUs when None.
            dim: Default width of returned vectors (Matryoshka prefix, renormalized if the model normalizes);
                each call may ask for another with its own ``dim``.
            verify: Check the manifest's seal and the sha256 of the model and tokenizer files (costs a file read).
            providers: onnxruntime execution providers, in order of preference.
            trust: Public key files (``edge-embed keygen``): refuse the artifact unless its manifest is signed by
                one of them (needs ``edge-embed[sign]``); implies ``verify``.
            compile_cache: A folder where an OpenVINO artifact keeps its compiled model, so later starts import it
                instead of compiling (a third of its cold start here); trusted like the artifact, so give a folder
                only this user can write. Other engines compile nothing: they ignore it and create no folder.

        Raises:
            ArtifactError: If the folder, a file or the manifest is missing, invalid or corrupt.
            IntegrityError: If ``verify`` is set and a file's sha256 or the manifest's seal does not match.
            SignatureError: If ``trust`` is given and no trusted key signed the manifest.
            InputError: If ``dim`` or ``threads`` is out of range.
        """
        folder = Path(path)
        if trust is not None:
            from edge_embed.lineage.signing import verify_trusted

            _, signed_bytes = verify_trusted(folder, trust)
            manifest, verify = parse_manifest(signed_bytes, folder / MANIFEST_NAME), True
            check_manifest_bytes(signed_bytes, manifest, str(folder / MANIFEST_NAME))
        else:
            manifest = read_verified_manifest(folder) if verify else read_manifest(folder)
        _check_dim(dim, manifest)
        model_file, tokenizer_file = folder / manifest.graph.file, folder / manifest.tokenizer.file
        needed = [*manifest.graph.files, manifest.tokenizer.file]
        for name in needed:
            if not (folder / name).is_file():
                raise ArtifactError(
                    f"{folder / name} is missing; the artifact is incomplete, re-export or re-install it"
                )
        if verify:  # a trusted signature vouches for every file it lists: check them all
            verify_files(folder, manifest, None if trust is not None else needed)
        cache = None
        if compile_cache is not None and manifest.graph.backend is Backend.OPENVINO:
            cache = compile_cache_folder(compile_cache, manifest)
        runner = open_graph(model_file, manifest.graph, threads=threads, providers=providers, compile_cache=cache)
        check_graph(runner, manifest, model_file)
        self._setup(folder, manifest, runner, _load_tokenizer(tokenizer_file, manifest), dim)

    @classmethod
    def load(
        cls,
        path: str | Path,
        threads: int | None = None,
        dim: int | None = None,
        verify: bool = True,
        providers: tuple[str, ...] = DEFAULT_PROVIDERS,
        trust: Iterable[str | Path | bytes] | None = None,
        compile_cache: str | Path | None = None,
    ) -> Embedder:
        """Load an artifact folder: the same as ``Embedder(path, ...)``."""
        return cls(
            path,
            threads=threads,
            dim=dim,
            verify=verify,
            providers=providers,
            trust=trust,
            compile_cache=compile_cache,
        )

    @classmethod
    def _from_parts(
        cls, folder: Path, manifest: Manifest, runner: GraphRunner, tokenizer: Tokenizer, dim: int | None
    ) -> Embedder:
        """An embedder over already-loaded parts (see :func:`edge_embed.runtime.steps.with_graph`)."""
        embedder = cls.__new__(cls)
        embedder._setup(folder, manifest, runner, tokenizer, dim)
        return embedder

    def _setup(
        self, folder: Path, manifest: Manifest, runner: GraphRunner, tokenizer: Tokenizer, dim: int | None
    ) -> None:
        self.folder = folder
        self.manifest = manifest
        self._runner = runner
        self._tokenizer = tokenizer
        self._dim = dim
        self._prompt_lengths: dict[str, int] = {}

    @property
    def dim(self) -> int:
        """The default width of returned vectors (the ``dim`` given at load, else the model's)."""
        return self._dim or self.manifest.embedding_dim

    def embed(
        self,
        texts: Iterable[str] | str,
        batch_size: int = 32,
        kind: TextKind | str = TextKind.DOCUMENT,
        show_progress: bool = False,
        max_batch_tokens: int | None = DEFAULT_MAX_BATCH_TOKENS,
        *,
        dim: int | None = None,
        normalize: bool | None = None,
        prompt_name: str | None = None,
        prompt: str | None = None,
        precision: Precision | str = Precision.FLOAT32,
        ranges: np.ndarray | None = None,
    ) -> np.ndarray:
        """Embed texts, in input order.

        Texts are tokenized (truncated to the model's ``max_seq_length``) a bounded chunk at a time, sorted by
        length and run in batches padded only to their own longest text, then put back in input order.

        Args:
            texts: Any iterable of strings (list, generator, numpy string array, pandas Series); a single string
                counts as one text.
            batch_size: At most this many texts per onnxruntime call.
            kind: ``"query"`` or ``"document"``: selects the model's prompt for that kind, if it has one.
            show_progress: Show a progress bar over texts.
            max_batch_tokens: At most this many padded tokens per call (a longer text still goes alone);
                None for fixed ``batch_size`` batches.
            dim: Width of the vectors for this call (Matryoshka prefix); the load-time ``dim`` when None.
            normalize: L2-normalize the returned vectors (after truncation to ``dim``); when None, as the model
                does (its manifest's ``normalize``). False returns the pooled vectors as the graph gives them.
            prompt_name: The manifest prompt to prepend (``"query"`` or ``"document"``); overrides ``kind``.
            prompt: A literal prompt to prepend; overrides ``prompt_name`` and ``kind``.
            precision: ``"float32"``, ``"int8"``, ``"uint8"``, ``"binary"`` or ``"ubinary"``, as
                sentence-transformers' ``quantize_embeddings`` computes them.
            ranges: ``(2, dim)`` per-dimension minima and maxima for int8/uint8; when None they are taken from
                this call's vectors (as sentence-transformers does), so give them for stable codes.

        Returns:
            An array of shape ``(n_texts, dim)`` (``(n_texts, dim / 8)`` for the binary precisions);
            ``(0, dim)`` for no texts.

        Raises:
            InputError: If an item is not a string, or an argument is out of range.
        """
        options = self._options(batch_size, max_batch_tokens, kind, prompt_name, prompt, dim, normalize, precision)
        ranges = self._ranges_for(options, ranges)
        return quantize(self._embed_all(texts, options, show_progress), options.precision, ranges)

    def embed_iter(
        self,
        texts: Iterable[str],
        chunk_size: int = 1024,
        batch_size: int = 32,
        kind: TextKind | str = TextKind.DOCUMENT,
        max_batch_tokens: int | None = DEFAULT_MAX_BATCH_TOKENS,
        *,
        dim: int | None = None,
        normalize: bool | None = None,
        prompt_name: str | None = None,
        prompt: str | None = None,
        precision: Precision | str = Precision.FLOAT32,
        ranges: np.ndarray | None = None,
    ) -> Iterator[np.ndarray]:
        """Embed a stream of texts lazily, yielding one array per ``chunk_size`` texts, in input order.

        For corpora that do not fit in memory: only one chunk's texts, tokens and vectors are held at a time.
        Arguments are as for :meth:`embed`; int8/uint8 need ``ranges`` here, since a stream has no whole to
        calibrate on.

        Raises:
            InputError: At the call (not at the first ``next``) if an argument is invalid; while iterating if an
                item is not a string.
        """
        options = self._options(batch_size, max_batch_tokens, kind, prompt_name, prompt, dim, normalize, precision)
        _check_positive("chunk_size", chunk_size)
        ranges = self._ranges_for(options, ranges)
        if options.precision.needs_ranges and ranges is None:
            raise InputError(
                f"precision {options.precision.value!r} in a stream needs ranges= (per-dimension minima and maxima, "
                "e.g. calibration_ranges(embedder.embed(sample))); a stream has no whole to calibrate on"
            )
        if ranges is not None:
            quantize(np.zeros((1, options.dim), dtype=np.float32), options.precision, ranges)  # checks the shape
        return (quantize(part, options.precision, ranges) for part in self._stream(texts, options, chunk_size, None))

    def embed_query(self, text: str | Iterable[str], **options: Any) -> np.ndarray:
        """Embed search queries (the model's query prompt): one vector for one string, else a row per query."""
        vectors = self.embed(text, kind=TextKind.QUERY, **_without_kind(options, "embed_query"))
        return vectors[0] if isinstance(text, str) else vectors

    def embed_documents(self, texts: Iterable[str], **options: Any) -> np.ndarray:
        """Embed passages to be searched (the model's document prompt): a row per text."""
        return self.embed(texts, kind=TextKind.DOCUMENT, **_without_kind(options, "embed_documents"))

    @property
    def score_calibration(self) -> Calibration | None:
        """The artifact's cosine-to-probability map (``edge-embed calibrate``), or None."""
        from edge_embed.lifecycle.calibration import CALIBRATION_OPTION, Calibration

        data = self.manifest.options.get(CALIBRATION_OPTION)
        return None if data is None else Calibration.from_dict(data)

    def score(
        self, queries: str | Iterable[str], documents: str | Iterable[str], calibrated: bool = False
    ) -> np.ndarray:
        """Cosine similarity of every query (query prompt) to every document: ``(queries, documents)``.

        With ``calibrated``, the probability that each document is relevant to the query, from the artifact's
        score calibration.

        Raises:
            InputError: If ``calibrated`` is asked of an artifact without a calibration.
        """
        calibration = self.score_calibration if calibrated else None
        if calibrated and calibration is None:
            raise InputError(
                f"{self.folder} has no score calibration; make a calibrated child with `edge-embed calibrate`"
            )
        query_list = [queries] if isinstance(queries, str) else list(queries)
        document_list = [documents] if isinstance(documents, str) else list(documents)
        q = normalize(self.embed(query_list, kind=TextKind.QUERY))
        d = normalize(self.embed(document_list, kind=TextKind.DOCUMENT))
        cosine = q @ d.T
        return cosine if calibration is None else calibration.apply(cosine).astype(np.float32)

    def encode(
        self,
        sentences: Iterable[str] | str,
        batch_size: int = 32,
        show_progress_bar: bool = False,
        *,
        prompt_name: str | None = None,
        prompt: str | None = None,
        normalize_embeddings: bool = False,
        truncate_dim: int | None = None,
        precision: Precision | str = Precision.FLOAT32,
    ) -> np.ndarray:
        """``SentenceTransformer.encode``'s arguments and results, for code written against sentence-transformers.

        As there, a single string gives a 1-D vector, ``truncate_dim`` keeps a prefix of the model's output
        without renormalizing it, ``normalize_embeddings`` L2-normalizes the result, and no prompt is used unless
        named. int8/uint8 ranges come from the returned vectors, as ``quantize_embeddings`` does without ranges.
        """
        options = self._options(
            batch_size,
            DEFAULT_MAX_BATCH_TOKENS,
            TextKind.DOCUMENT,
            prompt_name,
            "" if prompt is None and prompt_name is None else prompt,  # no prompt unless one is named, as in ST
            truncate_dim,
            normalize_embeddings,
            precision,
            normalize_full=self._model_normalizes,  # the model's own output first, as ST returns it
        )
        vectors = quantize(self._embed_all(sentences, options, show_progress_bar), options.precision)
        return vectors[0] if isinstance(sentences, str) else vectors

    def embed_tokens(
        self,
        encodings: Sequence[Encoding],
        batch_size: int = 32,
        kind: TextKind | str = TextKind.DOCUMENT,
        max_batch_tokens: int | None = DEFAULT_MAX_BATCH_TOKENS,
        *,
        dim: int | None = None,
        normalize: bool | None = None,
        prompt_name: str | None = None,
        prompt: str | None = None,
    ) -> np.ndarray:
        """Embed texts already tokenized by :meth:`tokenize`, with their prompt prepended, in their order.

        For callers that need the tokens anyway (a service counting ``usage`` or refusing truncation, as TEI's
        router does): the texts are tokenized once. ``kind``, ``prompt_name`` or ``prompt`` must name the prompt
        the texts were tokenized with, so its tokens are left out of pooling where the model does so.

        Returns:
            float32 ``(len(encodings), dim)``, as :meth:`embed` gives for the same texts.

        Raises:
            InputError: If an item is not a tokenizers ``Encoding``, or an argument is out of range.
        """
        options = self._options(
            batch_size, max_batch_tokens, kind, prompt_name, prompt, dim, normalize, Precision.FLOAT32
        )
        for index, encoding in enumerate(encodings):
            if not isinstance(encoding, Encoding):
                raise InputError(
                    f"encodings[{index}] is {type(encoding).__name__}, not a tokenizers Encoding from tokenize()"
                )
        if not encodings:
            return np.empty((0, options.dim), dtype=np.float32)
        return self._embed_encodings(encodings, options, None)

    def token_count(
        self,
        texts: Iterable[str] | str,
        kind: TextKind | str = TextKind.DOCUMENT,
        *,
        prompt_name: str | None = None,
        prompt: str | None = None,
    ) -> int:
        """The number of tokens the model reads for ``texts``: truncated, special tokens and prompt included."""
        text_prompt = self.resolve_prompt(kind, prompt_name, prompt)
        total = 0
        for chunk in _text_chunks(texts, _TOKENIZE_CHUNK):
            total += sum(len(e) for e in self.tokenize([text_prompt + t for t in chunk] if text_prompt else chunk))
        return total

    def warm_up(self, batch_size: int = 32, max_batch_tokens: int | None = DEFAULT_MAX_BATCH_TOKENS) -> int:
        """Run the graph once on each batch shape that calls with these limits will feed it, so the first real
        call is as fast as the rest (OpenVINO prepares its kernels per shape). Returns the number of shapes run.

        Raises:
            InputError: If a limit is not a positive integer.
        """
        _check_positive("batch_size", batch_size)
        if max_batch_tokens is not None:
            _check_positive("max_batch_tokens", max_batch_tokens, " or None")
        length = self.manifest.max_seq_length
        tokens = max_batch_tokens or batch_size * length
        ids = np.asarray(self.tokenize([" ".join(["maintenance"] * length)])[0].ids, dtype=np.int64)
        shapes = self._runner.warm_up_shapes(batch_size, len(ids), tokens)
        for rows, columns in shapes:
            row = np.resize(ids, columns)  # a real token sequence, repeated to the shape's length
            self._run(np.tile(row, (rows, 1)), np.ones((rows, columns), dtype=np.int64))
        return len(shapes)

    def tokenize(self, texts: Sequence[str]) -> list[Encoding]:
        """Tokenize without padding (truncated to ``max_seq_length``).

        Only a long text's head is read: it is cut before a whitespace far enough in to hold more tokens than the
        model keeps, so the kept tokens are those of the whole text; a head that does not overflow (very long
        words, no whitespace) is tokenized again in full.
        """
        limit = self.manifest.max_seq_length
        heads = [_head(text, limit * _CHARS_PER_TOKEN) for text in texts]
        try:
            encodings = self._encode(heads)
        except TypeError:  # tokenizers refuses strings that are not valid Unicode (lone surrogates)
            raise InputError(_unencodable(texts)) from None
        redo = [i for i, e in enumerate(encodings) if len(heads[i]) < len(texts[i]) and not e.overflowing]
        if redo:
            for i, encoding in zip(redo, self._encode([texts[i] for i in redo]), strict=True):
                encodings[i] = encoding
        return encodings

    def _encode(self, texts: list[str]) -> list[Encoding]:
        # One text (a query) skips encode_batch's hand-off to the tokenizer's thread pool.
        if len(texts) == 1:
            return [self._tokenizer.encode(texts[0])]
        encodings: list[Encoding] = self._tokenizer.encode_batch(texts)
        return encodings

    @property
    def calibration_ranges(self) -> np.ndarray | None:
        """The ``(2, dim)`` int8 ranges recorded in the manifest when the artifact was quantized behind its gate
        (of the model's own full-width vectors on the gate's passages), or None."""
        recorded = self.manifest.checks.get(RANGES_CHECK)
        if not isinstance(recorded, dict):
            return None
        try:
            ranges = np.asarray([recorded["min"], recorded["max"]], dtype=np.float32)
        except (KeyError, TypeError, ValueError):
            return None
        return ranges if ranges.shape == (2, self.manifest.embedding_dim) else None

    def _ranges_for(self, options: _CallOptions, given: np.ndarray | None) -> np.ndarray | None:
        """The ranges a call quantizes with: the ones given, else the manifest's where they apply (full width,
        the model's own normalization), else None (taken from the call's vectors)."""
        if given is not None or not options.precision.needs_ranges:
            return given
        own_vectors = options.dim == self.manifest.embedding_dim and options.normalize_out == self._model_normalizes
        return self.calibration_ranges if own_vectors else None

    @property
    def _model_normalizes(self) -> bool:
        """Whether the runtime must normalize the pooled output to give the model's own vectors."""
        return self.manifest.normalize and not self.manifest.graph.normalize_in_graph

    def _options(
        self,
        batch_size: int,
        max_batch_tokens: int | None,
        kind: TextKind | str,
        prompt_name: str | None,
        prompt: str | None,
        dim: int | None,
        normalize: bool | None,
        precision: Precision | str,
        normalize_full: bool = False,
    ) -> _CallOptions:
        """Check one call's arguments before any work is done.

        ``normalize_full`` normalizes the full-width vector before truncation (sentence-transformers' order);
        otherwise normalizing once after truncation gives the same unit vectors for less work.
        """
        _check_positive("batch_size", batch_size)
        if max_batch_tokens is not None:
            _check_positive("max_batch_tokens", max_batch_tokens, " or None")
        if dim is not None:
            _check_dim(dim, self.manifest)
        width = dim or self.dim
        text_prompt = self.resolve_prompt(kind, prompt_name, prompt)
        skip_tokens = 0 if self.manifest.include_prompt else self._prompt_length(text_prompt)
        if normalize is None:
            normalize = self.manifest.normalize
        already_unit = self.manifest.graph.normalize_in_graph and width == self.manifest.embedding_dim
        return _CallOptions(
            batch_size=batch_size,
            max_batch_tokens=max_batch_tokens,
            prompt=text_prompt,
            skip_tokens=skip_tokens,
            dim=width,
            normalize_full=normalize_full,
            normalize_out=bool(normalize) and not already_unit,
            precision=Precision.parse(precision),
        )

    def resolve_prompt(self, kind: TextKind | str, prompt_name: str | None, prompt: str | None) -> str:
        """The text to prepend: a literal ``prompt``, else the manifest's ``prompt_name``, else ``kind``'s prompt."""
        kind = _parse_kind(kind)  # checked even when a prompt overrides it
        if prompt is not None:
            if not isinstance(prompt, str):
                raise InputError(f"prompt must be a string, got {type(prompt).__name__}")
            return prompt
        if prompt_name is not None:
            if prompt_name not in self.manifest.prompts:
                known = sorted(self.manifest.prompts) or "none"
                raise InputError(f"prompt_name {prompt_name!r} is not one of this model's prompts ({known})")
            return self.manifest.prompts[prompt_name]
        return self.manifest.prompts.get(kind.value, "")

    def _prompt_length(self, prompt: str) -> int:
        # As sentence-transformers counts it: the prompt's tokens with [CLS], without the closing [SEP].
        if not prompt:
            return 0
        if prompt not in self._prompt_lengths:
            self._prompt_lengths[prompt] = max(len(self._tokenizer.encode(prompt)) - 1, 0)
        return self._prompt_lengths[prompt]

    def _embed_all(self, texts: Iterable[str] | str, options: _CallOptions, show_progress: bool) -> np.ndarray:
        """All of ``texts`` as one float32 array, with a progress bar if asked."""
        progress = _progress(texts, show_progress)
        parts = list(self._stream(texts, options, _TOKENIZE_CHUNK, progress))
        if progress is not None:
            progress.close()
        return np.concatenate(parts) if parts else np.empty((0, options.dim), dtype=np.float32)

    def _stream(
        self, texts: Iterable[str] | str, options: _CallOptions, chunk_size: int, progress: Any
    ) -> Iterator[np.ndarray]:
        """Embed ``texts`` a chunk at a time; yield each chunk's float32 vectors in input order."""
        for chunk in _text_chunks(texts, chunk_size):
            encodings = self.tokenize([options.prompt + t for t in chunk] if options.prompt else chunk)
            yield self._embed_encodings(encodings, options, progress)

    def _embed_encodings(self, encodings: Sequence[Encoding], options: _CallOptions, progress: Any) -> np.ndarray:
        """Float32 vectors of tokenized texts, in their order: length-sorted batches, run, pool, finish."""
        out = np.empty((len(encodings), options.dim), dtype=np.float32)
        for rows in length_sorted_batches(encodings, options.batch_size, options.max_batch_tokens):
            input_ids, attention_mask = self._pad([encodings[r] for r in rows])
            output = self._run(input_ids, attention_mask)
            if options.skip_tokens:
                attention_mask = attention_mask.copy()
                attention_mask[:, : options.skip_tokens] = 0
            out[rows] = self._finish(self._pool(output, attention_mask), options)
            if progress is not None:
                progress.update(len(rows))
        return out

    def _pad(self, encodings: list[Encoding]) -> tuple[np.ndarray, np.ndarray]:
        """Pad encodings to the longest one; return ``(input_ids, attention_mask)`` as int64."""
        if len(encodings) == 1:  # nothing to pad
            input_ids = np.array([encodings[0].ids], dtype=np.int64)
            return input_ids, np.ones_like(input_ids)
        lengths = np.fromiter((len(e) for e in encodings), dtype=np.int64, count=len(encodings))
        attention_mask = (np.arange(int(lengths.max())) < lengths[:, None]).astype(np.int64)
        input_ids = np.full(attention_mask.shape, self.manifest.tokenizer.pad_id, dtype=np.int64)
        # Boolean assignment fills row by row, left to right: exactly the concatenated ids.
        ids = chain.from_iterable(e.ids for e in encodings)
        input_ids[attention_mask.astype(bool)] = np.fromiter(ids, dtype=np.int64, count=int(lengths.sum()))
        return input_ids, attention_mask

    def _run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Run the graph on one padded batch and return the manifest's output."""
        feed: dict[str, np.ndarray] = {}
        runner = self._runner
        for name in runner.input_names:
            if name == "input_ids":
                value = input_ids
            elif name == "attention_mask":
                value = attention_mask
            else:  # token_type_ids: single-segment input
                value = np.zeros_like(input_ids)
            feed[name] = value.astype(np.int32) if name in runner.input_int32 else value
        return runner.run(self.manifest.graph.output_name, feed)

    def _pool(self, output: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Pool token embeddings as the manifest says (unless the graph did)."""
        if self.manifest.graph.pooling_in_graph:
            return output
        return pool(output, attention_mask, self.manifest.pooling)

    def _finish(self, pooled: np.ndarray, options: _CallOptions) -> np.ndarray:
        """Normalize and truncate pooled vectors as the call asks."""
        if options.normalize_full:
            pooled = normalize(pooled)
        if options.dim < pooled.shape[1]:
            pooled = pooled[:, : options.dim]
        if options.normalize_out:
            return normalize(pooled)
        return np.ascontiguousarray(pooled, dtype=np.float32)

    def __repr__(self) -> str:
        return f"Embedder({str(self.folder)!r}, dim={self.dim}, pooling={self.manifest.pooling.value})"


@dataclass(frozen=True)
class _CallOptions:
    """One call's checked arguments."""

    batch_size: int
    max_batch_tokens: int | None
    prompt: str
    skip_tokens: int
    dim: int
    normalize_full: bool  # normalize the full-width vector first (the model's own output, as ST returns it)
    normalize_out: bool  # normalize the returned (possibly truncated) vector
    precision: Precision


def _load_tokenizer(path: Path, manifest: Manifest) -> Tokenizer:
    """Load ``tokenizer.json`` and set truncation explicitly; padding is done per batch by the embedder.

    A saved tokenizer may carry stale settings (all-MiniLM-L6-v2's truncates at 128 and pads to a fixed 128),
    so they are replaced with the manifest's ``max_seq_length`` and no fixed padding.
    """
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises a bare Exception for malformed files
        raise ArtifactError(f"cannot read tokenizer {path}: {exc}") from None
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=manifest.max_seq_length)
    return tokenizer


def _parse_kind(kind: TextKind | str) -> TextKind:
    try:
        return TextKind(kind)
    except ValueError:
        raise InputError(f"kind must be 'query' or 'document', got {kind!r}") from None


def _without_kind(options: dict[str, Any], method: str) -> dict[str, Any]:
    if "kind" in options:
        raise InputError(f"{method} sets kind itself; call embed(texts, kind=...) to choose another")
    return options


def _unencodable(texts: Sequence[str]) -> str:
    """The message for texts the tokenizer cannot read, naming the first one."""
    for index, text in enumerate(texts):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            return f"texts[{index}] is not valid Unicode ({exc.reason} at character {exc.start}); fix or drop it"
    return "the tokenizer could not read the texts"


def _check_positive(name: str, value: object, alternative: str = "") -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InputError(f"{name} must be a positive integer{alternative}, got {value!r}")


def _check_dim(dim: object, manifest: Manifest) -> None:
    """Refuse a ``dim`` the model cannot give; warn for one it was not trained at."""
    if dim is None:
        return
    if not isinstance(dim, int) or isinstance(dim, bool) or not 0 < dim <= manifest.embedding_dim:
        raise InputError(f"dim must be between 1 and {manifest.embedding_dim}, got {dim!r}")
    if manifest.matryoshka_dims and dim not in manifest.matryoshka_dims:
        # Allowed (any prefix is a valid vector), but only trained dims keep their accuracy.
        import warnings

        warnings.warn(
            f"dim {dim} is not one of the Matryoshka dims {list(manifest.matryoshka_dims)} this model was "
            "trained for; accuracy may drop",
            stacklevel=4,
        )


def _text_chunks(texts: Iterable[str] | str, size: int) -> Iterator[list[str]]:
    """Lists of at most ``size`` texts from any iterable of strings (a single string is one text).

    A sized input is checked whole before the first chunk, so a bad item fails the call before any work.

    Raises:
        InputError: If ``texts`` is not an iterable of strings, naming the first bad item's index.
    """
    if isinstance(texts, str):
        texts = [texts]
    if isinstance(texts, (bytes, bytearray)) or not isinstance(texts, Iterable):
        raise InputError(f"texts must be an iterable of strings, got {type(texts).__name__}")
    checked = isinstance(texts, Sequence)
    if checked:
        for index, text in enumerate(texts):
            _check_text(index, text)
    chunk: list[str] = []
    for index, text in enumerate(texts):
        if not checked:
            _check_text(index, text)
        chunk.append(text)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _check_text(index: int, text: object) -> None:
    if not isinstance(text, str):
        raise InputError(f"texts[{index}] is {type(text).__name__}, not str; every text must be a string")


def _head(text: str, chars: int) -> str:
    """``text`` cut before the last whitespace within its first ``chars`` characters (``text`` if short or none)."""
    if len(text) <= chars:
        return text
    for end in range(chars, chars // 2, -1):
        if text[end].isspace():
            return text[:end]
    return text


def length_sorted_batches(
    encodings: Sequence[Encoding], batch_size: int, max_batch_tokens: int | None = None
) -> Iterator[np.ndarray]:
    """Yield row indices in batches of similar length, longest first (as sentence-transformers sorts).

    A batch holds at most ``batch_size`` rows and, when ``max_batch_tokens`` is set, at most that many tokens
    once padded to its longest row (its first); a row longer than the budget goes alone.
    """
    lengths = np.fromiter((len(e) for e in encodings), dtype=np.int64, count=len(encodings))
    order = np.argsort(-lengths, kind="stable")
    start = 0
    while start < len(order):
        rows = batch_size
        if max_batch_tokens is not None:
            rows = max(1, min(rows, max_batch_tokens // max(1, int(lengths[order[start]]))))
        yield order[start : start + rows]
        start += rows


def _progress(texts: object, show: bool) -> Any:
    """A progress bar over texts (with a total when ``texts`` has a length), or None."""
    total = len(texts) if isinstance(texts, Sized) and not isinstance(texts, str) else None
    if not show or total == 0:
        return None
    from tqdm.auto import tqdm  # imported only when asked for: keeps import and cold start lean

    return tqdm(total=total, unit="text", desc="embedding")
