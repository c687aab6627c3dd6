"""The artifact manifest (``edge_embed.json``): what the runtime reads and the source of truth for lineage."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Any

from edge_embed.errors import ArtifactError, IntegrityError, ManifestVersionError
from edge_embed.lineage.hashing import sha256_bytes, sha256_file, sha256_tree
from edge_embed.lineage.paths import inside, member_name

FORMAT_VERSION = 1
MANIFEST_NAME = "edge_embed.json"
MODEL_FILE = "model.onnx"
EXTERNAL_DATA_FILE = "model.onnx_data"
TOKENIZER_FILE = "tokenizer.json"
SIGNATURE_NAME = "edge_embed.json.sig"  # written by edge_embed.lineage.signing; the one file a manifest cannot list


class Pooling(str, Enum):
    """How token embeddings become one sentence embedding (names as in sentence-transformers' Pooling)."""

    MEAN = "mean"
    CLS = "cls"
    MAX = "max"
    LAST_TOKEN = "lasttoken"
    MEAN_SQRT_LEN = "mean_sqrt_len_tokens"


class OutputKind(str, Enum):
    """What the graph output named in the manifest holds."""

    TOKEN_EMBEDDINGS = "token_embeddings"  # (batch, seq, dim): pooling runs in numpy
    SENTENCE_EMBEDDING = "sentence_embedding"  # (batch, dim): pooling ran inside the graph


class Backend(str, Enum):
    """The inference engine that runs an artifact's graph on the device."""

    ONNXRUNTIME = "onnxruntime"  # model.onnx (+ model.onnx_data): the default, in the base install
    OPENVINO = "openvino"  # OpenVINO IR, model.xml + model.bin: ``pip install 'edge-embed[openvino]'``
    STATIC = "static"  # a token-vector table (embeddings.npz) averaged in numpy: ``edge-embed distill``


class InferencePrecision(str, Enum):
    """The precision OpenVINO computes a graph's floating-point layers in (its ``INFERENCE_PRECISION_HINT``)."""

    F32 = "f32"
    BF16 = "bf16"  # fp32 weights computed in bfloat16 where the CPU has it: near-lossless, about twice as fast


# GraphSpec fields left out of the manifest at their default, so the bytes (and seals) of artifacts written before
# they existed stay exactly what the runtime writes.
_OMITTED_DEFAULTS = {"backend": "onnxruntime", "inference_precision": None, "batch_invariant": None}


@dataclass(frozen=True)
class GraphSpec:
    """Which graph to run, which output to read, and what the graph already does."""

    output_name: str
    output_kind: OutputKind
    normalize_in_graph: bool
    input_names: tuple[str, ...]
    precision: str = "fp32"
    file: str = MODEL_FILE
    external_data: str | None = None  # weights beside the graph: the engine maps them instead of copying
    backend: Backend = Backend.ONNXRUNTIME
    inference_precision: InferencePrecision | None = None  # OpenVINO only; f32 when None
    # False where a text's vector depends on its batch-mates (per-tensor dynamic int8); set by the quantizer,
    # None in exports and in manifests written before it was recorded (see ``vectors_batch_invariant``)
    batch_invariant: bool | None = None

    @property
    def files(self) -> tuple[str, ...]:
        """The graph file and, if any, its external weights file."""
        return (self.file, self.external_data) if self.external_data else (self.file,)

    def __post_init__(self) -> None:
        _require("graph.output_name", self.output_name, str)
        _require("graph.normalize_in_graph", self.normalize_in_graph, bool)
        _require("graph.input_names", self.input_names, list, tuple)
        _require("graph.precision", self.precision, str)
        _require("graph.file", self.file, str)
        if self.external_data is not None:
            _require("graph.external_data", self.external_data, str)
        if self.batch_invariant is not None:
            _require("graph.batch_invariant", self.batch_invariant, bool)
        for name in self.input_names:
            _require("graph.input_names[]", name, str)
        object.__setattr__(self, "output_kind", OutputKind(self.output_kind))
        object.__setattr__(self, "backend", _choice("graph.backend", Backend, self.backend))
        if self.inference_precision is not None:
            precision = _choice("graph.inference_precision", InferencePrecision, self.inference_precision)
            object.__setattr__(self, "inference_precision", precision)
            if self.backend is not Backend.OPENVINO:
                raise ArtifactError("manifest graph.inference_precision applies to the openvino backend only")
        object.__setattr__(self, "input_names", tuple(self.input_names))
        if "input_ids" not in self.input_names:
            raise ArtifactError(f"manifest graph.input_names {list(self.input_names)} lacks 'input_ids'")
        if self.normalize_in_graph and self.output_kind is OutputKind.TOKEN_EMBEDDINGS:
            raise ArtifactError("manifest says the graph normalizes, but its output is token embeddings")

    @property
    def vectors_batch_invariant(self) -> bool:
        """Whether a text's vector is the same whatever it is batched with: the recorded answer, else (manifests
        written before it was recorded) what the precision label says (``int8-dynamic-per-tensor``)."""
        if self.batch_invariant is not None:
            return self.batch_invariant
        return "per-tensor" not in self.precision

    @property
    def pooling_in_graph(self) -> bool:
        """Whether the graph output is already pooled."""
        return self.output_kind is OutputKind.SENTENCE_EMBEDDING


@dataclass(frozen=True)
class TokenizerSpec:
    """The tokenizer file and the padding token the runtime pads with."""

    pad_token: str
    pad_id: int
    file: str = TOKENIZER_FILE

    def __post_init__(self) -> None:
        _require("tokenizer.pad_token", self.pad_token, str)
        _require("tokenizer.pad_id", self.pad_id, int)
        _require("tokenizer.file", self.file, str)
        if self.pad_id < 0:
            raise ArtifactError(f"manifest tokenizer.pad_id must be >= 0, got {self.pad_id}")


@dataclass(frozen=True)
class Manifest:
    """Everything a device needs to embed with an artifact, and where the artifact came from.

    ``files`` maps every file of the folder but the manifest itself to its sha256; ``parent`` links a derived
    artifact (e.g. a quantized one) to the manifest sha256 of the artifact it was made from; ``source`` describes
    the checkpoint (and training run, if any) an export came from.
    """

    graph: GraphSpec
    tokenizer: TokenizerSpec
    pooling: Pooling
    normalize: bool
    max_seq_length: int
    embedding_dim: int
    files: dict[str, str]
    source: dict[str, Any]
    include_prompt: bool = True
    matryoshka_dims: tuple[int, ...] = ()
    prompts: dict[str, str] = field(default_factory=dict)
    parent: dict[str, Any] | None = None
    versions: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, Any] = field(default_factory=dict)
    created_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    format_version: int = FORMAT_VERSION
    sizes: dict[str, int] = field(default_factory=dict, compare=False)  # bytes per listed file (write_manifest)
    # sha256 of the rest of the manifest, set by write_manifest: a hand edit (pooling, normalize, ...) shows.
    seal: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        self._check_types()
        object.__setattr__(self, "pooling", Pooling(self.pooling))
        object.__setattr__(self, "matryoshka_dims", tuple(sorted(set(self.matryoshka_dims), reverse=True)))
        if self.format_version != FORMAT_VERSION:
            raise ManifestVersionError(
                f"artifact format version {self.format_version} is not supported (this edge-embed reads version "
                f"{FORMAT_VERSION}); re-export the artifact or install a matching edge-embed"
            )
        if self.max_seq_length <= 0 or self.embedding_dim <= 0:
            raise ArtifactError("manifest max_seq_length and embedding_dim must be positive")
        bad = [d for d in self.matryoshka_dims if not 0 < d <= self.embedding_dim]
        if bad:
            raise ArtifactError(f"manifest matryoshka_dims {bad} are outside 1..{self.embedding_dim}")
        unknown = set(self.prompts) - {"query", "document"}
        if unknown:
            raise ArtifactError(f"manifest prompts has unknown kinds {sorted(unknown)}; allowed: query, document")
        for name in self.files:
            member_name(name, "manifest files")
        for name, size in self.sizes.items():
            if name not in self.files or not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise ArtifactError(f"manifest sizes[{name!r}] = {size!r} is not the size of a listed file")
        for name in (*self.graph.files, self.tokenizer.file):
            member_name(name, "manifest graph/tokenizer")
            if name not in self.files:
                raise ArtifactError(f"manifest files has no sha256 for {name}")

    def _check_types(self) -> None:
        _require("graph", self.graph, GraphSpec)
        _require("tokenizer", self.tokenizer, TokenizerSpec)
        for name in ("normalize", "include_prompt"):
            _require(name, getattr(self, name), bool)
        for name in ("max_seq_length", "embedding_dim", "format_version"):
            _require(name, getattr(self, name), int)
        for name in ("files", "sizes", "source", "prompts", "versions", "options", "checks"):
            _require(name, getattr(self, name), dict)
        _require("matryoshka_dims", self.matryoshka_dims, list, tuple)
        for dim in self.matryoshka_dims:
            _require("matryoshka_dims[]", dim, int)
        for kind, prompt in self.prompts.items():
            _require(f"prompts[{kind!r}]", prompt, str)
        for name, digest in self.files.items():
            _require(f"files[{name!r}]", digest, str)
        if self.parent is not None:
            _require("parent", self.parent, dict)
        _require("created_at", self.created_at, str)
        if self.seal is not None:
            _require("seal", self.seal, str)

    def to_dict(self) -> dict[str, Any]:
        """Return the manifest as JSON-ready data (enums as their string values)."""
        data: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(self), default=_enum_value))
        for name, default in _OMITTED_DEFAULTS.items():
            if data["graph"].get(name) == default:
                del data["graph"][name]
        return data

    def to_json(self) -> bytes:
        """Return the canonical bytes written to ``edge_embed.json``."""
        return (json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """Build a manifest from parsed JSON, checking the format version first.

        Args:
            data: The parsed ``edge_embed.json``.

        Returns:
            The validated manifest.

        Raises:
            ManifestVersionError: If the format version is missing or not supported.
            ArtifactError: If a field is missing, unknown or invalid.
        """
        if not isinstance(data, dict):
            raise ArtifactError("manifest is not a JSON object")
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise ManifestVersionError(
                f"artifact format version {version!r} is not supported (this edge-embed reads version "
                f"{FORMAT_VERSION}); re-export the artifact or install a matching edge-embed"
            )
        try:
            fields = dict(data)
            for section in ("graph", "tokenizer"):
                if not isinstance(fields.get(section), dict):
                    raise ArtifactError(f"manifest {section} must be a JSON object, got {fields.get(section)!r:.40}")
            fields["graph"] = GraphSpec(**fields["graph"])
            fields["tokenizer"] = TokenizerSpec(**fields["tokenizer"])
            return cls(**fields)
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"manifest is invalid: {exc}") from None

    def replace(self, **changes: Any) -> Manifest:
        """Return a copy with some fields changed (and validated again)."""
        return dataclasses.replace(self, **changes)

    def content_seal(self) -> str:
        """The sha256 of every field but ``seal``, in a canonical form (what ``seal`` must equal)."""
        data = self.to_dict()
        data.pop("seal", None)
        return sha256_bytes(json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode())

    def check_seal(self, where: str) -> bool:
        """Whether the manifest is sealed (False for manifests written before seals existed).

        Raises:
            IntegrityError: If the seal does not match: the manifest was edited after it was written.
        """
        if self.seal is None:
            return False
        if self.seal != self.content_seal():
            raise IntegrityError(
                f"{where} was edited after it was written (its seal does not match its content, so a field such as "
                "pooling, normalize or max_seq_length may have been changed by hand); re-export or re-install it"
            )
        return True


