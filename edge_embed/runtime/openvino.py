"""OpenVINO as the engine of an artifact (``pip install 'edge-embed[openvino]'``; no torch).

An OpenVINO artifact holds an IR graph (``model.xml`` + ``model.bin``), e.g. the int8 graph NNCF calibrated on the
user's texts (``edge-embed quantize --method openvino-int8``). The graph is compiled for this CPU with every
property set explicitly: threads, one stream with the latency hint (the runtime makes synchronous calls; its own
batching supplies the parallelism), and the floating-point precision the manifest records (f32, or bf16 where the
CPU has it). Each calling thread gets its own infer request, so one Embedder may serve several threads at once.

OpenVINO's CPU plugin prepares its kernels for each new input shape on first sight (tens of milliseconds here), so
the runner feeds it a small set of shapes: the sequence padded up to a bucket length (masked, so the vectors do not
change: a multiple of :data:`SHORT_STEP` tokens up to :data:`SHORT_UNTIL`, where queries and titles sit and padding
would cost them most, then of :data:`SEQUENCE_STEP`) and the batch split into power-of-two parts. A service warms
every one of those shapes up at start (:func:`shape_buckets`), and no request meets a cold shape afterwards.

Compiling the graph is most of an OpenVINO artifact's cold start. Given a ``compile_cache`` folder, the compiled
model is kept there (OpenVINO's own cache, in a subfolder named by the graph's sha256 from the manifest) and later
starts import it instead of compiling. OpenVINO loads what it finds there without a checksum of its own: give it a
folder only the service's user can write, as protected as the artifact itself.
"""

from __future__ import annotations

import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from edge_embed.errors import ArtifactError, MissingExtraError
from edge_embed.lineage.manifest import InferencePrecision
from edge_embed.runtime.session import check_threads, default_threads

# Sequence lengths are padded up to a multiple of SHORT_STEP tokens up to SHORT_UNTIL, of SEQUENCE_STEP beyond.
SHORT_STEP, SHORT_UNTIL, SEQUENCE_STEP = 8, 64, 16


def _openvino() -> Any:
    try:
        import openvino
    except ImportError:
        raise MissingExtraError(
            "this artifact runs on OpenVINO (its manifest's graph.backend), which is not installed: "
            "pip install 'edge-embed[openvino]'"
        ) from None
    return openvino


def cpu_has_bf16(core: Any = None) -> bool:
    """Whether OpenVINO's CPU plugin computes bf16 natively on this machine (AVX512-BF16 or AMX)."""
    core = core or _openvino().Core()
    return "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def compile_properties(threads: int, precision: InferencePrecision) -> dict[str, Any]:
    """The CPU plugin's properties for one artifact: nothing left to the plugin's defaults that matters here."""
    return {
        "INFERENCE_NUM_THREADS": threads,
        "PERFORMANCE_HINT": "LATENCY",
        "NUM_STREAMS": 1,
        "INFERENCE_PRECISION_HINT": precision.value,
        "ENABLE_HYPER_THREADING": False,
    }


