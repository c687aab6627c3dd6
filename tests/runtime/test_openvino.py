"""OpenVINO as an artifact's engine, on a real OpenVINO runtime: the manifest picks it, vectors match the reference,
threads share one Embedder, and a missing or unsuitable engine is one clear line. Lean: openvino only, no torch."""

import json
import subprocess
import sys
import threading

import numpy as np
import pytest

pytest.importorskip("openvino", reason="the OpenVINO backend needs the [openvino] extra")
pytest.importorskip("onnx", reason="the toy artifact is built with onnx (in the [test] extra)")

from edge_embed import Embedder  # noqa: E402
from edge_embed.errors import ArtifactError, InputError  # noqa: E402
from edge_embed.lineage.manifest import (  # noqa: E402
    MANIFEST_NAME,
    Backend,
    InferencePrecision,
    Manifest,
    manifest_sha256,
    read_manifest,
    verify_files,
)
from edge_embed.quantize import QuantizationConfig, quantize_artifact  # noqa: E402
from tests.helpers.toy import TEXTS, make_toy_artifact, reference_embedding  # noqa: E402


@pytest.fixture
def openvino_artifact(tmp_path, monkeypatch):
    """The toy ONNX artifact converted to OpenVINO IR by the product's own lean path (no torch, no NNCF)."""
    for name in ("torch", "transformers", "optimum", "sentence_transformers", "nncf"):
        monkeypatch.setitem(sys.modules, name, None)
    parent = make_toy_artifact(tmp_path / "toy")
    return quantize_artifact(parent, tmp_path / "ov", QuantizationConfig.for_target("openvino-fp32")).path


