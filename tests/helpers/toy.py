"""A tiny but real artifact: a word-level tokenizer and an ONNX embedding-lookup graph, built in memory.

Lean tests use it so that they run on a base install (plus ``onnx`` from the test extra) without torch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge_embed.lineage.manifest import (
    GraphSpec,
    Manifest,
    OutputKind,
    Pooling,
    TokenizerSpec,
    hash_artifact_files,
    write_manifest,
)

WORDS = ["pump", "bearing", "seal", "leak", "alarm", "plc", "grease", "motor", "valve", "the", "is", "a", "of"]
VOCAB = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, **{w: i + 4 for i, w in enumerate(WORDS)}}
DIM = 8
MAX_SEQ_LENGTH = 16


# Texts of the toy vocabulary: repeated words, unknown words, different lengths.
TEXTS = [
    "the pump is a pump",
    "seal leak",
    "plc alarm of the motor valve",
    "grease",
    "unknown words here",
    "bearing bearing bearing bearing bearing bearing bearing",
]


def toy_table(seed: int = 0) -> np.ndarray:
    """The embedding table the toy graph looks tokens up in."""
    return np.random.default_rng(seed).standard_normal((len(VOCAB), DIM)).astype(np.float32)


def make_toy_tokenizer():  # -> tokenizers.Tokenizer
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    tokenizer = Tokenizer(models.WordLevel(VOCAB, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", VOCAB["[CLS]"]), ("[SEP]", VOCAB["[SEP]"])]
    )
    # Stale settings like the base model's: the runtime must override them.
    tokenizer.enable_truncation(max_length=4)
    tokenizer.enable_padding(length=12, pad_id=0, pad_token="[PAD]")
    return tokenizer


def make_toy_graph(path: Path, table: np.ndarray, with_matmul: bool = False) -> None:
    """last_hidden_state = table[input_ids] * attention_mask[..., None] (so the mask is a real input).

    With ``with_matmul`` the looked-up rows also go through a ``DIM x DIM`` MatMul (a near-identity projection),
    so a quantizer has a weight to quantize.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    lookup = "gathered" if with_matmul else "looked_up"
    nodes = [
        helper.make_node("Gather", ["table", "input_ids"], [lookup]),
        helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask_f", "axis"], ["mask_3d"]),
        helper.make_node("Mul", ["looked_up", "mask_3d"], ["last_hidden_state"]),
    ]
    graph = helper.make_graph(
        nodes,
        "toy",
        inputs=[
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
        ],
        outputs=[helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "seq", DIM])],
        initializer=[numpy_helper.from_array(table, "table"), numpy_helper.from_array(np.array([2]), "axis")],
    )
    if with_matmul:
        noise = np.random.default_rng(0).normal(0, 0.05, (table.shape[1], table.shape[1]))
        projection = (np.eye(table.shape[1]) + noise).astype(np.float32)
        graph.node.insert(1, helper.make_node("MatMul", ["gathered", "projection"], ["looked_up"]))
        graph.initializer.append(numpy_helper.from_array(projection, "projection"))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


def make_toy_artifact(
    folder: Path, pooling: Pooling = Pooling.MEAN, normalize: bool = True, with_matmul: bool = False, **fields
) -> Path:
    """Write a complete toy artifact folder and return it (``with_matmul``: see :func:`make_toy_graph`)."""
    import pytest

    pytest.importorskip("onnx", reason="the toy artifact is built with onnx (in the [test] extra)")
    folder.mkdir(parents=True)
    make_toy_graph(folder / "model.onnx", toy_table(), with_matmul=with_matmul)
    make_toy_tokenizer().save(str(folder / "tokenizer.json"))
    manifest = Manifest(
        graph=GraphSpec(
            output_name="last_hidden_state",
            output_kind=OutputKind.TOKEN_EMBEDDINGS,
            normalize_in_graph=False,
            input_names=("input_ids", "attention_mask"),
        ),
        tokenizer=TokenizerSpec(pad_token="[PAD]", pad_id=0),
        pooling=pooling,
        normalize=normalize,
        max_seq_length=MAX_SEQ_LENGTH,
        embedding_dim=DIM,
        files=hash_artifact_files(folder),
        source={"format": "toy", "path": "tests/helpers/toy.py"},
        **fields,
    )
    write_manifest(folder, manifest)
    return folder


def reference_embedding(text: str, normalize: bool = True, max_seq_length: int = MAX_SEQ_LENGTH) -> np.ndarray:
    """Mean-pooled toy embedding computed the slow, obvious way (the runtime's cross-check)."""
    words = text.lower().split()[: max_seq_length - 2]
    ids = [VOCAB["[CLS]"]] + [VOCAB.get(w, VOCAB["[UNK]"]) for w in words] + [VOCAB["[SEP]"]]
    table = toy_table()
    vector = sum(table[i] for i in ids) / len(ids)
    return vector / np.linalg.norm(vector) if normalize else vector


def make_toy_static_artifact(folder: Path, seed: int = 0) -> Path:
    """A static artifact (as ``edge-embed distill`` writes one) over the toy vocabulary: a random token table and
    the toy tokenizer without special tokens; the unknown token is left out of the mean."""
    from tokenizers import processors

    from edge_embed.lineage.manifest import Backend
    from edge_embed.runtime.static import STATIC_FILE, STATIC_OUTPUT

    folder.mkdir(parents=True)
    np.savez(folder / STATIC_FILE, vectors=toy_table(seed).astype(np.float16), ignored_ids=np.array([VOCAB["[UNK]"]]))
    tokenizer = make_toy_tokenizer()
    tokenizer.post_processor = processors.Sequence([])  # model2vec reads texts without [CLS]/[SEP]
    tokenizer.save(str(folder / "tokenizer.json"))
    manifest = Manifest(
        graph=GraphSpec(
            output_name=STATIC_OUTPUT,
            output_kind=OutputKind.SENTENCE_EMBEDDING,
            normalize_in_graph=False,
            input_names=("input_ids", "attention_mask"),
            precision="static-float16",
            file=STATIC_FILE,
            backend=Backend.STATIC,
        ),
        tokenizer=TokenizerSpec(pad_token="[PAD]", pad_id=0),
        pooling=Pooling.MEAN,
        normalize=True,
        max_seq_length=MAX_SEQ_LENGTH,
        embedding_dim=DIM,
        files=hash_artifact_files(folder),
        source={"format": "toy", "path": "tests/helpers/toy.py"},
    )
    write_manifest(folder, manifest)
    return folder