class OpenVinoRunner:
    """An IR graph compiled by OpenVINO's CPU plugin."""

    def __init__(self, compiled: Any, precision: InferencePrecision = InferencePrecision.F32) -> None:
        """Wrap a compiled model (:meth:`load` compiles an artifact's graph)."""
        ov = _openvino()
        self._compiled = compiled
        self.precision = precision
        self.input_names = tuple(port.get_any_name() for port in compiled.inputs)
        self.input_int32 = frozenset(p.get_any_name() for p in compiled.inputs if p.get_element_type() == ov.Type.i32)
        self._outputs = {name: port for port in compiled.outputs for name in port.get_names()}
        self.output_names = tuple(self._outputs)
        self._local = threading.local()

    @classmethod
    def load(
        cls,
        model_file: Path,
        threads: int | None,
        precision: InferencePrecision | None,
        compile_cache: Path | None = None,
    ) -> OpenVinoRunner:
        """Compile ``model_file`` for this CPU, or import it from ``compile_cache`` (a folder for this graph alone)
        when an earlier start compiled it there with the same properties.

        Raises:
            ArtifactError: If OpenVINO cannot read or compile the file.
            InputError: If ``threads`` is not a positive integer.
        """
        check_threads(threads)
        ov = _openvino()
        precision = precision or InferencePrecision.F32
        core = ov.Core()
        if compile_cache is not None:
            core.set_property({"CACHE_DIR": str(compile_cache)})
        if precision is InferencePrecision.BF16 and not cpu_has_bf16(core):
            warnings.warn(
                "this artifact computes in bf16, which this CPU lacks (no AVX512-BF16 or AMX): OpenVINO runs it in "
                "f32, accurate but slower; the fp32 ONNX parent may be the better choice here",
                stacklevel=5,
            )
            precision = InferencePrecision.F32
        try:
            model = core.read_model(str(model_file))
            compiled = core.compile_model(model, "CPU", compile_properties(threads or default_threads(), precision))
        except RuntimeError as exc:  # OpenVINO reports unreadable or invalid IR as RuntimeError
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else "RuntimeError"
            raise ArtifactError(f"OpenVINO cannot load {model_file}: {first_line}") from None
        return cls(compiled, precision)

    def run(self, output_name: str, feed: dict[str, np.ndarray]) -> np.ndarray:
        """Run one padded batch in bucketed shapes and return the output for the batch as given."""
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self._compiled.create_infer_request()
        rows, length = next(iter(feed.values())).shape
        padding = bucket_length(length) - length
        if padding:  # padded positions have attention_mask 0: no real token attends to them, pooling skips them
            feed = {name: np.pad(value, ((0, 0), (0, padding))) for name, value in feed.items()}
        port, parts, start = self._outputs[output_name], [], 0
        for size in power_of_two_parts(rows):
            part = {name: value[start : start + size] for name, value in feed.items()}
            # share_inputs: OpenVINO reads the arrays in place; outputs are copied out of the request's buffers.
            parts.append(np.asarray(request.infer(part, share_inputs=True)[port]))
            start += size
        output = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return output[:, :length] if output.ndim == 3 else output

    def warm_up_shapes(self, max_rows: int, max_length: int, max_tokens: int) -> list[tuple[int, int]]:
        """Every shape :meth:`run` feeds OpenVINO for batches of up to ``max_rows`` texts of up to ``max_length``
        tokens and ``max_tokens`` padded tokens (one row of each length at least)."""
        return shape_buckets(max_rows, max_length, max_tokens)


def power_of_two_parts(rows: int) -> list[int]:
    """``rows`` as a sum of distinct powers of two, largest first (27 -> 16, 8, 2, 1)."""
    return [1 << bit for bit in reversed(range(rows.bit_length())) if rows >> bit & 1]


def bucket_length(length: int) -> int:
    """The sequence length OpenVINO sees for a batch padded to ``length`` tokens."""
    step = SHORT_STEP if length <= SHORT_UNTIL else SEQUENCE_STEP
    return -(-length // step) * step


def bucket_lengths(max_length: int) -> list[int]:
    """Every bucket length that sequences of up to ``max_length`` tokens reach, shortest first."""
    lengths = [bucket_length(1)]
    while lengths[-1] < max_length:
        lengths.append(bucket_length(lengths[-1] + 1))
    return lengths


def shape_buckets(max_rows: int, max_length: int, max_tokens: int) -> list[tuple[int, int]]:
    """The ``(rows, tokens)`` shapes that batches of up to ``max_rows`` texts of up to ``max_length`` tokens, and of
    up to ``max_tokens`` tokens before bucketing, reach OpenVINO in."""
    lengths = bucket_lengths(max_length)
    sizes = [1 << bit for bit in range(max(1, max_rows).bit_length())]
    # A bucket's shortest batch is one token over the bucket below: that length bounds its rows under the budget.
    shortest = dict(zip(lengths, [1] + [below + 1 for below in lengths[:-1]], strict=True))
    return [(rows, n) for n in lengths for rows in sizes if rows == 1 or rows * shortest[n] <= max_tokens]
