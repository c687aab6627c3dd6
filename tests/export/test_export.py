"""Export through Optimum: artifact contents, parity with sentence-transformers, checkpoint kinds, refusals."""

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("torch", reason="export tests need the [build] extra")
pytest.importorskip("optimum.exporters.onnx", reason="export tests need the [build] extra")

from edge_embed import Embedder  # noqa: E402
from edge_embed.errors import CheckpointError, ParityError  # noqa: E402
from edge_embed.export import export_artifact, resolve_source  # noqa: E402
from edge_embed.lineage.hashing import sha256_file  # noqa: E402
from edge_embed.lineage.manifest import MANIFEST_NAME, read_manifest, verify_files  # noqa: E402

pytestmark = pytest.mark.build
HF_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
    "special_tokens_map.json",
)


def _load_beir_texts(folder, limit):
    passages = [json.loads(line) for line in (folder / "corpus.jsonl").read_text().splitlines()][:limit]
    queries = [json.loads(line)["text"] for line in (folder / "queries.jsonl").read_text().splitlines()][:limit]
    return [f"{p['title']}. {p['text']}" if p["title"] else p["text"] for p in passages], queries


def _hf_checkpoint(base_model_path, folder):
    folder.mkdir()
    for name in HF_FILES:
        shutil.copy(base_model_path / name, folder / name)
    return folder


def test_manifest_records_recipe_source_and_hashes(minilm_artifact, base_model_path):
    manifest = read_manifest(minilm_artifact)
    assert sorted(p.name for p in minilm_artifact.iterdir()) == [
        MANIFEST_NAME,
        "model.onnx",
        "model.onnx_data",
        "tokenizer.json",
    ]
    assert manifest.graph.external_data == "model.onnx_data" and set(manifest.files) == {
        "model.onnx",
        "model.onnx_data",
        "tokenizer.json",
    }
    assert manifest.pooling.value == "mean" and manifest.normalize is True
    assert manifest.max_seq_length == 256  # from sentence_bert_config.json, not the tokenizer's stale 128
    assert manifest.embedding_dim == 384
    assert manifest.graph.output_name == "last_hidden_state" and not manifest.graph.pooling_in_graph
    assert manifest.source["weights_sha256"] == sha256_file(base_model_path / "model.safetensors")
    assert {"torch", "optimum", "onnxruntime", "sentence-transformers"} <= set(manifest.versions)
    verify_files(minilm_artifact, manifest)
    saved = json.loads((minilm_artifact / "tokenizer.json").read_text())
    assert saved["truncation"]["max_length"] == 256 and saved["padding"] is None


def test_recorded_parity_is_what_sentence_transformers_gives(minilm_artifact, base_model_path):
    from sentence_transformers import SentenceTransformer

    from edge_embed.data.probes import PARITY_TEXTS

    # Recompute the parity check independently: the manifest must record the cosine the artifact really has.
    model = SentenceTransformer(str(base_model_path), device="cpu", local_files_only=True)
    model.max_seq_length = 256
    theirs = model.encode(list(PARITY_TEXTS), convert_to_numpy=True)
    ours = Embedder.load(minilm_artifact).embed(list(PARITY_TEXTS))
    cosines = (ours * theirs).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(theirs, axis=1)
    parity = read_manifest(minilm_artifact).checks["parity"]
    assert parity["min_cosine"] == pytest.approx(float(cosines.min()), abs=1e-6)
    assert parity["texts"] == len(PARITY_TEXTS) and cosines.min() >= parity["threshold"]


def test_runtime_matches_sentence_transformers_on_domain_text(minilm_artifact, base_model_path, medquad_mini):
    from sentence_transformers import SentenceTransformer

    passages, queries = _load_beir_texts(medquad_mini, 48)
    reference = SentenceTransformer(str(base_model_path), device="cpu")
    embedder = Embedder.load(minilm_artifact)
    for texts in (passages, queries):
        ours = embedder.embed(texts, batch_size=16)
        theirs = reference.encode(texts, batch_size=16, convert_to_numpy=True)
        cosines = (ours * theirs).sum(axis=1) / np.linalg.norm(theirs, axis=1)
        assert cosines.min() >= 0.9999, cosines.min()


def test_head_tokenization_matches_the_whole_text_on_domain_passages(minilm_artifact, medquad_mini):
    from tokenizers import Tokenizer

    passages, _ = _load_beir_texts(medquad_mini, 200)
    long_texts = [" ".join(passages[i : i + 12]) for i in range(0, 120, 12)]  # thousands of characters each
    odd = ["Sjögren’s syndrome affects " * 300, "糖尿病" * 2000 + " insulin", "a" * 3000 + " b"]
    texts = passages + long_texts + odd
    whole = Tokenizer.from_file(str(minilm_artifact / "tokenizer.json"))
    whole.no_padding()
    whole.enable_truncation(max_length=256)
    got = Embedder.load(minilm_artifact).tokenize(texts)
    assert [e.ids for e in got] == [e.ids for e in whole.encode_batch(texts)]
    assert sum(len(e.ids) == 256 for e in got) >= len(long_texts)


