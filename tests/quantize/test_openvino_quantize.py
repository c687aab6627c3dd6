"""NNCF int8 OpenVINO artifacts from the real MiniLM export: quantized layers in the IR, lineage, closeness to the
parent, batch invariance (fixed calibrated scales), the gate, NNCF's accuracy control, and refusals."""

import numpy as np
import pytest

pytest.importorskip("openvino", reason="OpenVINO artifacts need the [openvino] extra")
pytest.importorskip("nncf", reason="int8 OpenVINO artifacts are made with NNCF (the [build] extra)")

from edge_embed import Embedder  # noqa: E402
from edge_embed.data import load_beir  # noqa: E402
from edge_embed.data.texts import read_domain_texts  # noqa: E402
from edge_embed.errors import InputError  # noqa: E402
from edge_embed.lineage.manifest import Backend, manifest_sha256, read_manifest, verify_files  # noqa: E402
from edge_embed.quantize import QuantizationConfig, quantize_artifact  # noqa: E402
from edge_embed.quantize.openvino import quantized_node_names  # noqa: E402

pytestmark = pytest.mark.build

PROBES = [
    "What are the symptoms of glaucoma?",
    "Replace the mechanical seal if the pump leaks more than 20 drops per minute.",
    "PLC alarm E-4711: encoder signal lost on axis 2.",
    "How is hereditary hemochromatosis inherited? It is autosomal recessive. " * 20,
]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGE_EMBED_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def openvino_int8(minilm_artifact, medquad_mini, tmp_path_factory):
    calibration = read_domain_texts(medquad_mini, 32, split="train")
    return quantize_artifact(
        minilm_artifact,
        tmp_path_factory.mktemp("ov") / "int8",
        QuantizationConfig.for_target("openvino-int8", calibration_size=32),
        calibration=calibration,
    )


def test_openvino_int8_quantizes_every_projection_and_keeps_lineage(openvino_int8, minilm_artifact):
    child = openvino_int8.path
    manifest = read_manifest(child)
    verify_files(child, manifest)
    assert manifest.graph.backend is Backend.OPENVINO and manifest.graph.precision == "int8-openvino-mixed"
    assert manifest.parent["manifest_sha256"] == manifest_sha256(minilm_artifact)
    assert manifest.options["quantization"]["nncf_preset"] == "mixed"
    assert manifest.options["calibration"]["texts"] == 32
    # 6 layers x (Q, K, V, attention output, FFN in, FFN out) weight MatMuls, all fed by FakeQuantize.
    weight_matmuls = [n for n in quantized_node_names(child / "model.xml") if "MatMul" in n]
    assert len(weight_matmuls) >= 36, weight_matmuls
    assert (
        sum(f.stat().st_size for f in child.glob("model.*"))
        < 0.3 * (minilm_artifact / "model.onnx_data").stat().st_size
    )
    a, b = Embedder(minilm_artifact).embed(PROBES), Embedder(child).embed(PROBES)
    assert (a * b).sum(1).min() > 0.98 and not np.array_equal(a, b)


def test_openvino_int8_is_batch_invariant(openvino_int8):
    """Calibrated scales are fixed: a text's vector does not depend on the texts batched with it."""
    embedder = Embedder(openvino_int8.path)
    alone = np.concatenate([embedder.embed([t]) for t in PROBES])
    together = embedder.embed(PROBES, batch_size=4, max_batch_tokens=None)
    assert (alone * together).sum(1).min() > 0.99999


@pytest.mark.slow
def test_the_gate_scores_an_openvino_child_and_accuracy_control_keeps_it_within_the_drop(
    minilm_artifact, medquad_mini, tmp_path
):
    dataset = load_beir(medquad_mini, "test").sample(12, 60)
    calibration = read_domain_texts(medquad_mini, 16, split="train")
    config = QuantizationConfig.for_target("openvino-int8", calibration_size=16, nncf_preset="performance")
    result = quantize_artifact(
        minilm_artifact, tmp_path / "ac", config, calibration=calibration, eval_dataset=dataset, max_drop=0.0, auto=True
    )
    control = result.manifest.checks["auto"]["accuracy_control"]
    assert control["evaluations"] >= 2 and control["max_drop"] == 0.0  # the fp32 reference, then candidates
    gate = result.manifest.checks["gate"]
    assert gate["passed"] and gate["child"]["ndcg@10"] >= gate["parent"]["ndcg@10"]
    assert result.manifest.graph.precision == "int8-openvino-performance"


def test_refusals_come_before_any_work(minilm_artifact, openvino_int8, medquad_mini, tmp_path):
    with pytest.raises(InputError, match="openvino-int8 needs calibration texts"):
        quantize_artifact(minilm_artifact, tmp_path / "x", QuantizationConfig.for_target("openvino-int8"))
    with pytest.raises(InputError, match="--auto supports dynamic-int8, int4-weights and openvino-int8"):
        quantize_artifact(
            minilm_artifact,
            tmp_path / "x",
            QuantizationConfig.for_target("openvino-bf16"),
            eval_dataset=load_beir(medquad_mini, "test").sample(4, 8),
            auto=True,
        )
    with pytest.raises(InputError, match="made from an ONNX"):
        quantize_artifact(
            openvino_int8.path, tmp_path / "x", QuantizationConfig.for_target("openvino-fp32"), force=True
        )
    assert not (tmp_path / "x").exists()
