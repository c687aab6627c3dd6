"""Quantization: graph structure, lineage, accuracy against the parent, the gate, and refusals."""

from collections import Counter

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="quantization needs the [build] extra")
pytest.importorskip("onnxruntime.quantization")

from edge_embed import Embedder  # noqa: E402
from edge_embed.data import load_beir  # noqa: E402
from edge_embed.data.texts import read_domain_texts  # noqa: E402
from edge_embed.errors import InputError  # noqa: E402
from edge_embed.lineage.manifest import manifest_sha256, read_manifest, verify_files  # noqa: E402
from edge_embed.quantize import GateError, QuantizationConfig, quantize_artifact  # noqa: E402
from edge_embed.runtime.precision import quantize  # noqa: E402

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


def op_counts(folder):
    return Counter(n.op_type for n in onnx.load(str(folder / "model.onnx")).graph.node)


def cosines(parent, child, texts=PROBES):
    a, b = Embedder.load(parent).embed(texts), Embedder.load(child).embed(texts)
    return (a * b).sum(axis=1)


@pytest.fixture(scope="module")
def dynamic_child(minilm_artifact, tmp_path_factory):
    return quantize_artifact(
        minilm_artifact,
        tmp_path_factory.mktemp("q") / "int8",
        QuantizationConfig.for_target("dynamic-int8", optimize="none"),
    )


def test_dynamic_int8_structure_lineage_and_size(dynamic_child, minilm_artifact):
    child = dynamic_child.path
    manifest = read_manifest(child)
    verify_files(child, manifest)
    assert manifest.graph.precision == "int8-dynamic"
    assert manifest.parent["manifest_sha256"] == manifest_sha256(minilm_artifact)
    assert manifest.source == read_manifest(minilm_artifact).source  # lineage to the checkpoint is kept
    recipe = manifest.options["quantization"]
    assert (
        QuantizationConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in recipe.items()}).to_dict() == recipe
    )
    ops = op_counts(child)
    assert ops["MatMulIntegerToFloat"] >= 36 and ops["QuantizeLinear"] >= 12  # per-token int8 of every projection
    size = lambda f: sum((f / n).stat().st_size for n in ("model.onnx", "model.onnx_data"))  # noqa: E731
    assert size(child) <= 0.30 * size(minilm_artifact)
    assert cosines(minilm_artifact, child).min() > 0.98


def test_quantizing_a_quantized_artifact_needs_force(dynamic_child, tmp_path):
    with pytest.raises(InputError, match="already quantized .*pass --force"):
        quantize_artifact(dynamic_child.path, tmp_path / "again", QuantizationConfig.for_target("dynamic-int8"))
    assert not (tmp_path / "again").exists()


def test_default_int8_fuses_the_graph_first(minilm_artifact, tmp_path):
    result = quantize_artifact(minilm_artifact, tmp_path / "o2", QuantizationConfig.for_target("dynamic-int8"))
    ops = op_counts(result.path)
    # Per-token activations (the default) need the Q/K/V projections outside the attention op.
    assert ops["MultiHeadAttention"] == 6 and ops["QAttention"] == 0 and ops["SkipLayerNormalization"] >= 6
    assert ops["MatMulIntegerToFloat"] == 36 and ops["DynamicQuantizeLinear"] == 0
    assert result.manifest.graph.precision == "int8-dynamic-O2"
    assert result.manifest.options["quantization"]["activations"] == "per-token"
    assert result.manifest.options["quantization"]["optimize"] == "O2"  # "auto" is resolved before it is recorded
    assert cosines(minilm_artifact, result.path).min() > 0.98


def test_static_int8_with_domain_calibration(minilm_artifact, medquad_mini, tmp_path):
    calibration = read_domain_texts(medquad_mini, 16, split="train")
    result = quantize_artifact(
        minilm_artifact,
        tmp_path / "static",
        QuantizationConfig.for_target("static-int8", calibration_size=16),
        calibration=calibration,
    )
    ops = op_counts(result.path)
    assert ops["QuantizeLinear"] > 0 and ops["DequantizeLinear"] > ops["QuantizeLinear"]
    assert result.manifest.options["quantization"]["optimize"] == "none"
    assert result.manifest.options["calibration"]["texts"] == 16
    assert cosines(minilm_artifact, result.path).min() > 0.97


def test_fp16_keeps_float32_io(minilm_artifact, tmp_path):
    result = quantize_artifact(minilm_artifact, tmp_path / "fp16", QuantizationConfig.for_target("fp16"))
    model = onnx.load(str(result.path / "model.onnx"))
    assert model.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in model.graph.initializer)
    assert cosines(minilm_artifact, result.path).min() > 0.999


