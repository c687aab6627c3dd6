"""Per-token int8: the rewrite computes what it says (numpy reference), and a text's vector ignores its batch."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="quantization needs the [build] extra")
pytest.importorskip("onnxruntime.quantization")

import onnxruntime as ort  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnxruntime.quantization import QuantType, quantize_dynamic  # noqa: E402

from edge_embed import Embedder  # noqa: E402
from edge_embed.errors import ArtifactError  # noqa: E402
from edge_embed.lineage.manifest import Manifest, read_manifest  # noqa: E402
from edge_embed.quantize import QuantizationConfig, quantize_artifact  # noqa: E402
from edge_embed.quantize.per_token import per_token_activations  # noqa: E402

pytestmark = pytest.mark.build

HIDDEN, OUT = 48, 24


def _linear_graph(path, weights, bias):
    """x [batch, tokens, HIDDEN] -> x @ W + b: the shape of every projection in an encoder."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "tokens", HIDDEN])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "tokens", OUT])
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "W"], ["h"], name="proj"),
            helper.make_node("Add", ["h", "b"], ["y"], name="bias"),
        ],
        "linear",
        [x],
        [y],
        [numpy_helper.from_array(weights, "W"), numpy_helper.from_array(bias, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save_model(model, str(path))


@pytest.fixture(scope="module")
def quantized_linear(tmp_path_factory):
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(HIDDEN, OUT)).astype(np.float32)
    bias = rng.normal(size=OUT).astype(np.float32)
    folder = tmp_path_factory.mktemp("linear")
    _linear_graph(folder / "fp32.onnx", weights, bias)
    quantize_dynamic(
        str(folder / "fp32.onnx"), str(folder / "tensor.onnx"), per_channel=True, weight_type=QuantType.QInt8
    )
    model = onnx.load(str(folder / "tensor.onnx"))
    assert per_token_activations(model) == 1
    onnx.save_model(model, str(folder / "token.onnx"))
    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    quantized_weights = next(v for k, v in init.items() if v.dtype == np.int8 and v.shape == (HIDDEN, OUT))
    weight_scale = next(v for k, v in init.items() if k.startswith("W") and "scale" in k)
    return folder, quantized_weights.astype(np.int32), weight_scale, bias


def _run(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])  # all graph optimizations on
    return session.run(None, {"x": x})[0]


def _reference(x, quantized_weights, weight_scale, bias):
    """Symmetric per-token int8: scale = max|row| / 127, q = round-half-even(row / scale)."""
    scale = np.maximum(np.abs(x).max(axis=-1, keepdims=True) / np.float32(127), np.finfo(np.float32).tiny)
    q = np.clip(np.rint(x / scale), -128, 127).astype(np.int32)
    return (q @ quantized_weights).astype(np.float32) * weight_scale * scale + bias


def test_per_token_graph_matches_the_numpy_reference(quantized_linear):
    folder, quantized_weights, weight_scale, bias = quantized_linear
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 5, HIDDEN)).astype(np.float32) * np.array([0.01, 1, 30], np.float32)[:, None, None]
    x[1, 2] = 0.0  # an all-zero token (padding after some layers) must not divide by zero
    got = _run(folder / "token.onnx", x)
    want = _reference(x, quantized_weights, weight_scale, bias)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got[1, 2], bias, atol=1e-6)


def test_a_tokens_output_ignores_the_rest_of_the_batch(quantized_linear):
    folder, *_ = quantized_linear
    rng = np.random.default_rng(2)
    quiet = rng.normal(size=(1, 4, HIDDEN)).astype(np.float32)
    loud = rng.normal(size=(1, 4, HIDDEN)).astype(np.float32) * 50  # a batch-mate with large activations
    batch = np.concatenate([quiet, loud])
    token = _run(folder / "token.onnx", batch)[0]
    np.testing.assert_array_equal(token, _run(folder / "token.onnx", quiet)[0])
    # onnxruntime's per-tensor scale lets the loud batch-mate coarsen the quiet text's rounding.
    tensor = _run(folder / "tensor.onnx", batch)[0]
    assert np.abs(tensor - _run(folder / "tensor.onnx", quiet)[0]).max() > 1e-3