def _require(field_name: str, value: object, *kinds: type) -> None:
    """Refuse a manifest field of the wrong JSON type (``True`` is not an int here)."""
    wrong_bool = isinstance(value, bool) and bool not in kinds
    if wrong_bool or not isinstance(value, kinds):
        expected = " or ".join(dict.fromkeys("list" if k is tuple else k.__name__ for k in kinds))
        raise ArtifactError(f"manifest {field_name} must be {expected}, got {type(value).__name__} {value!r:.40}")


def _choice(field_name: str, kind: type[Enum], value: object) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(str(v.value) for v in kind)
        raise ArtifactError(f"manifest {field_name} {value!r} is not one of: {allowed}") from None


def _enum_value(value: object) -> object:
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def read_manifest(folder: str | Path) -> Manifest:
    """Read and validate the manifest of an artifact folder.

    Args:
        folder: The artifact folder.

    Returns:
        The manifest.

    Raises:
        ArtifactError: If the folder or its manifest is missing or unreadable.
        ManifestVersionError: If the manifest's format version is not supported.
    """
    return parse_manifest(read_manifest_bytes(folder), Path(folder) / MANIFEST_NAME)


def read_manifest_bytes(folder: str | Path) -> bytes:
    """The exact bytes of an artifact's manifest (what its seal, signature and identity are computed on).

    Raises:
        ArtifactError: If the folder or its manifest is missing or unreadable.
    """
    folder = Path(folder)
    path = folder / MANIFEST_NAME
    if not folder.is_dir():
        raise ArtifactError(f"{folder} is not an artifact folder (no such directory)")
    if not path.is_file():
        raise ArtifactError(f"{folder} has no {MANIFEST_NAME}: not an edge-embed artifact, or an unfinished one")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ArtifactError(f"cannot read {path}: {exc.strerror or exc}") from None


