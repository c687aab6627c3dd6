"""edge-embed distill: model2vec's distillation of a real (tiny, random) BERT into a static artifact, checked
against model2vec's own encode, with lineage; refused cleanly when parity fails (nothing written)."""

import numpy as np
import pytest

pytest.importorskip("torch", reason="distillation needs the [build] extra")
pytest.importorskip("model2vec", reason="edge-embed distill needs model2vec (pip install --no-deps model2vec)")

from edge_embed import Embedder  # noqa: E402
from edge_embed.cli.main import main  # noqa: E402
from edge_embed.errors import ParityError  # noqa: E402
from edge_embed.export import resolve_source  # noqa: E402
from edge_embed.export.static import distill_artifact  # noqa: E402
from edge_embed.lineage.manifest import Backend, read_manifest, verify_files  # noqa: E402

pytestmark = pytest.mark.build
WORDS = "pump bearing seal leak alarm plc grease motor valve the is a of encoder axis cable supply ##s ##ing".split()


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    """A one-layer BERT with random weights and a WordPiece tokenizer, saved as a transformers checkpoint."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(folder)
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt")).save_pretrained(folder)
    return folder


def test_distill_writes_a_static_artifact_that_matches_model2vec(tiny_bert, tmp_path):
    out = distill_artifact(tiny_bert, tmp_path / "static", pca_dims=16)
    manifest = read_manifest(out)
    assert manifest.graph.backend is Backend.STATIC and manifest.embedding_dim == 16
    verify_files(out, manifest)
    assert manifest.checks["parity"]["min_cosine"] >= 0.999 and manifest.checks["parity"]["against"] == "model2vec"
    assert manifest.source["weights_sha256"] == resolve_source(tiny_bert).describe()["weights_sha256"]
    assert manifest.options["method"] == "model2vec-distill" and manifest.options["model2vec"] == "0.10.0"

    from model2vec.distill import distill_from_model
    from transformers import AutoModel, AutoTokenizer

    model, tokenizer = AutoModel.from_pretrained(tiny_bert), AutoTokenizer.from_pretrained(tiny_bert)
    reference = distill_from_model(model, tokenizer, pca_dims=16)
    texts = ["pump seals leaking", "the encoder cable of axis 2", "PLC alarm", "greasing bearings is a plc thing"]
    ours, theirs = Embedder(out).embed(texts), reference.encode(texts, use_multiprocessing=False)
    np.testing.assert_allclose(np.abs((ours * theirs).sum(1)), 1.0, atol=1e-3)  # PCA's sign is free between runs


def test_failed_parity_writes_nothing(tiny_bert, tmp_path):
    with pytest.raises(ParityError, match="static parity failed"):
        distill_artifact(tiny_bert, tmp_path / "static", pca_dims=16, parity_threshold=1.01)
    assert not (tmp_path / "static").exists() and list(tmp_path.iterdir()) == []


def test_the_cli_distills_and_the_result_embeds(tiny_bert, tmp_path, capsys):
    assert main(["distill", str(tiny_bert), "-o", str(tmp_path / "s"), "--pca-dims", "8"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "s")
    assert main(["embed", str(tmp_path / "s"), "pump seal"]) == 0
    capsys.readouterr()
    assert main(["distill", str(tiny_bert), "-o", str(tmp_path / "s")]) != 0  # exists: refused before distilling
    err = capsys.readouterr().err
    assert "already exists" in err and "distilling" not in err and "Traceback" not in err
