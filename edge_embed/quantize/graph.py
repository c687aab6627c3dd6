"""Graph-level steps of quantization, each a thin call into onnxruntime's own tools."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from edge_embed.errors import InputError, MissingExtraError
from edge_embed.quantize.config import CalibrationMethod, GraphOptimization, Method, QuantizationConfig
from edge_embed.runtime.embedder import Embedder
from edge_embed.runtime.steps import padded_inputs, with_graph

logger = logging.getLogger(__name__)

# Ops whose weights dominate an encoder's size and time; what --auto may keep in fp32, one node at a time.
QUANTIZABLE_OPS = ("MatMul", "Gemm", "Attention", "Gather", "EmbedLayerNormalization")


def single_file_copy(model_path: Path, out_path: Path) -> None:
    """Save a graph with its external weights inlined (onnxruntime's quantization tools expect one file)."""
    import onnx

    onnx.save_model(onnx.load(str(model_path)), str(out_path))


def optimize_graph(
    model_path: Path,
    out_path: Path,
    level: GraphOptimization,
    architecture: dict[str, Any],
    *,
    separate_projections: bool = False,
) -> None:
    """Fuse the encoder graph with onnxruntime's transformer optimizer (what Optimum's ORTOptimizer runs).

    Args:
        model_path: The fp32 graph.
        out_path: Where to save the optimized graph (single file).
        level: ``O1`` (basic onnxruntime optimizations) or ``O2`` (+ attention, LayerNorm and GELU fusions).
        architecture: ``model_type``, ``num_attention_heads`` and ``hidden_size`` of the encoder.
        separate_projections: Fuse attention into ``MultiHeadAttention`` and keep the Q/K/V projections as plain
            MatMuls (per-token int8 quantizes them; ``Attention``'s fused projection takes one scale per batch).
    """
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    model_type = architecture.get("model_type") or "bert"
    options = FusionOptions(model_type if model_type in ("bert", "gpt2", "bart") else "bert")
    options.use_multi_head_attention = separate_projections
    if level is GraphOptimization.O1:
        options.enable_attention = options.enable_skip_layer_norm = options.enable_bias_gelu = False
        options.enable_gelu = options.enable_layer_norm = options.enable_embed_layer_norm = False
    optimized = optimize_model(
        str(model_path),
        model_type=model_type if model_type in ("bert", "gpt2", "bart") else "bert",
        num_heads=int(architecture.get("num_attention_heads") or 0),
        hidden_size=int(architecture.get("hidden_size") or 0),
        optimization_options=options,
        opt_level=1 if level is GraphOptimization.O1 else 0,
        use_gpu=False,
    )
    fused = {op: n for op, n in optimized.get_fused_operator_statistics().items() if n}
    logger.info("graph optimization %s: fused %s", level.value, fused or "nothing")
    # Fused contrib ops (Attention, SkipLayerNormalization, ...) carry no output types, which the quantizers
    # need: onnxruntime's symbolic shape inference knows these ops and annotates them.
    import onnx
    from onnxruntime.tools.symbolic_shape_infer import SymbolicShapeInference

    try:
        import sympy  # noqa: F401  symbolic shape inference needs it; torch brings it on a workstation
    except ImportError:
        raise MissingExtraError(
            f"graph optimization {level.value} needs sympy: pip install 'edge-embed[quantize]' (or quantize with "
            "--optimize none)"
        ) from None
    optimized.save_model_to_file(str(out_path), use_external_data_format=False)  # also adds contrib opset imports
    annotated = SymbolicShapeInference.infer_shapes(onnx.load(str(out_path)), auto_merge=True)
    onnx.save_model(annotated, str(out_path))


def check_optimized(parent: Embedder, optimized: Path, threshold: float = 0.9999) -> None:
    """Refuse a fused graph that no longer reproduces its parent (e.g. a fusion that mishandles padding).

    Raises:
        ParityError: If any probe text's cosine to the parent is below ``threshold``.
    """
    from edge_embed.data.probes import PARITY_TEXTS
    from edge_embed.errors import ParityError

    texts = list(PARITY_TEXTS)
    cosines = (parent.embed(texts, batch_size=4) * with_graph(parent, optimized).embed(texts, batch_size=4)).sum(1)
    if cosines.min() < threshold:
        raise ParityError(
            f"graph optimization changed the embeddings (cosine {cosines.min():.6f} < {threshold}); "
            "quantize with --optimize none"
        )


def quantize_graph(
    model_path: Path, out_path: Path, config: QuantizationConfig, calibration: list[str] | None, parent: Embedder
) -> None:
    """Quantize one graph file as ``config`` says (onnxruntime's quantizers do the work).

    Args:
        model_path: The fp32 (possibly optimized) graph.
        out_path: Where to save the quantized graph (single file).
        config: The recipe.
        calibration: Domain texts for static quantization.
        parent: The parent artifact's embedder (its tokenizer feeds calibration).

    Raises:
        InputError: If static quantization gets no calibration texts.
    """
    if config.method is Method.DYNAMIC_INT8:
        _dynamic_int8(model_path, out_path, config)
    elif config.method is Method.STATIC_INT8:
        if not calibration:
            raise InputError("static-int8 needs calibration texts: pass --calibration DATA")
        _static_int8(model_path, out_path, config, calibration, parent)
    elif config.method is Method.FP16:
        _fp16(model_path, out_path)
    else:
        _int4_weights(model_path, out_path, config)


def quantize_single_node(
    model_path: Path, out_path: Path, config: QuantizationConfig, node: str, all_nodes: list[str]
) -> None:
    """Quantize only ``node`` (everything else stays fp32): how --auto measures one node's damage."""
    if config.method is Method.DYNAMIC_INT8:
        _dynamic_int8(model_path, out_path, config.replace(nodes_to_exclude=()), only=[node])
    else:
        _int4_weights(model_path, out_path, config.replace(nodes_to_exclude=tuple(n for n in all_nodes if n != node)))


def quantizable_nodes(model_path: Path) -> list[str]:
    """Names of the nodes whose quantization --auto may undo, in graph order."""
    import onnx

    model = onnx.load(str(model_path), load_external_data=False)
    weights = {t.name for t in model.graph.initializer}
    # Only nodes that read a weight: shape-arithmetic Gathers and activation-by-activation MatMuls stay fp32.
    return [
        n.name
        for n in model.graph.node
        if n.op_type in QUANTIZABLE_OPS and n.name and any(i in weights for i in n.input)
    ]


def _dynamic_int8(model_path: Path, out_path: Path, config: QuantizationConfig, only: list[str] | None = None) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from edge_embed.quantize.per_token import per_token_activations

    quantize_dynamic(
        str(model_path),
        str(out_path),
        per_channel=config.per_channel,
        reduce_range=config.reduce_range,
        weight_type=QuantType.QInt8 if config.weights_signed else QuantType.QUInt8,
        nodes_to_quantize=only,
        nodes_to_exclude=list(config.nodes_to_exclude),
        extra_options={"MatMulConstBOnly": True},
    )
    if config.per_token:
        model = onnx.load(str(out_path))
        try:
            rewritten = per_token_activations(model)
        except ValueError as exc:
            raise InputError(
                f"per-token int8 cannot quantize this graph: {exc}; or pass --activations per-tensor"
            ) from None
        logger.debug("per-token activation scales: %d quantized activations", rewritten)
        onnx.save_model(model, str(out_path))


def _calibration_feeds(
    texts: list[str], parent: Embedder, names: list[str], batch: int = 8
) -> Iterator[dict[str, np.ndarray]]:
    """Tokenized calibration batches, padded as the runtime pads them, keyed by the graph's input names."""
    for start in range(0, len(texts), batch):
        ids, mask = padded_inputs(parent, texts[start : start + batch])
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        yield {name: feed[name] for name in names}


def _static_int8(
    model_path: Path, out_path: Path, config: QuantizationConfig, texts: list[str], parent: Embedder
) -> None:
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization import CalibrationMethod as OrtCalibration
    from onnxruntime.quantization.shape_inference import quant_pre_process

    methods = {
        CalibrationMethod.MINMAX: OrtCalibration.MinMax,
        CalibrationMethod.PERCENTILE: OrtCalibration.Percentile,
        CalibrationMethod.ENTROPY: OrtCalibration.Entropy,
    }
    input_names = [i.name for i in onnx.load(str(model_path), load_external_data=False).graph.input]

    class Reader(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self._feeds = _calibration_feeds(texts, parent, input_names)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._feeds, None)

    with tempfile.TemporaryDirectory() as scratch:
        prepared = Path(scratch) / "prepared.onnx"
        # Symbolic shape inference is done (or not needed); onnx's own inference and folding still help.
        quant_pre_process(str(model_path), str(prepared), skip_optimization=False, skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(out_path),
            Reader(),
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=["MatMul", "Gemm", "Gather"],
            per_channel=config.per_channel,
            reduce_range=config.reduce_range,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8 if config.weights_signed else QuantType.QUInt8,
            nodes_to_exclude=list(config.nodes_to_exclude) + post_gelu_matmuls(prepared),
            calibrate_method=methods[config.calibration],
            extra_options={
                "ActivationSymmetric": False,
                "WeightSymmetric": True,
                "MatMulConstBOnly": True,
            },
        )


def post_gelu_matmuls(model_path: Path) -> list[str]:
    """MatMuls fed by a GELU: their inputs are heavy-tailed, and one per-tensor int8 scale ruins them.

    Measured on all-MiniLM-L6-v2 (medquad passages, mean cosine to fp32): static int8 of every MatMul 0.943;
    the same keeping the six FFN-output MatMuls (the ones after GELU) in fp32 0.991.
    """
    import onnx

    graph = onnx.load(str(model_path), load_external_data=False).graph
    producer = {out: node for node in graph.node for out in node.output}
    gelu_like = {"Erf", "Tanh", "Gelu", "FastGelu", "BiasGelu", "QuickGelu"}
    # A GELU is only "the" input if it is reached without crossing another layer's boundary.
    boundaries = {
        "MatMul",
        "Gemm",
        "LayerNormalization",
        "SkipLayerNormalization",
        "Attention",
        "EmbedLayerNormalization",
        "Softmax",
    }

    def after_gelu(tensor: str, hops: int = 5) -> bool:
        node = producer.get(tensor)
        if node is None or hops == 0 or node.op_type in boundaries:
            return False
        return node.op_type in gelu_like or any(after_gelu(i, hops - 1) for i in node.input)

    return [n.name for n in graph.node if n.op_type == "MatMul" and n.name and after_gelu(n.input[0])]


def _fp16(model_path: Path, out_path: Path) -> None:
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = onnx.load(str(model_path))
    # Inputs and outputs stay float32/int64, so the runtime and its callers do not change.
    converted = convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=False)
    onnx.save_model(converted, str(out_path))


def _int4_weights(model_path: Path, out_path: Path, config: QuantizationConfig) -> None:
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    quantizer = MatMulNBitsQuantizer(
        onnx.load(str(model_path)),
        block_size=config.block_size,
        is_symmetric=True,
        accuracy_level=4,  # int8 activations in the kernel: the fast path on x86 (VNNI) and ARM64
        nodes_to_exclude=list(config.nodes_to_exclude),
    )
    quantizer.process()
    onnx.save_model(quantizer.model.model, str(out_path))