def read_verified_manifest(folder: str | Path) -> Manifest:
    """Read a manifest and refuse it if it was edited after it was written (see :func:`check_manifest_bytes`)."""
    path = Path(folder) / MANIFEST_NAME
    data = read_manifest_bytes(folder)
    manifest = parse_manifest(data, path)
    check_manifest_bytes(data, manifest, str(path))
    return manifest


def check_manifest_bytes(data: bytes, manifest: Manifest, where: str) -> bool:
    """Check a sealed manifest's seal and that its bytes are exactly what ``write_manifest`` wrote.

    Any edit then shows: a changed field breaks the seal, and a change of layout alone (whitespace, key order)
    breaks the canonical form. Returns False for an unsealed manifest (older edge-embed), which is not checked.

    Raises:
        IntegrityError: If the manifest was edited.
    """
    if not manifest.check_seal(where):
        return False
    if data != manifest.to_json():
        raise IntegrityError(
            f"{where} was edited after it was written (its bytes differ from the form edge-embed writes); "
            "re-export or re-install it"
        )
    return True


def parse_manifest(data: bytes, path: str | Path) -> Manifest:
    """Parse and validate manifest bytes (e.g. the exact bytes a signature was checked on).

    Raises:
        ArtifactError: If the bytes are not a valid manifest.
    """
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{path} is not valid JSON: {exc}") from None
    return Manifest.from_dict(parsed)


