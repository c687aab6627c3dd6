"""Quantization recipes: methods, CPU presets and the frozen config stored next to what it produced.

Standard library only, so the CLI can validate options before any heavy import.
"""

from __future__ import annotations

import dataclasses
import platform
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from edge_embed.cpu import cpu_flags
from edge_embed.errors import InputError


class Method(str, Enum):
    """How an artifact is quantized."""

    DYNAMIC_INT8 = "dynamic-int8"
    STATIC_INT8 = "static-int8"
    FP16 = "fp16"
    INT4_WEIGHTS = "int4-weights"
    # OpenVINO artifacts (IR graph, run by OpenVINO on the device): NNCF's post-training int8 calibrated on domain
    # texts, and the fp32 graph converted as it is, computed in f32 or (where the CPU has it) bf16.
    OPENVINO_INT8 = "openvino-int8"
    OPENVINO_FP32 = "openvino-fp32"
    OPENVINO_BF16 = "openvino-bf16"

    @property
    def openvino(self) -> bool:
        """Whether the method makes an OpenVINO artifact."""
        return self in (Method.OPENVINO_INT8, Method.OPENVINO_FP32, Method.OPENVINO_BF16)

    @property
    def needs_calibration(self) -> bool:
        """Whether the method fixes activation scales from domain texts."""
        return self in (Method.STATIC_INT8, Method.OPENVINO_INT8)


class CpuTarget(str, Enum):
    """CPU families with their own int8 preset (as Optimum's ``AutoQuantizationConfig``)."""

    AUTO = "auto"
    AVX2 = "avx2"
    AVX512 = "avx512"
    AVX512_VNNI = "avx512_vnni"
    ARM64 = "arm64"


class CalibrationMethod(str, Enum):
    """How static quantization turns calibration activations into ranges."""

    MINMAX = "minmax"
    PERCENTILE = "percentile"
    ENTROPY = "entropy"


class ActivationScale(str, Enum):
    """How dynamic int8 scales a MatMul's input: one scale per token (batch-invariant) or per tensor."""

    PER_TOKEN = "per-token"  # a text's vector never depends on its batch-mates (edge_embed/quantize/per_token.py)
    PER_TENSOR = "per-tensor"  # onnxruntime's default: one scale for the whole batch, padding included


class NncfPreset(str, Enum):
    """NNCF's int8 schemes (``nncf.QuantizationPreset``)."""

    MIXED = "mixed"  # symmetric weights, asymmetric activations: keeps the one-sided ranges after GELU/softmax
    PERFORMANCE = "performance"  # symmetric weights and activations


class GraphOptimization(str, Enum):
    """Graph optimization before quantizing (levels as in Optimum's ``ORTOptimizer``)."""

    AUTO = "auto"  # O2 for dynamic int8 on encoders onnxruntime's fusions know, else none
    NONE = "none"
    O1 = "O1"  # onnxruntime's basic graph optimizations
    O2 = "O2"  # + transformer fusions: attention, skip-LayerNorm, bias-GELU


# Encoders whose graphs onnxruntime's transformer optimizer fuses (its "bert" fusions).
FUSABLE_MODEL_TYPES = frozenset({"bert", "roberta", "xlm-roberta", "distilbert", "electra", "camembert"})

# The CPU flags each target's int8 kernels need (from /proc/cpuinfo).
_TARGET_FLAGS = {
    CpuTarget.AVX2: {"avx2"},
    CpuTarget.AVX512: {"avx512f", "avx512bw"},
    CpuTarget.AVX512_VNNI: {"avx512_vnni"},
}
# u8 weights on x86 without VNNI (as Optimum's avx2/avx512 presets), s8 weights with VNNI and on ARM64.
_SIGNED_WEIGHTS = {CpuTarget.AVX512_VNNI, CpuTarget.ARM64}


