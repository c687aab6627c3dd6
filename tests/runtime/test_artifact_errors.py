"""Bad artifacts fail at load with a clear error and change nothing on disk."""

import json

import pytest

from edge_embed import Embedder
from edge_embed.errors import ArtifactError, IntegrityError, ManifestVersionError
from edge_embed.lineage.hashing import sha256_tree


def _snapshot(folder):
    return sha256_tree(folder)


def test_missing_model_file(toy_artifact):
    (toy_artifact / "model.onnx").unlink()
    before = _snapshot(toy_artifact)
    with pytest.raises(ArtifactError, match="model.onnx is missing"):
        Embedder.load(toy_artifact)
    assert _snapshot(toy_artifact) == before


def test_corrupt_model_file_is_caught_by_sha256(toy_artifact):
    model = toy_artifact / "model.onnx"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="model.onnx does not match its manifest"):
        Embedder.load(toy_artifact)


def test_garbage_model_file_without_verification_is_an_artifact_error(toy_artifact):
    (toy_artifact / "model.onnx").write_bytes(b"not a graph at all")
    with pytest.raises(ArtifactError, match="onnxruntime cannot load"):
        Embedder.load(toy_artifact, verify=False)


def test_altered_tokenizer_fails_sha256(toy_artifact):
    path = toy_artifact / "tokenizer.json"
    path.write_text(path.read_text().replace('"pump"', '"pumps"'))
    with pytest.raises(IntegrityError, match="tokenizer.json"):
        Embedder.load(toy_artifact)


def test_unknown_manifest_version(toy_artifact):
    path = toy_artifact / "edge_embed.json"
    data = json.loads(path.read_text())
    data["format_version"] = 99
    path.write_text(json.dumps(data))
    with pytest.raises(ManifestVersionError, match="format version 99 is not supported"):
        Embedder.load(toy_artifact)


def test_missing_and_invalid_manifest(toy_artifact, tmp_path):
    with pytest.raises(ArtifactError, match="no such directory"):
        Embedder.load(tmp_path / "nope")
    (toy_artifact / "edge_embed.json").write_text("{ not json")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        Embedder.load(toy_artifact)
    (toy_artifact / "edge_embed.json").unlink()
    with pytest.raises(ArtifactError, match="no edge_embed.json"):
        Embedder.load(toy_artifact)


def test_manifest_naming_an_output_the_graph_lacks(toy_artifact):
    from dataclasses import replace

    from edge_embed.lineage.manifest import read_manifest, write_manifest

    manifest = read_manifest(toy_artifact)  # a writer's mistake, not a hand edit: the manifest is sealed
    write_manifest(toy_artifact, manifest.replace(graph=replace(manifest.graph, output_name="sentence_embedding")))
    with pytest.raises(ArtifactError, match="has no output 'sentence_embedding'"):
        Embedder.load(toy_artifact)


def test_manifest_with_missing_field(toy_artifact):
    path = toy_artifact / "edge_embed.json"
    data = json.loads(path.read_text())
    del data["pooling"]
    path.write_text(json.dumps(data))
    with pytest.raises(ArtifactError, match="manifest is invalid"):
        Embedder.load(toy_artifact)


def test_garbage_model_file_with_verification_names_the_sha256_mismatch(toy_artifact):
    # The sha256 check comes first: onnxruntime's load error must not hide the integrity failure.
    (toy_artifact / "model.onnx").write_bytes(b"not a graph at all")
    with pytest.raises(IntegrityError, match="model.onnx does not match its manifest"):
        Embedder.load(toy_artifact)


def test_unreadable_tokenizer_with_verification_names_the_sha256_mismatch(toy_artifact):
    (toy_artifact / "tokenizer.json").write_text("{ truncated")
    with pytest.raises(IntegrityError, match="tokenizer.json does not match its manifest"):
        Embedder.load(toy_artifact)
