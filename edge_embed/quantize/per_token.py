"""Per-token activation scales for a dynamically quantized graph: a text's vector no longer depends on its batch.

onnxruntime's dynamic quantizer puts one ``DynamicQuantizeLinear`` in front of each int8 MatMul. It takes one scale
for the whole activation tensor, so the scale (and every rounding) of a text depends on the longest and loudest
text next to it in the batch, padding included. This rewrite replaces each of those nodes by a symmetric
quantization with one scale per token (per row of the MatMul's input), computed from that token's values alone:

    scale = max(|x|, over the hidden axis) / 127
    q     = round(x / scale) + 128          (uint8, zero point 128: onnxruntime's fast u8s8 kernels)

Each ``MatMulInteger -> Cast -> Mul(a_scale * w_scale)`` after it becomes ``MatMulIntegerToFloat`` (weight scales)
followed by one ``Mul`` with the ``[..., tokens, 1]`` scale. A token's values depend only on the tokens of its own
text (the attention mask hides the rest), so its vector is the same in any batch.

Fused ``QAttention`` takes one input scale per batch, so graphs meant for this rewrite fuse attention as
``MultiHeadAttention`` and keep the Q/K/V projections as MatMuls, quantized like the others.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_ZERO_POINT = 128
_LEVELS = 127.0
_TINY = np.finfo(np.float32).tiny  # an all-zero row gets scale tiny instead of a division by zero


def per_token_activations(model: Any) -> int:
    """Replace every ``DynamicQuantizeLinear`` of ``model`` (an ``onnx.ModelProto``) in place; returns how many.

    Raises:
        ValueError: If a quantized activation feeds anything but the ``MatMulInteger -> Cast -> Mul`` pattern
            onnxruntime's quantizer writes (e.g. ``QAttention``, which needs a scalar scale): optimize the graph
            without fusing attention into ``Attention`` first.
    """
    from onnx import numpy_helper

    graph = model.graph
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset < 13:
        raise ValueError(f"the graph's opset {opset} has no per-axis QuantizeLinear (needs opset 13 or later)")
    consumers = _consumers(graph)
    replacements: dict[str, list[Any]] = {}  # node name -> the nodes that take its place (none: removed)
    shapes: dict[str, Any] = {}  # the [-1, hidden] shapes of the rows views, one per hidden size
    quantized_activations = 0
    for node in graph.node:
        if node.op_type != "DynamicQuantizeLinear":
            continue
        quantized_activations += 1
        quantized, scale, zero_point = node.output
        for user in consumers.get(quantized, []):
            replacements.update(_rescale_matmul(user, quantized, scale, consumers))
        for user in consumers.get(scale, []):
            if user.name not in replacements:
                raise ValueError(f"{user.op_type} node {user.name!r} reads an activation scale outside the pattern")
        hidden = _hidden_size(consumers.get(quantized, []), graph)
        matrix = f"per_token/rows_of_{hidden}"
        if matrix not in shapes:
            shapes[matrix] = numpy_helper.from_array(np.array([-1, hidden], dtype=np.int64), matrix)
        replacements[node.name] = _quantize_per_token(
            node.input[0], quantized, scale, matrix, f"{node.name}/per_token", axes_as_input=opset >= 18
        )
        graph.initializer.append(numpy_helper.from_array(np.array(_ZERO_POINT, dtype=np.uint8), zero_point))
    if not replacements:
        return 0
    rewritten: list[Any] = []
    for node in graph.node:
        rewritten += replacements.get(node.name, [node])
    graph.initializer.extend(
        [
            numpy_helper.from_array(np.array(1.0 / _LEVELS, dtype=np.float32), "per_token/inverse_levels"),
            numpy_helper.from_array(np.array(_TINY, dtype=np.float32), "per_token/tiny"),
            numpy_helper.from_array(np.array(1.0, dtype=np.float32), "per_token/one"),
            numpy_helper.from_array(np.array([-1], dtype=np.int64), "per_token/last_axis"),
            *shapes.values(),
        ]
    )
    del graph.node[:]
    graph.node.extend(rewritten)
    # Scales changed from scalars to [..., tokens, 1]: shapes inferred before the rewrite no longer hold.
    del graph.value_info[:]
    model.opset_import.extend([] if any(o.domain == "com.microsoft" for o in model.opset_import) else [_ms_opset()])
    return quantized_activations


def _hidden_size(matmuls: list[Any], graph: Any) -> int:
    """The inner dimension of the MatMuls a quantized activation feeds (their weights' first axis)."""
    weights = {t.name: t for t in graph.initializer}
    sizes = {weights[m.input[1]].dims[0] for m in matmuls if m.input[1] in weights}
    if len(sizes) != 1:
        raise ValueError(f"cannot tell the hidden size of {[m.name for m in matmuls]} from their weights")
    return int(sizes.pop())


def _consumers(graph: Any) -> dict[str, list[Any]]:
    """Tensor name -> the nodes that read it."""
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    return consumers


def _quantize_per_token(x: str, quantized: str, scale: str, matrix: str, p: str, *, axes_as_input: bool) -> list[Any]:
    """``x`` -> uint8 ``quantized`` (zero point 128) and its ``[..., tokens, 1]`` ``scale`` (max |x| / 127).

    ``matrix`` names the constant shape ``[-1, hidden]`` of the rows view of ``x``.
    """
    from onnx import helper, numpy_helper

    def node(op: str, inputs: list[str], output: str, **attrs: Any) -> Any:
        return helper.make_node(op, inputs, [output], name=f"{p}/{output.rsplit('/', 1)[-1]}", **attrs)

    def reduce(op: str, output: str) -> Any:  # opset 18 moved the reduced axes from an attribute to an input
        if axes_as_input:
            return node(op, [f"{p}/abs", "per_token/last_axis"], output, keepdims=1)
        return node(op, [f"{p}/abs"], output, keepdims=1, axes=[-1])

    return [
        # Few nodes matter: at one short query per call, onnxruntime's per-node cost is most of the time.
        node("Abs", [x], f"{p}/abs"),
        reduce("ReduceMax", f"{p}/amax"),
        node("Mul", [f"{p}/amax", "per_token/inverse_levels"], f"{p}/raw_scale"),
        helper.make_node("Max", [f"{p}/raw_scale", "per_token/tiny"], [scale], name=f"{p}/Scale"),
        # QuantizeLinear takes one scale per index of one axis: quantize the rows of a [tokens, hidden] view.
        node("Reshape", [scale, "per_token/last_axis"], f"{p}/row_scale"),
        node("Shape", [f"{p}/row_scale"], f"{p}/rows"),
        node("Reshape", [x, matrix], f"{p}/x_rows"),
        node(
            "ConstantOfShape",
            [f"{p}/rows"],
            f"{p}/row_zero_point",
            value=numpy_helper.from_array(np.array([_ZERO_POINT], dtype=np.uint8)),
        ),
        node("QuantizeLinear", [f"{p}/x_rows", f"{p}/row_scale", f"{p}/row_zero_point"], f"{p}/Quantize", axis=0),
        node("Shape", [x], f"{p}/shape"),
        helper.make_node("Reshape", [f"{p}/Quantize", f"{p}/shape"], [quantized], name=f"{p}/Unflatten"),
    ]


def _rescale_matmul(matmul: Any, quantized: str, scale: str, consumers: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Rewrite ``Mul(Cast(MatMulInteger(q, W)), Mul(scale, w_scale))`` for a per-token ``scale``.

    The new form is ``Mul(MatMulIntegerToFloat(q, W, 1, w_scale), scale)``: onnxruntime's fused int8-to-float
    kernel applies the weight scales, then the per-token scale broadcasts over the output columns. (Left alone,
    onnxruntime would fuse the old form into ``MatMulIntegerToFloat`` with ``scale`` as its ``a_scale``, which that
    kernel reads as one number: every token would get the first token's scale.)
    """
    from onnx import helper

    def only_user(node: Any, op: str) -> Any:
        users = consumers.get(node.output[0], [])
        if len(users) != 1 or users[0].op_type != op:
            raise ValueError(
                f"{node.op_type} node {node.name!r} does not feed one {op}: not the pattern onnxruntime's dynamic "
                "quantizer writes (an activation quantized for QAttention needs a graph optimized without fused "
                "Attention)"
            )
        return users[0]

    if matmul.op_type != "MatMulInteger" or matmul.input[0] != quantized:
        raise ValueError(
            f"{matmul.op_type} node {matmul.name!r} reads a dynamically quantized activation and needs one scale "
            "per tensor: quantize a graph optimized without fused Attention"
        )
    cast = only_user(matmul, "Cast")
    output_mul = only_user(cast, "Mul")
    product_name = next(i for i in output_mul.input if i != cast.output[0])
    product = next(n for n in consumers.get(scale, []) if n.output[0] == product_name)
    weight_scale = next(i for i in product.input if i != scale)
    weights, zero_points = matmul.input[1], list(matmul.input[2:4])
    unscaled = f"{output_mul.output[0]}/unscaled"
    return {
        matmul.name: [
            helper.make_node(
                "MatMulIntegerToFloat",
                [quantized, weights, "per_token/one", weight_scale, *zero_points],
                [unscaled],
                name=f"{matmul.name}/to_float",
                domain="com.microsoft",
            )
        ],
        cast.name: [],
        product.name: [],
        output_mul.name: [
            helper.make_node("Mul", [unscaled, scale], [output_mul.output[0]], name=f"{output_mul.name}/per_token")
        ],
    }


def _ms_opset() -> Any:
    from onnx import helper

    return helper.make_opsetid("com.microsoft", 1)
