"""When the asked-for recipe fails its gate, the next candidates are tried before giving up, and the manifest
says what was tried. The chain's order is checked lean; the fallback itself on the real MiniLM (build)."""

import importlib.util

import pytest

pytest.importorskip("onnx", reason="quantization needs onnx (in the [test] extra)")

from edge_embed.data import load_beir  # noqa: E402
from edge_embed.data.texts import read_domain_texts  # noqa: E402
from edge_embed.lineage.manifest import read_manifest  # noqa: E402
from edge_embed.quantize import QuantizationConfig  # noqa: E402
from edge_embed.quantize.fallback import FALLBACK_CALIBRATION, fallback_chain, quantize_with_fallback  # noqa: E402


def test_the_chain_runs_from_the_asked_recipe_to_mixed_precision_without_repeats():
    chain = fallback_chain(QuantizationConfig.for_target("int4-weights"))
    assert [(c.config.method.value, c.auto) for c in chain] == [
        ("int4-weights", False),
        ("openvino-int8", False),
        ("static-int8", False),
        ("dynamic-int8", True),
    ]
    assert chain[2].config.calibration_size == FALLBACK_CALIBRATION
    # The default recipe first; asking for --auto already makes the last fallback a repeat.
    default = fallback_chain(QuantizationConfig.for_target("dynamic-int8"), auto=True)
    assert [(c.config.method.value, c.auto) for c in default] == [
        ("dynamic-int8", True),
        ("openvino-int8", False),
        ("static-int8", False),
    ]


@pytest.mark.slow
@pytest.mark.build
def test_a_failed_recipe_falls_back_to_one_that_passes_and_the_manifest_says_so(
    minilm_artifact, medquad_mini, tmp_path, monkeypatch
):
    monkeypatch.setenv("EDGE_EMBED_CACHE", str(tmp_path / "cache"))
    dataset = load_beir(medquad_mini, "test").sample(12, 60)
    failing = QuantizationConfig.for_target("int4-weights", block_size=256)  # refused at max_drop 0 (test_quantize)

    def read_calibration(size):
        return read_domain_texts(medquad_mini, min(size, 32), split="train")

    result = quantize_with_fallback(
        minilm_artifact, tmp_path / "int8", failing, dataset, read_calibration, max_drop=0.0
    )
    tried = read_manifest(result.path).checks["candidates"]
    assert tried[0]["method"] == "int4-weights" and not tried[0]["passed"] and tried[0]["verdict"] != "within"
    assert tried[-1]["passed"] and result.gate.passed and [c.to_dict() for c in result.candidates] == tried
    expected = "openvino-int8" if importlib.util.find_spec("nncf") and importlib.util.find_spec("openvino") else None
    if expected:
        assert tried[-1]["method"] == expected and result.manifest.graph.precision.startswith("int8-openvino")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "int8"]  # failed candidates left nothing