def test_dynamic_axes_batch_and_length(minilm_artifact):
    embedder = Embedder.load(minilm_artifact)
    texts = ["x"] + ["word " * n for n in (3, 50, 400)]
    batched = embedder.embed(texts, batch_size=4)
    singles = np.concatenate([embedder.embed([t]) for t in texts])
    np.testing.assert_allclose(batched, singles, atol=2e-5)


def test_export_bare_transformers_checkpoint(base_model_path, tmp_path):
    checkpoint = _hf_checkpoint(base_model_path, tmp_path / "checkpoint-500")
    source = resolve_source(checkpoint)
    assert source.format == "transformers" and source.pooling.value == "mean" and not source.normalize
    out = export_artifact(checkpoint, tmp_path / "art", normalize=True, external_data=False)
    manifest = read_manifest(out)
    assert manifest.graph.external_data is None and not (out / "model.onnx_data").exists()
    assert manifest.normalize is True and manifest.checks["parity"]["min_cosine"] >= 0.9999
    assert manifest.max_seq_length == 512  # a bare checkpoint only knows its position limit


def test_run_folder_picks_recorded_best_checkpoint_and_records_run_id(base_model_path, tmp_path):
    run = tmp_path / "runs" / "run-42"
    run.mkdir(parents=True)
    shutil.copytree(base_model_path, run / "checkpoint-10")
    (run / "checkpoint-20").mkdir()  # the last checkpoint: incomplete, so it is not a model
    (run / "run.json").write_text(json.dumps({"run_id": "run-42", "best_checkpoint": "checkpoint-10"}))
    source = resolve_source(run)
    assert source.run["checkpoint"] == "best:checkpoint-10"
    out = export_artifact(run, tmp_path / "art")
    manifest = read_manifest(out)
    assert manifest.source["run_id"] == "run-42"
    assert manifest.source["run_record_sha256"] == sha256_file(run / "run.json")


def test_trainer_output_without_run_record_uses_trainer_state(base_model_path, tmp_path):
    run = tmp_path / "trainer-out"
    run.mkdir()
    for step in (100, 200):
        _hf_checkpoint(base_model_path, run / f"checkpoint-{step}")
    (run / "checkpoint-200" / "trainer_state.json").write_text(
        json.dumps({"best_model_checkpoint": "/elsewhere/trainer-out/checkpoint-100"})
    )
    assert resolve_source(run).run["checkpoint"] == "best:checkpoint-100"
    assert resolve_source(run, checkpoint="last").run["checkpoint"] == "last:checkpoint-200"


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p, "is not a model"),
        (lambda p: (p / "config.json").write_text("{}") and p, "no hidden size"),
        (
            lambda p: (p / "config.json").write_text('{"hidden_size": 8, "max_position_embeddings": 8}') and p,
            "has no weights",
        ),
    ],
)
def test_folders_that_are_not_models_are_refused(tmp_path, make, message):
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    make(folder)
    with pytest.raises(CheckpointError, match=message):
        export_artifact(folder, tmp_path / "art")
    assert not (tmp_path / "art").exists()


def test_unsupported_module_is_refused(base_model_path, tmp_path):
    model = tmp_path / "with-dense"
    shutil.copytree(base_model_path, model)
    modules = json.loads((model / "modules.json").read_text())
    modules.append({"idx": 3, "name": "3", "path": "3_Dense", "type": "sentence_transformers.models.Dense"})
    (model / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(CheckpointError, match="Dense' cannot be exported"):
        resolve_source(model)


def test_corrupt_external_weights_are_caught(minilm_artifact, copy_artifact):
    from edge_embed.errors import IntegrityError

    artifact = copy_artifact(minilm_artifact)
    with open(artifact / "model.onnx_data", "r+b") as handle:
        handle.seek(1000)
        handle.write(b"\x00\x01\x02\x03")
    with pytest.raises(IntegrityError, match="model.onnx_data does not match"):
        Embedder.load(artifact)


def test_parity_failure_leaves_no_artifact(base_model_path, tmp_path):
    # CLS pooling on a mean-pooled model gives different embeddings: the export must refuse to finish.
    with pytest.raises(ParityError, match="parity failed"):
        export_artifact(base_model_path, tmp_path / "art", pooling="cls")
    assert list(tmp_path.iterdir()) == []


def test_unfinished_run_warns_and_uses_its_last_checkpoint(base_model_path, tmp_path):
    run = tmp_path / "run-7"
    run.mkdir()
    _hf_checkpoint(base_model_path, run / "checkpoint-3")
    (run / "run.json").write_text(json.dumps({"run_id": "run-7", "status": "running"}))
    with pytest.warns(UserWarning, match="run run-7 is not finished"):
        source = resolve_source(run)
    assert source.run["checkpoint"] == "last:checkpoint-3" and source.run["run_id"] == "run-7"
