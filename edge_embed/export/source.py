"""Find the model behind a path (sentence-transformers folder, transformers checkpoint or training run) and read
its embedding recipe from its own config files, as text-embeddings-inference does. Standard library only."""

from __future__ import annotations

import dataclasses
import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge_embed.errors import CheckpointError
from edge_embed.lineage.hashing import sha256_file
from edge_embed.lineage.manifest import Pooling
from edge_embed.prompts import kind_prompts
from edge_embed.records import RUN_RECORD

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
_SUPPORTED_MODULES = ("Transformer", "Pooling", "Normalize")
_CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")
# sentence-transformers pooling flags, in the order its Pooling module gives them precedence.
_POOLING_FLAGS = (
    ("pooling_mode_cls_token", Pooling.CLS),
    ("pooling_mode_lasttoken", Pooling.LAST_TOKEN),
    ("pooling_mode_max_tokens", Pooling.MAX),
    ("pooling_mode_mean_sqrt_len_tokens", Pooling.MEAN_SQRT_LEN),
    ("pooling_mode_mean_tokens", Pooling.MEAN),
)


class SourceFormat:
    """How the source model is stored."""

    SENTENCE_TRANSFORMERS = "sentence-transformers"
    TRANSFORMERS = "transformers"


@dataclass(frozen=True)
class ExportSource:
    """A model ready to export, with the recipe the runtime must reproduce."""

    model_dir: Path
    transformer_dir: Path
    format: str
    pooling: Pooling
    normalize: bool
    include_prompt: bool
    max_seq_length: int
    embedding_dim: int
    weights_file: Path
    prompts: dict[str, str] = field(default_factory=dict)
    matryoshka_dims: tuple[int, ...] = ()
    run: dict[str, Any] | None = None
    notes: tuple[str, ...] = ()

    def describe(self) -> dict[str, Any]:
        """Return the ``source`` section of an artifact manifest (hashes the weights)."""
        run = self.run or {}
        return {
            "format": self.format,
            "path": str(self.model_dir),
            "weights_file": self.weights_file.name,
            "weights_sha256": sha256_file(self.weights_file),
            "run_id": run.get("run_id"),
            "run_path": run.get("path"),
            "run_record_sha256": run.get("record_sha256"),
            "checkpoint": run.get("checkpoint"),
            "architecture": _architecture(self.transformer_dir),
        }


def resolve_source(
    path: str | Path,
    checkpoint: str = "best",
    pooling: Pooling | None = None,
    normalize: bool | None = None,
    max_seq_length: int | None = None,
) -> ExportSource:
    """Resolve a path to the model to export and its pooling, normalization, length and prompts.

    Args:
        path: A sentence-transformers model folder, a transformers checkpoint folder (e.g. ``checkpoint-500``),
            or a training run folder (holding ``run.json`` and/or ``checkpoint-N`` folders).
        checkpoint: For run folders: ``"best"`` (the best checkpoint the run recorded, else the final model, else
            the last checkpoint) or ``"last"``.
        pooling: Override the pooling read from the model's config (needed for bare transformers checkpoints
            whose pooling is not mean).
        normalize: Override whether embeddings are L2-normalized.
        max_seq_length: Override the maximum tokens per text.

    Returns:
        The resolved source.

    Raises:
        CheckpointError: If the path is not a model, checkpoint or run folder, or uses modules that cannot be
            exported.
    """
    root = Path(path).expanduser().absolute()
    if not root.exists():
        raise CheckpointError(f"{root} does not exist")
    if not root.is_dir():
        raise CheckpointError(f"{root} is a file; pass the model, checkpoint or run folder that holds it")
    run = None
    if not _is_model_dir(root):
        if checkpoint not in ("best", "last"):
            raise CheckpointError(f"checkpoint must be 'best' or 'last', got {checkpoint!r}")
        run = _read_run(root, checkpoint)
        root = Path(run["model_dir"])
    if (root / "modules.json").is_file():
        source = _from_sentence_transformers(root, run)
    else:
        source = _from_transformers(root, run)
    overrides: dict[str, Any] = {}
    if pooling is not None:
        overrides["pooling"] = Pooling(pooling)
    if normalize is not None:
        overrides["normalize"] = normalize
    if max_seq_length is not None:
        overrides["max_seq_length"] = _check_length(max_seq_length, source.transformer_dir)
    if overrides:
        source = dataclasses.replace(source, **overrides)
    return source


