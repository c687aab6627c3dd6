"""OpenVINO artifacts from an fp32 ONNX artifact: the graph converted to OpenVINO IR as it is (run in f32 or bf16),
or quantized to int8 by NNCF's post-training quantization calibrated on the user's domain texts.

OpenVINO compiles an int8 IR into kernels that keep activations in int8 between layers, where onnxruntime's
dynamic int8 quantizes each MatMul's input on the fly and returns to fp32 after it; on this project's CPUs that is
where onnxruntime's int8 kernels stop (benchmarks/README.md). Fixed, calibrated activation scales also make a
text's vector independent of its batch-mates.

Conversion needs only ``openvino``; int8 needs ``nncf`` too (``pip install 'edge-embed[build]'``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from edge_embed.errors import InputError, MissingExtraError
from edge_embed.lineage.manifest import InferencePrecision
from edge_embed.quantize.config import Method, NncfPreset, QuantizationConfig
from edge_embed.runtime.embedder import Embedder
from edge_embed.runtime.steps import padded_inputs

logger = logging.getLogger(__name__)

IR_FILE = "model.xml"
IR_WEIGHTS_FILE = "model.bin"
# Texts per calibration sample: NNCF collects statistics sample by sample, and single texts (no padding) give
# ranges that padded batches on the device reproduce.
_CALIBRATION_BATCH = 1


def inference_precision(method: Method) -> InferencePrecision:
    """The precision an OpenVINO artifact of ``method`` computes its floating-point layers in."""
    return InferencePrecision.BF16 if method is Method.OPENVINO_BF16 else InferencePrecision.F32


def build_openvino_graph(
    onnx_graph: Path,
    folder: Path,
    config: QuantizationConfig,
    calibration: list[str] | None,
    parent: Embedder,
    accuracy_check: Callable[[Any], float] | None = None,
    max_drop: float = 0.01,
) -> dict[str, Any]:
    """Write ``model.xml`` + ``model.bin`` into ``folder`` from the parent's fp32 ONNX graph.

    Args:
        onnx_graph: The parent's ``model.onnx`` (its external data beside it).
        folder: The new artifact's folder.
        config: An OpenVINO method's recipe.
        calibration: Domain texts (needed for int8).
        parent: The parent artifact's embedder (its tokenizer feeds calibration exactly as the runtime pads).
        accuracy_check: For int8 with accuracy control: the primary metric of a compiled candidate; NNCF then
            keeps the layers that cost most in fp32 until the drop is within ``max_drop``.
        max_drop: The relative drop ``accuracy_check`` may show.

    Returns:
        What NNCF did (for the manifest's recipe): empty for plain conversion.

    Raises:
        InputError: If int8 is asked for without calibration texts.
        MissingExtraError: If openvino (or, for int8, nncf) is not installed.
    """
    ov = _require("openvino", "pip install 'edge-embed[openvino]'")
    model = ov.Core().read_model(str(onnx_graph))
    report: dict[str, Any] = {}
    if config.method is Method.OPENVINO_INT8:
        if not calibration:
            raise InputError("openvino-int8 needs calibration texts: pass --calibration DATA (BEIR folder or texts)")
        nncf = _require("nncf", "pip install 'edge-embed[build]'")
        names = [port.get_any_name() for port in model.inputs]
        dataset = nncf.Dataset(list(_calibration_samples(calibration, parent, names)))
        options = {
            "preset": {
                NncfPreset.MIXED: nncf.QuantizationPreset.MIXED,
                NncfPreset.PERFORMANCE: nncf.QuantizationPreset.PERFORMANCE,
            }[config.nncf_preset],
            "model_type": nncf.ModelType.TRANSFORMER,
            "subset_size": len(calibration),
        }
        if config.nodes_to_exclude:
            options["ignored_scope"] = nncf.IgnoredScope(names=list(config.nodes_to_exclude), validate=True)
        logger.info("NNCF int8 (%s preset) on %d calibration texts", config.nncf_preset.value, len(calibration))
        if accuracy_check is None:
            model = nncf.quantize(model, dataset, **options)
        else:
            model, report = _with_accuracy_control(nncf, model, dataset, options, accuracy_check, max_drop)
    ov.save_model(model, str(folder / IR_FILE), compress_to_fp16=False)
    return report


def quantized_node_names(ir_file: Path) -> list[str]:
    """The layers an int8 IR quantizes (those fed by a FakeQuantize), for the manifest and the tests."""
    ov = _require("openvino", "pip install 'edge-embed[openvino]'")
    model = ov.Core().read_model(str(ir_file))
    return sorted(
        op.get_friendly_name()
        for op in model.get_ordered_ops()
        if op.get_type_name() in ("MatMul", "Convolution", "Gather")
        and any(_fed_by_fake_quantize(op.input_value(i).get_node()) for i in range(op.get_input_size()))
    )


def _fed_by_fake_quantize(node: Any, hops: int = 3) -> bool:
    if node.get_type_name() == "FakeQuantize":
        return True
    if hops == 0 or node.get_type_name() not in ("Convert", "Subtract", "Multiply", "Reshape", "Transpose"):
        return False
    return any(_fed_by_fake_quantize(node.input_value(i).get_node(), hops - 1) for i in range(node.get_input_size()))


def _with_accuracy_control(
    nncf: Any,
    model: Any,
    dataset: Any,
    options: dict[str, Any],
    accuracy_check: Callable[[Any], float],
    max_drop: float,
) -> tuple[Any, dict[str, Any]]:
    """NNCF's accuracy-aware quantization: quantize, then give layers back to fp32, ranked by how much each moves
    the outputs, until ``accuracy_check`` is within ``max_drop`` (relative) of the fp32 model's."""
    calls: list[float] = []

    def validate(compiled: Any, _: Any) -> tuple[float, None]:
        calls.append(accuracy_check(compiled))
        return calls[-1], None  # no per-sample values: NNCF ranks layers by output differences instead

    quantized = nncf.quantize_with_accuracy_control(
        model,
        calibration_dataset=dataset,
        validation_dataset=dataset,
        validation_fn=validate,
        max_drop=max_drop,
        drop_type=nncf.DropType.RELATIVE,
        **options,
    )
    return quantized, {"accuracy_control": {"evaluations": len(calls), "metrics": calls, "max_drop": max_drop}}


def _calibration_samples(texts: list[str], parent: Embedder, names: list[str]) -> Iterator[dict[str, np.ndarray]]:
    for start in range(0, len(texts), _CALIBRATION_BATCH):
        ids, mask = padded_inputs(parent, texts[start : start + _CALIBRATION_BATCH])
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        yield {name: feed[name] for name in names}


def _require(module: str, install: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(f"OpenVINO artifacts need {module}: {install}") from None