def test_int4_weights_use_matmulnbits(minilm_artifact, tmp_path):
    result = quantize_artifact(
        minilm_artifact, tmp_path / "int4", QuantizationConfig.for_target("int4-weights", block_size=32)
    )
    assert op_counts(result.path)["MatMulNBits"] == 36
    assert result.manifest.options["quantization"]["optimize"] == "none"
    assert cosines(minilm_artifact, result.path).min() > 0.9


def test_static_without_calibration_and_empty_calibration(minilm_artifact, tmp_path):
    with pytest.raises(InputError, match="static-int8 needs calibration texts"):
        quantize_artifact(minilm_artifact, tmp_path / "s", QuantizationConfig.for_target("static-int8"))
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n")
    with pytest.raises(InputError, match="no usable text"):
        read_domain_texts(empty, 10)


def test_calibration_file_with_unreadable_lines_is_counted(tmp_path):
    path = tmp_path / "cal.jsonl"
    path.write_bytes(b'{"text": "pump seal"}\n{"text": \n\xff\xfe\n{"other": 1}\n{"text": "grease"}\n')
    sample = read_domain_texts(path, 10)
    assert sorted(sample.texts) == ["grease", "pump seal"] and sample.skipped_lines == (2, 3, 4)


def test_target_this_cpu_cannot_run_warns_and_is_recorded(minilm_artifact, tmp_path):
    config = QuantizationConfig.for_target("dynamic-int8", "arm64")
    assert not config.target_supported
    with pytest.warns(UserWarning, match="ARM64"):
        result = quantize_artifact(minilm_artifact, tmp_path / "arm", config)
    recipe = result.manifest.options["quantization"]
    assert recipe["target"] == "arm64" and recipe["target_supported"] is False


def test_unknown_method_is_named():
    with pytest.raises(InputError, match="unknown method 'int9'; allowed: dynamic-int8"):
        QuantizationConfig.for_target("int9")


@pytest.mark.slow
def test_gate_records_both_metrics_and_refuses_a_damaging_quantization(minilm_artifact, medquad_mini, tmp_path):
    dataset = load_beir(medquad_mini, "test").sample(12, 60)
    passed = quantize_artifact(
        minilm_artifact,
        tmp_path / "ok",
        QuantizationConfig.for_target("dynamic-int8"),
        eval_dataset=dataset,
        max_drop=0.05,
    )
    gate = passed.manifest.checks["gate"]
    assert set(gate["parent"]) >= {"ndcg@10", "mrr@10", "recall@1", "recall@10", "recall@100"}
    # What was recorded is consistent with a pass: the child's NDCG@10 within 5% of the parent's.
    assert gate["passed"] and gate["max_drop"] == 0.05
    assert gate["child"]["ndcg@10"] >= gate["parent"]["ndcg@10"] * (1 - 0.05)
    assert gate["dataset"]["sampled"]["queries"] == 12
    # The child records int8 output ranges of its own vectors on the gate's passages, and the runtime uses them.
    recorded = passed.manifest.checks["embedding_ranges"]
    assert recorded["texts"] == min(512, len(dataset.corpus)) and len(recorded["min"]) == 384
    child = Embedder(passed.path)
    alone = child.embed(["pump seal leak"], precision="int8")  # one text: coded on the recorded ranges, not its own
    np.testing.assert_array_equal(alone, quantize(child.embed(["pump seal leak"]), "int8", child.calibration_ranges))
    with pytest.raises(GateError, match=r"accuracy gate failed: ndcg@10 0\.\d+ vs parent 0\.\d+"):
        quantize_artifact(
            minilm_artifact,
            tmp_path / "bad",
            QuantizationConfig.for_target("int4-weights", block_size=256),
            eval_dataset=dataset,
            max_drop=0.0,
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "ok"]


@pytest.mark.slow
def test_auto_keeps_sensitive_nodes_in_fp32_until_the_gate_passes(minilm_artifact, medquad_mini, tmp_path):
    dataset = load_beir(medquad_mini, "test").sample(12, 60)
    config = QuantizationConfig.for_target("int4-weights", block_size=256)
    result = quantize_artifact(
        minilm_artifact, tmp_path / "auto", config, eval_dataset=dataset, max_drop=0.0, auto=True
    )
    report = result.manifest.checks["auto"]
    kept = report["kept_fp32"]
    assert result.gate.passed and kept
    assert tuple(sorted(kept)) == tuple(sorted(result.manifest.options["quantization"]["nodes_to_exclude"]))
    assert op_counts(result.path)["MatMulNBits"] == 36 - len(kept)
    assert result.manifest.graph.precision == "int4-weights-mixed"
    # The ranking is by measured damage, most damaging first, and every step is recorded.
    damages = list(report["sensitivity_top"].values())
    assert damages == sorted(damages, reverse=True) and report["steps"][-1]["passed"]