def test_the_rewrite_refuses_a_fused_attention_graph():
    """QAttention takes one input scale per batch: the rewrite must say so, not quantize it wrongly."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4])
    nodes = [
        helper.make_node("DynamicQuantizeLinear", ["x"], ["q", "s", "z"], name="dql"),
        helper.make_node(
            "QAttention", ["q", "w", "bias", "s", "ws", "", "z"], ["y"], name="qatt", domain="com.microsoft"
        ),
    ]
    graph = helper.make_graph(nodes, "g", [x], [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    with pytest.raises(ValueError, match="QAttention node 'qatt'.*without fused Attention"):
        per_token_activations(helper.make_model(graph))


MIXED = [
    "What are the symptoms of glaucoma?",
    "",
    "a",
    "P-3104A brg o/heat - R&R per PTW",
    "Wie wird die Pumpe entlüftet? 泵怎么排气？",
    "How is hereditary hemochromatosis inherited? It is autosomal recessive. " * 20,
    "Replace the mechanical seal if the pump leaks more than 20 drops per minute.",
    "PLC alarm E-4711: encoder signal lost on axis 2. Check the cable shield and the connector X12 for damage. " * 5,
    "glaucoma",
    "The the the the the",
]


def _alone_vs_batched(embedder):
    alone = np.vstack([embedder.embed([t]) for t in MIXED])
    worst = 1.0
    for seed, size in ((0, 3), (1, 7), (2, len(MIXED))):
        order = np.random.default_rng(seed).permutation(len(MIXED))
        batched = np.empty_like(alone)
        for start in range(0, len(MIXED), size):
            rows = order[start : start + size]
            batched[rows] = embedder.embed([MIXED[i] for i in rows], batch_size=size)
        worst = min(worst, float((alone * batched).sum(axis=1).min()))
    return worst


def test_default_int8_vectors_do_not_depend_on_batch_mates(minilm_artifact, tmp_path):
    default = quantize_artifact(minilm_artifact, tmp_path / "token", QuantizationConfig.for_target("dynamic-int8"))
    tensor = quantize_artifact(
        minilm_artifact, tmp_path / "tensor", QuantizationConfig.for_target("dynamic-int8", activations="per-tensor")
    )
    assert default.manifest.options["quantization"]["activations"] == "per-token"
    assert tensor.manifest.graph.precision == "int8-dynamic-per-tensor-O2"
    assert (default.manifest.graph.batch_invariant, tensor.manifest.graph.batch_invariant) == (True, False)
    assert read_manifest(minilm_artifact).graph.batch_invariant is None  # an export records nothing: fp32 is
    assert read_manifest(minilm_artifact).graph.vectors_batch_invariant
    older = tensor.manifest.to_dict()  # a per-tensor manifest written before the field: the label answers
    del older["graph"]["batch_invariant"]
    assert not Manifest.from_dict(older).graph.vectors_batch_invariant
    assert "batch_invariant" not in Manifest.from_dict(older).to_dict()["graph"]  # its bytes (and seal) stay
    older["graph"]["batch_invariant"] = "no"
    with pytest.raises(ArtifactError, match="graph.batch_invariant must be bool"):
        Manifest.from_dict(older)
    assert _alone_vs_batched(Embedder.load(minilm_artifact)) > 0.99999
    assert _alone_vs_batched(Embedder.load(default.path)) >= 0.9995
    assert _alone_vs_batched(Embedder.load(tensor.path)) < 0.9995  # the effect the default removes is real
    parent, child = Embedder.load(minilm_artifact).embed(MIXED), Embedder.load(default.path).embed(MIXED)
    assert (parent * child).sum(axis=1).min() > 0.98
