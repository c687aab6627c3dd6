"""Quantization needs onnx and onnxruntime only: it runs where torch is not installed (``make test-lean``)."""

import sys

import numpy as np
import pytest

pytest.importorskip("onnx", reason="quantization needs onnx (in the [test] extra)")

from edge_embed import Embedder  # noqa: E402
from edge_embed.lineage.manifest import manifest_sha256, read_manifest, verify_files  # noqa: E402
from edge_embed.quantize import QuantizationConfig, quantize_artifact  # noqa: E402
from tests.helpers.toy import make_toy_artifact  # noqa: E402

TEXTS = ["the pump is a pump", "seal leak", "plc alarm of the motor valve", "grease " * 30]


@pytest.mark.parametrize("optimize", ["O2", "none"])
def test_dynamic_int8_without_the_build_side(tmp_path, monkeypatch, optimize):
    monkeypatch.setenv("EDGE_EMBED_CACHE", str(tmp_path / "cache"))
    # The build side must not be needed: make torch and the exporter unimportable for this test.
    for name in ("torch", "transformers", "optimum", "sentence_transformers"):
        monkeypatch.setitem(sys.modules, name, None)
    parent = make_toy_artifact(tmp_path / "toy", with_matmul=True)
    config = QuantizationConfig.for_target("dynamic-int8", optimize=optimize)
    child = quantize_artifact(parent, tmp_path / "int8", config).path
    manifest = read_manifest(child)
    assert manifest.graph.precision.startswith("int8") and manifest.parent["manifest_sha256"] == manifest_sha256(parent)
    verify_files(child, manifest)
    import onnx

    ops = {n.op_type for n in onnx.load(str(child / "model.onnx")).graph.node}
    assert ops & {"DynamicQuantizeMatMul", "MatMulInteger", "DynamicQuantizeLinear"}, ops
    a, b = Embedder(parent).embed(TEXTS), Embedder(child).embed(TEXTS)
    assert (a * b).sum(1).min() > 0.99 and not np.array_equal(a, b)


def test_fusion_without_sympy_says_what_to_install(tmp_path, monkeypatch):
    from edge_embed.errors import MissingExtraError

    monkeypatch.setenv("EDGE_EMBED_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(sys.modules, "sympy", None)  # as in a venv without it
    parent = make_toy_artifact(tmp_path / "toy", with_matmul=True)
    with pytest.raises(MissingExtraError, match=r"needs sympy: pip install 'edge-embed\[quantize\]'"):
        quantize_artifact(parent, tmp_path / "int8", QuantizationConfig.for_target("dynamic-int8", optimize="O2"))
    assert not (tmp_path / "int8").exists() and not list(tmp_path.glob(".int8*"))  # nothing half-written left