def _is_model_dir(path: Path) -> bool:
    return (path / "modules.json").is_file() or (path / "config.json").is_file()


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"cannot read {path}: {exc}") from None


def _read_run(root: Path, which: str) -> dict[str, Any]:
    """Pick the model folder of a training run: recorded best checkpoint, final model, or last checkpoint."""
    root = root.resolve()
    record_path = root / RUN_RECORD
    record = _read_json(record_path) if record_path.is_file() else {}
    if record.get("status") not in (None, "finished"):
        warnings.warn(
            f"run {record.get('run_id', root.name)} is not finished (status {record['status']!r}); exporting its "
            f"{which} checkpoint so far",
            stacklevel=4,
        )
    checkpoints = sorted(
        (p for p in root.glob("checkpoint-*") if p.is_dir() and _CHECKPOINT_RE.match(p.name)),
        key=lambda p: int(p.name.split("-")[1]),
    )
    if not record and not checkpoints:
        raise CheckpointError(
            f"{root} is not a model: expected modules.json (sentence-transformers), config.json with weights "
            f"(transformers), or {RUN_RECORD} / checkpoint-N folders (a training run)"
        )
    candidates: list[tuple[str, Path]] = []
    if which == "best":
        best = record.get("best_checkpoint") or _trainer_best(checkpoints)
        if best:
            candidates.append(("best", _within(root, best)))
        if record.get("final_model"):
            candidates.append(("final", _within(root, record["final_model"])))
    if checkpoints:
        candidates.append(("last", checkpoints[-1]))
    for label, folder in candidates:
        if _is_model_dir(folder):
            return {
                "model_dir": str(folder),
                "checkpoint": f"{label}:{folder.relative_to(root).as_posix()}",
                "run_id": record.get("run_id"),
                "path": str(root),
                "record_sha256": sha256_file(record_path) if record else None,
                "matryoshka_dims": record.get("config", {}).get("matryoshka_dims") or record.get("matryoshka_dims"),
            }
    raise CheckpointError(f"run folder {root} has no usable checkpoint (looked for {[str(c) for _, c in candidates]})")


def _within(root: Path, relative: str) -> Path:
    folder = (root / relative).resolve()
    if root.resolve() not in (folder, *folder.parents):
        raise CheckpointError(f"{root / RUN_RECORD} points outside the run folder: {relative}")
    return folder


def _trainer_best(checkpoints: list[Path]) -> str | None:
    """The best checkpoint the Hugging Face trainer recorded in its last ``trainer_state.json``."""
    for checkpoint in reversed(checkpoints):
        state = checkpoint / "trainer_state.json"
        if state.is_file():
            best = _read_json(state).get("best_model_checkpoint")
            if best:
                return str(checkpoint.parent / Path(best).name)
    return None


def _from_sentence_transformers(root: Path, run: dict[str, Any] | None) -> ExportSource:
    modules = _read_json(root / "modules.json")
    kinds = {}
    for module in modules:
        kind = str(module.get("type", "")).rsplit(".", 1)[-1]
        if kind not in _SUPPORTED_MODULES:
            raise CheckpointError(
                f"{root / 'modules.json'}: module {module.get('type')!r} cannot be exported yet; supported: "
                f"{', '.join(_SUPPORTED_MODULES)}"
            )
        kinds[kind] = root / module.get("path", "")
    if "Transformer" not in kinds:
        raise CheckpointError(f"{root / 'modules.json'} has no Transformer module")
    transformer_dir = kinds["Transformer"]
    bert_config = _read_optional(transformer_dir / "sentence_bert_config.json") or _read_optional(
        root / "sentence_bert_config.json"
    )
    max_len = bert_config.get("max_seq_length") or _model_max_length(transformer_dir)
    pooling, include_prompt = Pooling.MEAN, True
    if "Pooling" in kinds:
        pooling_config = _read_json(kinds["Pooling"] / "config.json")
        pooling = _pooling_from_flags(pooling_config, kinds["Pooling"])
        include_prompt = bool(pooling_config.get("include_prompt", True))
    st_config = _read_optional(root / "config_sentence_transformers.json")
    return ExportSource(
        model_dir=root,
        transformer_dir=transformer_dir,
        format=SourceFormat.SENTENCE_TRANSFORMERS,
        pooling=pooling,
        normalize="Normalize" in kinds,
        include_prompt=include_prompt,
        max_seq_length=_check_length(int(max_len), transformer_dir),
        embedding_dim=_hidden_size(transformer_dir),
        weights_file=_weights(transformer_dir),
        prompts=kind_prompts(st_config.get("prompts")),
        matryoshka_dims=tuple((run or {}).get("matryoshka_dims") or ()),
        run=run,
    )