@dataclass(frozen=True)
class QuantizationConfig:
    """A complete, resolved recipe; stored in the child artifact's manifest."""

    method: Method
    target: CpuTarget = CpuTarget.AUTO
    per_channel: bool = True
    reduce_range: bool = False
    weights_signed: bool = True
    optimize: GraphOptimization = GraphOptimization.AUTO
    activations: ActivationScale = ActivationScale.PER_TOKEN
    calibration: CalibrationMethod = CalibrationMethod.MINMAX
    calibration_size: int = 128
    block_size: int = 32
    nncf_preset: NncfPreset = NncfPreset.MIXED
    nodes_to_exclude: tuple[str, ...] = ()
    target_supported: bool = True
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        for name, kind in (
            ("method", Method),
            ("target", CpuTarget),
            ("optimize", GraphOptimization),
            ("activations", ActivationScale),
            ("calibration", CalibrationMethod),
            ("nncf_preset", NncfPreset),
        ):
            value = getattr(self, name)
            try:
                object.__setattr__(self, name, kind(value))
            except ValueError:
                allowed = ", ".join(v.value for v in kind)
                raise InputError(f"unknown {name} {value!r}; allowed: {allowed}") from None
        object.__setattr__(self, "nodes_to_exclude", tuple(self.nodes_to_exclude))
        if self.calibration_size < 1:
            raise InputError(f"calibration_size must be positive, got {self.calibration_size}")
        if self.block_size < 16 or self.block_size & (self.block_size - 1):
            raise InputError(f"block_size must be a power of two >= 16, got {self.block_size}")

    @classmethod
    def for_target(
        cls, method: Method | str, target: CpuTarget | str = CpuTarget.AUTO, **options: Any
    ) -> QuantizationConfig:
        """Resolve a method and CPU target (``auto`` = this machine) into a full config.

        Args:
            method: The quantization method.
            target: The CPU family the artifact will run on.
            **options: Any other field of the config.

        Returns:
            The config, with ``target_supported`` false (and a note) if this CPU lacks the target's flags.

        Raises:
            InputError: If a value is not allowed.
        """
        parsed: CpuTarget = _parse(CpuTarget, target, "target")
        resolved = detect_cpu_target() if parsed is CpuTarget.AUTO else parsed
        supported, notes = cpu_supports(resolved)
        config = cls(
            method=_parse(Method, method, "method"),
            target=resolved,
            weights_signed=options.pop("weights_signed", resolved in _SIGNED_WEIGHTS),
            target_supported=supported,
            notes=tuple(notes),
            **options,
        )
        return config

    def to_dict(self) -> dict[str, Any]:
        """The config as JSON-ready data."""
        return {
            k: (v.value if isinstance(v, Enum) else list(v) if isinstance(v, tuple) else v)
            for k, v in dataclasses.asdict(self).items()
        }

    def replace(self, **changes: Any) -> QuantizationConfig:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    @property
    def per_token(self) -> bool:
        """Whether activations get one scale per token (dynamic int8's batch-invariant default)."""
        return self.method is Method.DYNAMIC_INT8 and self.activations is ActivationScale.PER_TOKEN

    @property
    def batch_invariant(self) -> bool:
        """Whether the child's vectors are independent of their batch-mates: all but per-tensor dynamic int8,
        whose activation scales are taken over the whole batch."""
        return not (self.method is Method.DYNAMIC_INT8 and self.activations is ActivationScale.PER_TENSOR)

    @property
    def precision(self) -> str:
        """The label written to the manifest's ``graph.precision``."""
        label = {
            Method.DYNAMIC_INT8: "int8-dynamic",
            Method.STATIC_INT8: "int8-static",
            Method.FP16: "fp16",
            Method.INT4_WEIGHTS: "int4-weights",
            Method.OPENVINO_INT8: f"int8-openvino-{self.nncf_preset.value}",
            Method.OPENVINO_FP32: "fp32-openvino",
            Method.OPENVINO_BF16: "bf16-openvino",
        }[self.method]
        if not self.batch_invariant:
            label += "-per-tensor"
        mixed = "-mixed" if self.nodes_to_exclude else ""
        fused = "" if self.optimize in (GraphOptimization.NONE, GraphOptimization.AUTO) else f"-{self.optimize.value}"
        return label + mixed + fused

    def resolve_optimization(self, architecture: dict[str, Any]) -> QuantizationConfig:
        """Turn ``optimize=auto`` into O2 or none for this model (the manifest records the resolved level).

        O2 (fused attention, skip-LayerNorm, bias-GELU) makes dynamic int8 faster on CPU. Measured
        on all-MiniLM-L6-v2 here, it made static int8 larger (the fused embedding op keeps its table in fp32)
        and no faster, and fp16 / int4-weights quantize plain MatMuls that fused attention would hide: those
        stay unfused.
        """
        if self.optimize is not GraphOptimization.AUTO:
            return self
        fusable = architecture.get("model_type") in FUSABLE_MODEL_TYPES
        use_o2 = fusable and self.method is Method.DYNAMIC_INT8
        return self.replace(optimize=GraphOptimization.O2 if use_o2 else GraphOptimization.NONE)


def _parse(kind: type[Enum], value: Any, name: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise InputError(f"unknown {name} {value!r}; allowed: {', '.join(v.value for v in kind)}") from None


def detect_cpu_target() -> CpuTarget:
    """The best int8 preset for this machine."""
    if platform.machine().lower() in ("aarch64", "arm64"):
        return CpuTarget.ARM64
    flags = cpu_flags()
    for target in (CpuTarget.AVX512_VNNI, CpuTarget.AVX512, CpuTarget.AVX2):
        if _TARGET_FLAGS[target] <= flags:
            return target
    return CpuTarget.AVX2


def cpu_supports(target: CpuTarget) -> tuple[bool, list[str]]:
    """Whether this CPU can run ``target``'s int8 kernels natively, with a note if not."""
    if target is CpuTarget.ARM64:
        ok = platform.machine().lower() in ("aarch64", "arm64")
        return ok, [] if ok else [f"this CPU ({platform.machine()}) is not ARM64"]
    if platform.machine().lower() in ("aarch64", "arm64"):
        return False, [f"this CPU is ARM64, not {target.value}"]
    missing = sorted(_TARGET_FLAGS[target] - cpu_flags())
    return (not missing), [
        f"this CPU lacks {', '.join(missing)} needed by the {target.value} preset"
    ] if missing else []