def test_the_manifest_picks_openvino_and_vectors_match_the_reference(openvino_artifact, tmp_path):
    manifest = read_manifest(openvino_artifact)
    assert manifest.graph.backend is Backend.OPENVINO and manifest.graph.precision == "fp32-openvino"
    assert manifest.graph.files == ("model.xml", "model.bin")
    assert manifest.parent["manifest_sha256"] == manifest_sha256(tmp_path / "toy")
    verify_files(openvino_artifact, manifest)
    embedder = Embedder(openvino_artifact)
    assert type(embedder._runner).__name__ == "OpenVinoRunner"
    expected = np.stack([reference_embedding(t) for t in TEXTS])
    np.testing.assert_allclose(embedder.embed(TEXTS, batch_size=2), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(embedder.embed(TEXTS), Embedder(tmp_path / "toy").embed(TEXTS), atol=1e-6)


def test_threads_share_one_openvino_embedder(openvino_artifact):
    embedder = Embedder(openvino_artifact, threads=1)
    texts = [" ".join(TEXTS[i % len(TEXTS)].split()[: 1 + i % 5]) for i in range(120)]
    expected = embedder.embed(texts, batch_size=7)
    results: dict[int, np.ndarray] = {}

    def work(k: int) -> None:
        results[k] = embedder.embed(texts[k::4], batch_size=3)

    workers = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    for k in range(4):
        np.testing.assert_allclose(results[k], expected[k::4], atol=1e-6)


def test_bf16_computes_close_to_f32(tmp_path):
    from edge_embed.runtime.openvino import cpu_has_bf16

    parent = make_toy_artifact(tmp_path / "toy", with_matmul=True)
    child = quantize_artifact(parent, tmp_path / "bf16", QuantizationConfig.for_target("openvino-bf16")).path
    assert read_manifest(child).graph.inference_precision is InferencePrecision.BF16
    if not cpu_has_bf16():
        with pytest.warns(UserWarning, match="lacks"):
            Embedder(child)
        return
    a, b = Embedder(parent).embed(TEXTS), Embedder(child).embed(TEXTS)
    cosine = (a * b).sum(1)
    assert cosine.min() > 0.999 and not np.array_equal(a, b)  # bf16 really ran, and stayed close


def test_old_manifests_keep_their_bytes_and_engine_fields_are_checked(openvino_artifact, tmp_path):
    toy = read_manifest(tmp_path / "toy")
    assert "backend" not in toy.to_dict()["graph"] and "inference_precision" not in toy.to_dict()["graph"]
    assert toy.graph.backend is Backend.ONNXRUNTIME
    data = json.loads((openvino_artifact / MANIFEST_NAME).read_text())
    assert data["graph"]["backend"] == "openvino"
    for change, message in (
        ({"backend": "tensorrt"}, r"graph.backend 'tensorrt' is not one of: onnxruntime, openvino"),
        ({"backend": "onnxruntime", "inference_precision": "bf16"}, "applies to the openvino backend only"),
        ({"inference_precision": "fp8"}, "graph.inference_precision 'fp8' is not one of: f32, bf16"),
    ):
        broken = json.loads(json.dumps(data))
        broken["graph"].update(change)
        with pytest.raises(ArtifactError, match=message):
            Manifest.from_dict(broken)


def test_onnxruntime_providers_are_refused_for_an_openvino_artifact(openvino_artifact):
    with pytest.raises(InputError, match="this artifact runs on openvino"):
        Embedder(openvino_artifact, providers=("CUDAExecutionProvider",))


def test_a_damaged_ir_is_refused_before_openvino_reads_it(openvino_artifact):
    xml = openvino_artifact / "model.xml"
    xml.write_bytes(xml.read_bytes().replace(b"<net", b"<nyt", 1))
    with pytest.raises(Exception, match="does not match its manifest"):
        Embedder(openvino_artifact)
    with pytest.raises(ArtifactError, match="OpenVINO cannot load"):
        Embedder(openvino_artifact, verify=False)


def test_without_openvino_installed_the_error_names_the_extra(openvino_artifact):
    code = (
        "import sys; sys.modules['openvino'] = None\n"
        "from edge_embed.cli.main import main\n"
        f"sys.exit(main(['embed', {str(openvino_artifact)!r}, 'pump']))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "pip install 'edge-embed[openvino]'" in result.stderr.strip().splitlines()[-1]


def test_power_of_two_parts_and_shape_buckets():
    from edge_embed.runtime.openvino import bucket_length, bucket_lengths, power_of_two_parts, shape_buckets

    for rows in range(1, 300):
        parts = power_of_two_parts(rows)
        assert sum(parts) == rows and parts == sorted(set(parts), reverse=True)
        assert all(p & (p - 1) == 0 for p in parts)
    # Fine steps where short texts sit, coarse ones beyond; every length lands in the smallest bucket that holds it.
    assert bucket_lengths(100) == [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112]
    lengths = bucket_lengths(256)
    for length in range(1, 257):
        assert bucket_length(length) == min(b for b in lengths if b >= length)
    buckets = shape_buckets(max_rows=32, max_length=40, max_tokens=256)
    assert {length for _, length in buckets} == {8, 16, 24, 32, 40}
    assert {(32, 8), (16, 16), (8, 32), (4, 40)} <= set(buckets) and not {(32, 16), (8, 40)} & set(buckets)
    below = {8: 0, 16: 8, 24: 16, 32: 24, 40: 32}
    assert all(rows == 1 or rows * (below[length] + 1) <= 256 for rows, length in buckets)


def test_bucketed_shapes_change_no_vector_and_warm_up_runs_each_once(openvino_artifact, tmp_path, monkeypatch):
    """Any batch size and text length gives the onnxruntime parent's vectors, though OpenVINO only ever sees
    bucketed shapes; the warm-up runs exactly the shapes later calls reach."""
    embedder, parent = Embedder(openvino_artifact), Embedder(tmp_path / "toy")
    texts = [" ".join(TEXTS[i % len(TEXTS)].split()[: 1 + i % 9]) for i in range(27)]
    np.testing.assert_allclose(embedder.embed(texts, batch_size=27), parent.embed(texts, batch_size=27), atol=1e-6)

    seen: list[tuple[int, int]] = []
    infer = type(embedder._runner._compiled.create_infer_request())
    original = infer.infer

    def counted(self, feed, **options):  # noqa: ANN001, ANN202 - the real infer, with each shape noted
        seen.append(feed["input_ids"].shape)
        return original(self, feed, **options)

    monkeypatch.setattr(infer, "infer", counted)
    assert embedder.warm_up(batch_size=8, max_batch_tokens=64) == len(seen) == len(set(seen))
    warmed, seen[:] = set(seen), []
    embedder.embed(texts, batch_size=8, max_batch_tokens=64)
    assert seen and set(seen) <= warmed


def test_a_compile_cache_is_filled_once_then_imported_with_the_same_vectors(openvino_artifact, tmp_path):
    cache = tmp_path / "ov-cache"
    first = Embedder(openvino_artifact, compile_cache=cache)
    (folder,) = cache.iterdir()  # one folder per graph, named by its files' sha256
    manifest = read_manifest(openvino_artifact)
    assert folder.name == "-".join(manifest.files[name][:16] for name in manifest.graph.files)
    (blob,) = folder.iterdir()
    assert not first._runner._compiled.get_property("LOADED_FROM_CACHE")
    second = Embedder(openvino_artifact, compile_cache=cache)
    assert second._runner._compiled.get_property("LOADED_FROM_CACHE")
    np.testing.assert_array_equal(second.embed(TEXTS), first.embed(TEXTS))
    np.testing.assert_allclose(second.embed(TEXTS), Embedder(openvino_artifact).embed(TEXTS), atol=1e-6)

    blob.write_bytes(blob.read_bytes()[:100])  # a start killed while writing it: compiled again, not trusted
    third = Embedder(openvino_artifact, compile_cache=cache)
    assert not third._runner._compiled.get_property("LOADED_FROM_CACHE")
    np.testing.assert_array_equal(third.embed(TEXTS), first.embed(TEXTS))
    Embedder(tmp_path / "toy", compile_cache=tmp_path / "unused")  # onnxruntime compiles nothing: no folder made
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ov", "ov-cache", "toy"]  # nothing written elsewhere
    assert [p.name for p in folder.iterdir()] == [blob.name]


def test_a_compile_cache_that_cannot_be_a_folder_is_one_line(openvino_artifact, tmp_path, capsys):
    from edge_embed.cli.main import main

    taken = tmp_path / "taken"
    taken.write_text("a file")
    with pytest.raises(InputError, match=f"cannot use {taken} as a compile cache"):
        Embedder(openvino_artifact, compile_cache=taken)
    assert main(["serve", str(openvino_artifact), "--port", "9", "--compile-cache", str(taken)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "as a compile cache" in err
