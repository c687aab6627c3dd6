"""The lean runtime: embed texts with an artifact folder using onnxruntime, tokenizers and numpy only."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from tokenizers import Encoding, Tokenizer

from edge_embed.errors import ArtifactError, InputError
from edge_embed.lineage.manifest import Manifest, read_manifest, verify_files
from edge_embed.runtime.pooling import normalize, pool, truncate_dim
from edge_embed.runtime.session import DEFAULT_PROVIDERS, create_session

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

    Configure once with :meth:`load`; the tokenizer and session are never changed afterwards, so one
    ``Embedder`` may serve ``embed`` calls from several threads at once.

    Example:
        >>> from edge_embed import Embedder
        >>> embedder = Embedder.load("artifacts/minilm")                      # doctest: +SKIP
        >>> vectors = embedder.embed(["How is a pump bearing lubricated?"])   # doctest: +SKIP
        >>> vectors.shape, vectors.dtype                                      # doctest: +SKIP
        ((1, 384), dtype('float32'))
    """

    def __init__(
        self,
        folder: Path,
        manifest: Manifest,
        session: ort.InferenceSession,
        tokenizer: Tokenizer,
        dim: int | None,
    ) -> None:
        """Wrap already-configured parts; use :meth:`load` instead."""
        self.folder = folder
        self.manifest = manifest
        self._session = session
        self._tokenizer = tokenizer
        self._dim = dim
        self._input_types = {i.name: i.type for i in session.get_inputs()}
        self._prompt_lengths = {kind: self._prompt_length(text) for kind, text in manifest.prompts.items()}

    @classmethod
    def load(
        cls,
        path: str | Path,
        threads: int | None = None,
        dim: int | None = None,
        verify: bool = True,
        providers: tuple[str, ...] = DEFAULT_PROVIDERS,
    ) -> Embedder:
        """Load an artifact folder.

        Args:
            path: The artifact folder (holding ``edge_embed.json``, ``model.onnx``, ``tokenizer.json``).
            threads: onnxruntime intra-op threads; all available CPUs when None.
            dim: Return only the first ``dim`` components (Matryoshka), renormalized if the model normalizes.
            verify: Check the sha256 of the model and tokenizer files against the manifest (costs a file read).
            providers: onnxruntime execution providers, in order of preference.

        Returns:
            A ready embedder.

        Raises:
            ArtifactError: If the folder, a file or the manifest is missing, invalid or corrupt.
            IntegrityError: If ``verify`` is set and a file's sha256 differs from the manifest's.
            InputError: If ``dim`` or ``threads`` is out of range.
        """
        folder = Path(path)
        manifest = read_manifest(folder)
        if dim is not None and not 0 < dim <= manifest.embedding_dim:
            raise InputError(f"dim must be between 1 and {manifest.embedding_dim}, got {dim}")
        if dim is not None and manifest.matryoshka_dims and dim not in manifest.matryoshka_dims:
            # Allowed (any prefix is a valid vector), but only trained dims keep their accuracy.
            import warnings

            warnings.warn(
                f"dim {dim} is not one of the Matryoshka dims {list(manifest.matryoshka_dims)} this model was "
                "trained for; accuracy may drop",
                stacklevel=2,
            )
        model_file, tokenizer_file = folder / manifest.graph.file, folder / manifest.tokenizer.file
        needed = [*manifest.graph.files, manifest.tokenizer.file]
        for name in needed:
            if not (folder / name).is_file():
                raise ArtifactError(
                    f"{folder / name} is missing; the artifact is incomplete, re-export or re-install it"
                )
        if verify:
            verify_files(folder, manifest, needed)
        session = create_session(model_file, threads=threads, providers=providers)
        _check_graph(session, manifest, model_file)
        tokenizer = _load_tokenizer(tokenizer_file, manifest)
        return cls(folder, manifest, session, tokenizer, dim)

    def with_graph(self, model_path: str | Path, threads: int | None = None) -> Embedder:
        """A copy that runs another graph with the same inputs, output and recipe (e.g. a candidate quantization).

        Raises:
            ArtifactError: If onnxruntime cannot load the graph or it lacks the manifest's output.
        """
        session = create_session(model_path, threads=threads)
        _check_graph(session, self.manifest, Path(model_path))
        return Embedder(self.folder, self.manifest, session, self._tokenizer, self._dim)

    @property
    def dim(self) -> int:
        """The width of the vectors :meth:`embed` returns."""
        return self._dim or self.manifest.embedding_dim

    def embed(
        self,
        texts: Sequence[str] | str,
        batch_size: int = 32,
        kind: TextKind | str = TextKind.DOCUMENT,
        show_progress: bool = False,
        max_batch_tokens: int | None = DEFAULT_MAX_BATCH_TOKENS,
    ) -> np.ndarray:
        """Embed texts, in input order.

        Texts are tokenized (truncated to the model's ``max_seq_length``), sorted by length and run in batches
        padded only to their own longest text, then put back in input order.

        Args:
            texts: The texts; a single string counts as one text.
            batch_size: At most this many texts per onnxruntime call.
            kind: ``"query"`` or ``"document"``: selects the model's prompt for that kind, if it has one.
            show_progress: Show a progress bar over batches.
            max_batch_tokens: At most this many padded tokens per call (a longer text still goes alone);
                None for fixed ``batch_size`` batches.

        Returns:
            A float32 array of shape ``(len(texts), self.dim)``; ``(0, self.dim)`` for no texts.

        Raises:
            InputError: If an item is not a string, or ``batch_size`` / ``max_batch_tokens`` / ``kind`` is invalid.
        """
        if isinstance(texts, str):
            texts = [texts]
        kind = _parse_kind(kind)
        if batch_size < 1:
            raise InputError(f"batch_size must be a positive integer, got {batch_size}")
        if max_batch_tokens is not None and max_batch_tokens < 1:
            raise InputError(f"max_batch_tokens must be a positive integer or None, got {max_batch_tokens}")
        _check_texts(texts)
        prompt = self.manifest.prompts.get(kind.value, "")
        skip_tokens = 0 if self.manifest.include_prompt else self._prompt_lengths.get(kind.value, 0)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        progress = _progress(len(texts), show_progress)
        for start in range(0, len(texts), _TOKENIZE_CHUNK):
            chunk = texts[start : start + _TOKENIZE_CHUNK]
            if prompt:
                chunk = [prompt + text for text in chunk]
            encodings = self.tokenize(chunk)
            for rows in length_sorted_batches(encodings, batch_size, max_batch_tokens):
                input_ids, attention_mask = self.pad([encodings[r] for r in rows])
                output = self.run(input_ids, attention_mask)
                if skip_tokens:
                    attention_mask = attention_mask.copy()
                    attention_mask[:, :skip_tokens] = 0
                out[start + rows] = self.postprocess(output, attention_mask)
                if progress is not None:
                    progress.update(len(rows))
        if progress is not None:
            progress.close()
        return out

    def tokenize(self, texts: Sequence[str]) -> list[Encoding]:
        """Step 1: tokenize without padding (truncated to ``max_seq_length``).

        Only a long text's head is read: it is cut before a whitespace far enough in to hold more tokens than the
        model keeps, so the kept tokens are those of the whole text; a head that does not overflow (very long
        words, no whitespace) is tokenized again in full.
        """
        limit = self.manifest.max_seq_length
        heads = [_head(text, limit * _CHARS_PER_TOKEN) for text in texts]
        encodings: list[Encoding] = self._tokenizer.encode_batch(heads)
        redo = [i for i, e in enumerate(encodings) if len(heads[i]) < len(texts[i]) and not e.overflowing]
        for i, encoding in zip(redo, self._tokenizer.encode_batch([texts[i] for i in redo]), strict=True):
            encodings[i] = encoding
        return encodings

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Step 2: run the graph on one padded batch and return the manifest's output."""
        feed: dict[str, np.ndarray] = {}
        for name, onnx_type in self._input_types.items():
            if name == "input_ids":
                value = input_ids
            elif name == "attention_mask":
                value = attention_mask
            else:  # token_type_ids: single-segment input
                value = np.zeros_like(input_ids)
            feed[name] = value.astype(np.int32) if onnx_type == "tensor(int32)" else value
        return self._session.run([self.manifest.graph.output_name], feed)[0]

    def postprocess(self, output: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Step 3: pool (unless the graph did), normalize and truncate to ``dim`` as the manifest says."""
        graph = self.manifest.graph
        pooled = output if graph.pooling_in_graph else pool(output, attention_mask, self.manifest.pooling)
        if self.manifest.normalize and not graph.normalize_in_graph:
            pooled = normalize(pooled)
        if self._dim is not None and self._dim != pooled.shape[1]:
            return truncate_dim(pooled, self._dim, renormalize=self.manifest.normalize)
        return pooled.astype(np.float32, copy=False)

    def pad(self, encodings: list[Encoding]) -> tuple[np.ndarray, np.ndarray]:
        """Step 1b: pad encodings to the longest one; return ``(input_ids, attention_mask)`` as int64."""
        longest = max(len(e.ids) for e in encodings)
        input_ids = np.full((len(encodings), longest), self.manifest.tokenizer.pad_id, dtype=np.int64)
        attention_mask = np.zeros((len(encodings), longest), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            n = len(encoding.ids)
            input_ids[row, :n] = encoding.ids
            attention_mask[row, :n] = 1
        return input_ids, attention_mask

    def _prompt_length(self, prompt: str) -> int:
        # As sentence-transformers counts it: the prompt's tokens with [CLS], without the closing [SEP].
        return max(len(self._tokenizer.encode(prompt).ids) - 1, 0) if prompt else 0

    def __repr__(self) -> str:
        return f"Embedder({str(self.folder)!r}, dim={self.dim}, pooling={self.manifest.pooling.value})"


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


def _check_graph(session: ort.InferenceSession, manifest: Manifest, model_file: Path) -> None:
    outputs = [o.name for o in session.get_outputs()]
    if manifest.graph.output_name not in outputs:
        raise ArtifactError(
            f"{model_file} has no output {manifest.graph.output_name!r} (it has {outputs}); the manifest does not "
            "belong to this graph"
        )
    known = {"input_ids", "attention_mask", "token_type_ids"}
    unknown = [i.name for i in session.get_inputs() if i.name not in known]
    if unknown:
        raise ArtifactError(
            f"{model_file} needs inputs {unknown} that the runtime cannot feed; supported: {sorted(known)}"
        )


def _parse_kind(kind: TextKind | str) -> TextKind:
    try:
        return TextKind(kind)
    except ValueError:
        raise InputError(f"kind must be 'query' or 'document', got {kind!r}") from None


def _check_texts(texts: Sequence[object]) -> None:
    if not isinstance(texts, Sequence):
        raise InputError(f"texts must be a list of strings, got {type(texts).__name__}")
    for index, text in enumerate(texts):
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
    lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
    order = np.argsort(-lengths, kind="stable")
    start = 0
    while start < len(order):
        rows = batch_size
        if max_batch_tokens is not None:
            rows = max(1, min(rows, max_batch_tokens // max(1, int(lengths[order[start]]))))
        yield order[start : start + rows]
        start += rows


def _progress(total: int, show: bool) -> Any:
    if not show or total == 0:
        return None
    from tqdm.auto import tqdm  # imported only when asked for: keeps import and cold start lean

    return tqdm(total=total, unit="text", desc="embedding")