def write_manifest(folder: str | Path, manifest: Manifest) -> str:
    """Write ``edge_embed.json`` atomically; the manifest is the last file an artifact gets.

    Args:
        folder: The artifact folder.
        manifest: The manifest to write.

    Returns:
        The sha256 of the written manifest bytes (the artifact's identity).
    """
    from edge_embed.lineage.atomic import atomic_write_bytes  # write side only: keeps tempfile off runtime import

    folder = Path(folder)
    sizes = {name: (folder / name).stat().st_size for name in manifest.files if (folder / name).is_file()}
    sized = manifest.replace(sizes=sizes)
    data = sized.replace(seal=sized.content_seal()).to_json()
    atomic_write_bytes(folder / MANIFEST_NAME, data)
    return sha256_bytes(data)


def manifest_sha256(folder: str | Path) -> str:
    """Return the sha256 of an artifact's manifest file: the id that children and reports link to.

    Raises:
        ArtifactError: If the manifest is missing.
    """
    path = Path(folder) / MANIFEST_NAME
    if not path.is_file():
        raise ArtifactError(f"{folder} has no {MANIFEST_NAME}")
    return sha256_file(path)


def hash_artifact_files(folder: str | Path) -> dict[str, str]:
    """Hash every file of an artifact folder except its manifest."""
    return sha256_tree(folder, exclude=frozenset({MANIFEST_NAME, SIGNATURE_NAME}))


def unlisted_files(folder: str | Path, manifest: Manifest) -> list[str]:
    """Files (and links or other entries) in the folder that the manifest does not list, besides itself and its
    signature: a complete artifact has none."""
    folder = Path(folder)
    known = {MANIFEST_NAME, SIGNATURE_NAME, *manifest.files}
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if (p.is_symlink() or not p.is_dir()) and p.relative_to(folder).as_posix() not in known
    )


def verify_files(folder: str | Path, manifest: Manifest, names: list[str] | None = None) -> None:
    """Check files of an artifact against the sha256 its manifest records.

    Args:
        folder: The artifact folder.
        manifest: Its manifest.
        names: The files to check; all of ``manifest.files`` when None.

    Raises:
        ArtifactError: If a file is missing.
        IntegrityError: If a file's sha256 differs from the manifest's.
    """
    folder = Path(folder)
    for name in names if names is not None else list(manifest.files):
        path = inside(folder, name, str(folder / MANIFEST_NAME))
        if not path.is_file():
            raise ArtifactError(f"{path} is missing; the artifact is incomplete, re-export or re-install it")
        actual = sha256_file(path)
        if actual != manifest.files[name]:
            raise IntegrityError(
                f"{path} does not match its manifest (sha256 {actual[:12]}… != {manifest.files[name][:12]}…); "
                "the file was altered or corrupted: re-export or re-install the artifact"
            )
