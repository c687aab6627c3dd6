"""Training recipes: a frozen config with named presets, validated before any work (standard library only)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from edge_embed.errors import InputError
from edge_embed.records.sources import DataFile

PSEUDO_LABEL_MARGIN = 0.05


class Loss(str, Enum):
    """Contrastive losses from sentence-transformers."""

    MNRL = "mnrl"  # MultipleNegativesRankingLoss: in-batch negatives
    CACHED_MNRL = "cached-mnrl"  # GradCache variant: large effective batches in little memory


class CorpusMethod(str, Enum):
    """How a passage becomes a training pair without labelled queries (:mod:`edge_embed.train.corpus_pairs`)."""

    TITLE = "title"
    ICT = "ict"
    CROPS = "crops"
    TSDAE = "tsdae"  # denoising auto-encoder (sentence-transformers' DenoisingAutoEncoderLoss): trains alone

    @classmethod
    def parse(cls, names: str | Sequence[str]) -> tuple[CorpusMethod, ...]:
        """``"title,ict"`` or a list of names.

        Raises:
            InputError: Naming an unknown method and the known ones.
        """
        items = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
        methods = []
        for name in items:
            try:
                methods.append(cls(name))
            except ValueError:
                allowed = ", ".join(m.value for m in cls)
                raise InputError(f"unknown corpus-only method {name!r}; allowed: {allowed}") from None
        if not methods:
            raise InputError("no corpus-only method given; allowed: " + ", ".join(m.value for m in cls))
        if cls.TSDAE in methods and len(set(methods)) > 1:
            raise InputError(
                "tsdae trains alone (its loss reconstructs sentences, the others rank pairs); follow it with a "
                "second run from its model: --base-model RUN/final --unsupervised title,ict"
            )
        return tuple(dict.fromkeys(methods))


@dataclass(frozen=True)
class DataSource:
    """One training data source and the licence it is used under."""

    path: str
    split: str = "train"  # for BEIR folders
    license: str | None = None


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides what a training run produces (recorded whole in ``run.json``)."""

    data: tuple[DataSource, ...]
    eval_data: str | None = None  # BEIR folder with dev/test qrels; the first BEIR source when None
    base_model: str | None = None  # the bundled all-MiniLM-L6-v2 when None
    output_dir: str = "runs"
    run_id: str | None = None
    loss: Loss = Loss.MNRL
    mini_batch_size: int = 32
    matryoshka_dims: tuple[int, ...] = ()
    hard_negatives: int = 0
    epochs: float = 1.0
    learning_rate: float = 2e-5
    batch_size: int = 64
    max_seq_length: int = 256
    warmup_ratio: float = 0.1
    seed: int = 42
    # auto: bf16 autocast where the hardware has it (AVX-512-BF16/AMX CPUs, Ampere+ GPUs): ~1.5x faster on a CPU, but
    # on medquad it cost 0.026 test NDCG@10 against fp32 there (benchmarks/results/train_cpu30m_fp32.json).
    bf16: str = "auto"
    freeze_embeddings: bool = False
    time_budget_s: float | None = None
    eval_steps: int | None = None  # None: evaluate (and checkpoint) once per epoch
    eval_sample: int | None = None  # dev queries used for checkpoint selection (+10x distractors)
    dev_split: str = "dev"
    test_split: str = "test"
    pii_scrub: bool = False
    require_license: bool = False
    save_total_limit: int = 2
    processes: int = 1  # data-parallel training processes (DDP); each takes batch_size pairs per step
    unsupervised: tuple[str, ...] = ()  # corpus-only: pairs made from the sources' passages (title, ict, crops)
    sibling_negatives: bool = False  # corpus-only: each pair's negative is a passage of the same title
    query_log: str | None = None  # unlabelled queries, paired with the base model's confident top passage
    pseudo_label_margin: float = PSEUDO_LABEL_MARGIN  # cosine lead of the top passage over the second
    preset: str = "default"
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "loss", _enum(Loss, self.loss, "loss"))
        object.__setattr__(self, "data", tuple(d if isinstance(d, DataSource) else DataSource(**d) for d in self.data))
        object.__setattr__(self, "matryoshka_dims", tuple(sorted(set(self.matryoshka_dims), reverse=True)))
        if self.unsupervised or isinstance(self.unsupervised, str):  # "" names no method: refused, not ignored
            methods = CorpusMethod.parse(self.unsupervised)
            object.__setattr__(self, "unsupervised", tuple(m.value for m in methods))
        if not self.data:
            raise InputError("no training data: give at least one --data source")
        checks = {
            "epochs": self.epochs > 0,
            "learning_rate": 0 < self.learning_rate < 1,
            "batch_size": self.batch_size >= 2,
            "max_seq_length": self.max_seq_length >= 8,
            "warmup_ratio": 0 <= self.warmup_ratio < 1,
            "hard_negatives": self.hard_negatives >= 0,
            "mini_batch_size": self.mini_batch_size >= 1,
            "bf16": self.bf16 in ("auto", "yes", "no"),
            "processes": isinstance(self.processes, int) and self.processes >= 1,
            "pseudo_label_margin": 0 <= self.pseudo_label_margin < 2,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise InputError(f"invalid training setting(s): {', '.join(f'{b}={getattr(self, b)!r}' for b in bad)}")
        if self.denoising and (self.matryoshka_dims or self.hard_negatives or self.loss is not Loss.MNRL):
            raise InputError(
                "--unsupervised tsdae trains with its own denoising loss: drop --loss, --matryoshka-dims and "
                "--hard-negatives (use them in the pair run that follows it)"
            )
        if self.sibling_negatives and (
            not self.unsupervised or self.denoising or self.hard_negatives or self.query_log
        ):
            raise InputError(
                "--sibling-negatives gives corpus-only pairs their negatives: use it with --unsupervised title, ict "
                "or crops, without tsdae, --hard-negatives or --query-log"
            )
        if self.time_budget_s is not None and self.time_budget_s <= 0:
            raise InputError(f"time budget must be positive, got {self.time_budget_s}")

    @property
    def denoising(self) -> bool:
        """A TSDAE run: (damaged sentence, sentence) rows and the denoising auto-encoder loss."""
        return CorpusMethod.TSDAE.value in self.unsupervised

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (enums as strings)."""
        return json.loads(json.dumps(dataclasses.asdict(self), default=lambda v: v.value))

    def fingerprint(self, data_files: Sequence[DataFile]) -> str:
        """sha256 of the settings that change the result and of the data (not output_dir or run_id)."""
        settings = {k: v for k, v in self.to_dict().items() if k not in ("output_dir", "run_id")}
        if settings["processes"] == 1:  # one-process runs keep the ids they had before DDP existed
            del settings["processes"]
        if not settings["unsupervised"]:  # runs on labelled pairs keep theirs from before corpus-only training
            del settings["unsupervised"]
        if not settings["sibling_negatives"]:  # nor do corpus-only runs without sibling negatives
            del settings["sibling_negatives"]
        if settings["query_log"] is None:  # nor do runs without a query log
            del settings["query_log"], settings["pseudo_label_margin"]
        payload = json.dumps([settings, sorted(f.sha256 for f in data_files)], sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


def _enum(kind: type[Enum], value: Any, name: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise InputError(f"unknown {name} {value!r}; allowed: {', '.join(v.value for v in kind)}") from None


# The fp32 recipe measured on medquad (benchmarks/results/train_levers.json): the base model's own 128 tokens, 2 epochs
# of batch 32 at lr 5e-5, frozen word embeddings (no 11.7M-row optimizer state to update), fp32 (bf16 autocast scored
# 0.026 lower: results/train_cpu30m_fp32.json), checkpoints picked on a 300-query dev sample. ~35 minutes on a 2-core
# CPU; test NDCG@10 0.9587 there, against 0.9528 for 3 epochs at 256 tokens in ~2 hours.
_FP32_128 = dict(
    epochs=2,
    batch_size=32,
    learning_rate=5e-5,
    max_seq_length=128,
    bf16="no",
    freeze_embeddings=True,
    eval_sample=300,
)

PRESETS: dict[str, dict[str, Any]] = {
    # The best recipe measured, selected on dev: the fp32 recipe with Matryoshka loss over 384/256/128/64 dims, in
    # the same ~35 minutes. Dev NDCG@10 0.9519 at 384 dims and 0.9541 at 128 (0.9531 without Matryoshka); test
    # 0.9619 at 384, 0.9614 at 128 (results/train_matryoshka.json).
    "default": dict(_FP32_128, matryoshka_dims=(256, 128, 64)),
    # The fp32 recipe without Matryoshka stopped at 30 minutes (611 of 720 steps; test 0.9590), as measured.
    "cpu-30m": dict(_FP32_128, time_budget_s=30 * 60),
    # For passages that run past 128 tokens: 3 epochs, batch 64, 256 tokens; hours on a 2-core CPU. The default until
    # fp32 was measured (0.9528 with bf16 autocast: benchmarks/results/train_default.json).
    "long": dict(epochs=3, batch_size=64, learning_rate=5e-5, max_seq_length=256),
    # The GPU reference recipe (NDCG@10 0.957 on medquad test there; 0.9463 on this repo's 2-core bf16 CPU).
    "reference": dict(epochs=3, batch_size=64, learning_rate=2e-5, max_seq_length=256),
    # For tests and smoke runs.
    "tiny": dict(epochs=1, batch_size=16, learning_rate=5e-5, max_seq_length=64, warmup_ratio=0.0),
}


def preset(name: str, **overrides: Any) -> TrainConfig:
    """A config from a named preset, with any field overridden.

    Raises:
        InputError: If the preset or a value is unknown.
    """
    if name not in PRESETS:
        raise InputError(f"unknown preset {name!r}; allowed: {', '.join(PRESETS)}")
    given = {k: v for k, v in overrides.items() if v is not None}
    values = {**PRESETS[name], **given}
    methods = values.get("unsupervised")  # "" is refused by TrainConfig, not here
    if "matryoshka_dims" not in given and methods and CorpusMethod.TSDAE in CorpusMethod.parse(methods):
        values.pop("matryoshka_dims", None)  # the preset's Matryoshka is for pair losses; TSDAE brings its own loss
    return TrainConfig(preset=name, **values)