def _from_transformers(root: Path, run: dict[str, Any] | None) -> ExportSource:
    embedding_dim = _hidden_size(root)
    weights_file = _weights(root)
    return ExportSource(
        model_dir=root,
        transformer_dir=root,
        format=SourceFormat.TRANSFORMERS,
        pooling=Pooling.MEAN,
        normalize=False,
        include_prompt=True,
        max_seq_length=_check_length(_model_max_length(root), root),
        embedding_dim=embedding_dim,
        weights_file=weights_file,
        matryoshka_dims=tuple((run or {}).get("matryoshka_dims") or ()),
        run=run,
        notes=(
            "bare transformers checkpoint: mean pooling, no normalization (as sentence-transformers assumes); "
            "override with --pooling / --normalize",
        ),
    )


def _read_optional(path: Path) -> dict[str, Any]:
    return _read_json(path) if path.is_file() else {}


def _pooling_from_flags(config: dict[str, Any], folder: Path) -> Pooling:
    if "pooling_mode" in config:  # newer sentence-transformers write the mode by name
        try:
            return Pooling(config["pooling_mode"])
        except ValueError:
            pass
    chosen = [mode for flag, mode in _POOLING_FLAGS if config.get(flag)]
    if len(chosen) != 1:
        raise CheckpointError(
            f"{folder / 'config.json'}: expected exactly one pooling mode among "
            f"{[m.value for _, m in _POOLING_FLAGS]}, found {[m.value for m in chosen] or 'none'}"
        )
    return chosen[0]


def _model_config(folder: Path) -> dict[str, Any]:
    path = folder / "config.json"
    if not path.is_file():
        raise CheckpointError(f"{folder} has no config.json: not a transformers model folder")
    return dict(_read_json(path))


def _architecture(folder: Path) -> dict[str, Any]:
    """What graph optimizers need to know about the encoder (model type, heads, width, depth)."""
    config = _model_config(folder)
    keys = ("model_type", "num_attention_heads", "hidden_size", "num_hidden_layers")
    return {key: config.get(key) for key in keys}


def _hidden_size(folder: Path) -> int:
    config = _model_config(folder)
    for key in ("hidden_size", "d_model", "dim"):
        if isinstance(config.get(key), int):
            return int(config[key])
    raise CheckpointError(f"{folder / 'config.json'} names no hidden size (hidden_size / d_model / dim)")


def _model_max_length(folder: Path) -> int:
    tokenizer_config = _read_optional(folder / "tokenizer_config.json")
    limit = tokenizer_config.get("model_max_length")
    positions = _model_config(folder).get("max_position_embeddings")
    candidates = [v for v in (limit, positions) if isinstance(v, int) and 0 < v < 1_000_000]
    if not candidates:
        raise CheckpointError(f"{folder}: cannot tell the maximum sequence length; pass --max-seq-length")
    return min(candidates)


def _check_length(length: int, folder: Path) -> int:
    positions = _model_config(folder).get("max_position_embeddings")
    if length < 1 or (isinstance(positions, int) and length > positions):
        raise CheckpointError(f"max_seq_length {length} is outside 1..{positions} for the model in {folder}")
    return length


def _weights(folder: Path) -> Path:
    for name in WEIGHT_FILES:
        if (folder / name).is_file():
            return folder / name
    raise CheckpointError(f"{folder} has no weights ({' or '.join(WEIGHT_FILES)}): not a usable checkpoint")
