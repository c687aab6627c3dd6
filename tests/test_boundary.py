"""The device boundary: importing and using the runtime never loads a build-side library."""

import json
import subprocess
import sys

import pytest

FORBIDDEN = ("torch", "transformers", "optimum", "sentence_transformers", "onnx", "datasets")

PROBE = """
import json, sys
import edge_embed
from edge_embed import Embedder
from edge_embed.cli.main import main
embedder = Embedder.load(sys.argv[1])
vectors = embedder.embed(["pump seal leak", "the bearing"], kind="query")
assert vectors.shape[0] == 2
# The rest of the runtime API: streaming, per-call options, output precision, token counts, the ST-shaped encode.
assert sum(len(c) for c in embedder.embed_iter((t for t in ["a", "b", "c"]), chunk_size=2, dim=4)) == 3
assert embedder.embed_query("pump").ndim == 1 and embedder.encode(["pump"], precision="ubinary").dtype.name == "uint8"
assert embedder.embed(["pump", "seal"], precision="int8").dtype.name == "int8" and embedder.token_count("pump") > 0
import edge_embed.runtime.steps, edge_embed.runtime.precision, edge_embed.runtime.static, edge_embed.tables
import edge_embed.data.probes
import edge_embed.graph_io, edge_embed.integrations.langchain, edge_embed.records, edge_embed.prompts
import tempfile
from edge_embed.index import Document, VectorIndex  # local search: build, reopen, search
with tempfile.TemporaryDirectory() as tmp:
    built = VectorIndex.build(embedder, [Document("a", "pump seal leak"), Document("b", "bearing")], tmp + "/i", "binary")
    assert VectorIndex.open(tmp + "/i").search(embedder, ["pump"], k=1)[0][0].id in ("a", "b")
from importlib.util import find_spec
if find_spec("starlette") is not None:  # the service ([serve] extra): its app over the loaded embedder
    from edge_embed.serve import create_app
    create_app(embedder)
if find_spec("chromadb") is not None:  # the vector-store adapters, where their libraries are installed
    import edge_embed.integrations.chroma
if find_spec("llama_index") is not None:
    import edge_embed.integrations.llamaindex
assert main(["info", sys.argv[1]]) == 0
# The other device-side modules: benchmark, lineage, registry, bundles, pipeline config validation.
import edge_embed.bench, edge_embed.lineage.chain, edge_embed.registry, edge_embed.deploy, edge_embed.pipeline.config
import edge_embed.train, edge_embed.train.corpus_pairs, edge_embed.train.pseudo_labels, edge_embed.quantize
assert main(["lineage", sys.argv[1]]) == 0
# Trust on the device: full verification, crash-debris cleanup, and (with [sign]) a signed copy loaded with trust.
import edge_embed.lineage.verify, edge_embed.lineage.debris, edge_embed.lineage.signing, shutil
import edge_embed.lifecycle.drift, edge_embed.lifecycle.profile, edge_embed.lifecycle.calibrate  # on the device
import edge_embed.lifecycle.feedback, edge_embed.lifecycle.health, edge_embed.lifecycle.refresh, edge_embed.pipeline.refresh
import edge_embed.scale, edge_embed.scale.engines  # corpus embedding: the worker code every engine runs
assert embedder.score(["pump"], ["seal", "bearing"]).shape == (1, 2)
assert main(["info", sys.argv[1], "--verify"]) == 0 and main(["gc", tempfile.mkdtemp(), "--dry-run"]) == 0
if find_spec("cryptography") is not None:
    from edge_embed.lineage.signing import generate_keypair, sign_artifact
    with tempfile.TemporaryDirectory() as tmp:
        copy = shutil.copytree(sys.argv[1], tmp + "/art")
        private, public, _ = generate_keypair(tmp + "/key")
        sign_artifact(copy, private)
        assert Embedder.load(copy, trust=[public]).embed(["pump"]).shape[0] == 1
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.argv[2])))
print(json.dumps(heavy))
"""


def _loaded_heavy_modules(artifact) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(artifact), json.dumps(FORBIDDEN)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_runtime_imports_no_build_library(toy_artifact):
    assert _loaded_heavy_modules(toy_artifact) == []


@pytest.mark.build
def test_runtime_on_real_export_imports_no_build_library(minilm_artifact):
    assert _loaded_heavy_modules(minilm_artifact) == []


def test_probe_detects_a_heavy_import(toy_artifact):
    # The check itself must be able to fail: importing one of the libraries shows up.
    probe = "import json, sys, onnx; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & {'onnx'})))"
    pytest.importorskip("onnx")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == ["onnx"]


def test_an_openvino_artifact_runs_on_the_lean_side(toy_artifact, tmp_path):
    """pip install 'edge-embed[openvino]': an OpenVINO artifact loads, embeds, serves and indexes without torch."""
    pytest.importorskip("openvino", reason="the OpenVINO backend needs the [openvino] extra")
    from edge_embed.lineage.manifest import Backend, read_manifest
    from edge_embed.quantize import QuantizationConfig, quantize_artifact

    artifact = quantize_artifact(toy_artifact, tmp_path / "ov", QuantizationConfig.for_target("openvino-fp32")).path
    assert read_manifest(artifact).graph.backend is Backend.OPENVINO
    assert _loaded_heavy_modules(artifact) == []


def test_a_static_artifact_runs_on_the_lean_side(tmp_path):
    """The static tier (edge-embed distill) loads, embeds, serves and indexes with numpy and tokenizers alone."""
    from tests.helpers.toy import make_toy_static_artifact

    assert _loaded_heavy_modules(make_toy_static_artifact(tmp_path / "static")) == []
