"""The local index on real toy artifacts: exact search checked against brute force, int8 and binary against
float32, the artifact check, atomic add, damaged files, the CLI and the service's /search."""

import json

import numpy as np
import pytest

from edge_embed import Embedder
from edge_embed.cli.main import main
from edge_embed.errors import ArtifactError, InputError
from edge_embed.index import Document, StoredPrecision, VectorIndex, read_documents
from edge_embed.runtime.pooling import normalize
from tests.helpers.toy import TEXTS, WORDS, make_toy_artifact

rng = np.random.default_rng(7)
CORPUS = [" ".join(rng.choice(WORDS, size=int(rng.integers(3, 12)))) for _ in range(300)]
QUERIES = [" ".join(rng.choice(WORDS, size=3)) for _ in range(40)]


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    return make_toy_artifact(tmp_path_factory.mktemp("index") / "toy", prompts={"query": "alarm "})


@pytest.fixture(scope="module")
def embedder(artifact):
    return Embedder(artifact)


def documents(texts=CORPUS, prefix="d"):
    return [Document(f"{prefix}{i}", text, title=f"t{i}" if i % 2 else None) for i, text in enumerate(texts)]


def brute_force(embedder, texts, queries, k):
    docs = normalize(embedder.embed([d.embedded_text for d in documents(texts)]))
    query_vectors = normalize(embedder.embed(queries, kind="query"))
    scores = query_vectors @ docs.T
    return np.argsort(-scores, axis=1, kind="stable")[:, :k], np.sort(scores, axis=1)[:, ::-1][:, :k]


def test_float32_search_is_exact(embedder, tmp_path):
    index = VectorIndex.build(embedder, documents(), tmp_path / "f32")
    hits = VectorIndex.open(tmp_path / "f32").search(embedder, QUERIES, k=10)
    _, best_scores = brute_force(embedder, CORPUS, QUERIES, 10)
    np.testing.assert_allclose([[h.score for h in row] for row in hits], best_scores, atol=1e-5)
    assert index.memory_bytes == len(CORPUS) * 8 * 4
    first = hits[0][0]
    assert first.text == CORPUS[int(first.id[1:])] and (first.title is None) == (int(first.id[1:]) % 2 == 0)


def _recall(found, expected):
    return np.mean([len(set(f) & set(e)) / len(e) for f, e in zip(found, expected, strict=True)])


def test_int8_keeps_most_of_exact_recall_at_a_quarter_of_the_memory(embedder, tmp_path):
    exact, _ = brute_force(embedder, CORPUS, QUERIES, 10)
    index = VectorIndex.build(embedder, documents(), tmp_path / "int8", precision="int8")
    found = [[int(h.id[1:]) for h in row] for row in index.search(embedder, QUERIES, k=10)]
    assert _recall(found, exact) >= 0.9
    assert index.memory_bytes * 4 == len(CORPUS) * 8 * 4
    assert VectorIndex.open(tmp_path / "int8").manifest.precision is StoredPrecision.INT8


def test_binary_candidates_are_rescored_with_the_int8_codes(embedder, tmp_path):
    # 8 toy dimensions are 8 bits: too few for binary recall, so check the mechanism. With every row a candidate,
    # the rescored ranking is the int8 index's; with few candidates it stays within them.
    binary = VectorIndex.build(embedder, documents(), tmp_path / "bin", precision="binary")
    int8 = VectorIndex.build(embedder, documents(), tmp_path / "int8", precision="int8")
    assert binary.memory_bytes * 32 == len(CORPUS) * 8 * 4
    reopened = VectorIndex.open(tmp_path / "bin")
    assert isinstance(reopened.rescore, np.memmap)  # the rescoring codes stay on disk
    everything = reopened.search(embedder, QUERIES, k=5, rescore_multiplier=len(CORPUS))
    np.testing.assert_allclose(
        [[h.score for h in row] for row in everything],
        [[h.score for h in row] for row in int8.search(embedder, QUERIES, k=5)],
        atol=1e-5,
    )
    assert all(len(row) == 5 for row in reopened.search(embedder, QUERIES, k=5, rescore_multiplier=1))


def test_int8_scores_are_close_to_the_cosine(embedder, tmp_path):
    index = VectorIndex.build(embedder, documents(), tmp_path / "i8", precision="int8")
    hits = index.search(embedder, QUERIES[:5], k=3)
    query_vectors = normalize(embedder.embed(QUERIES[:5], kind="query"))
    for q, row in zip(query_vectors, hits, strict=True):
        for hit in row:
            doc = normalize(embedder.embed([documents()[int(hit.id[1:])].embedded_text]))[0]
            assert hit.score == pytest.approx(float(q @ doc), abs=0.02)


def test_another_artifact_is_refused_with_both_hashes(embedder, tmp_path):
    index = VectorIndex.build(embedder, documents(TEXTS), tmp_path / "idx")
    other = Embedder(make_toy_artifact(tmp_path / "other", normalize=False))
    with pytest.raises(InputError, match=rf"built with artifact {index.manifest.artifact_sha256[:12]}.* not \w{{12}}"):
        index.search(other, ["pump"])
    with pytest.raises(InputError, match="built with artifact"):
        index.add(other, documents(["new"], prefix="n"))


def test_add_grows_the_index_and_an_interrupted_add_leaves_it_intact(embedder, tmp_path):
    folder = tmp_path / "idx"
    VectorIndex.build(embedder, documents(TEXTS), folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    index = VectorIndex.open(folder)
    with pytest.raises(InputError, match="not valid Unicode|lone surrogate|cannot be encoded"):
        index.add(embedder, [Document("x1", "pump"), Document("x2", "bad \ud800 text")])
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["idx"]  # no partial folder left behind
    with pytest.raises(InputError, match="document id 'd0' is already in the index"):
        index.add(embedder, [Document("d0", "pump")])
    grown = index.add(embedder, [Document("x1", "the pump seal leak")])
    assert len(VectorIndex.open(folder)) == len(TEXTS) + 1 == len(grown)
    assert VectorIndex.open(folder).search(embedder, ["the pump seal leak"], k=1)[0][0].id == "x1"


def test_damaged_or_foreign_folders_are_refused(embedder, tmp_path):
    folder = tmp_path / "idx"
    VectorIndex.build(embedder, documents(TEXTS), folder, precision="int8")
    with open(folder / "vectors.npy", "r+b") as handle:
        handle.seek(-1, 2)
        handle.write(b"\x7f")
    with pytest.raises(ArtifactError, match="vectors.npy does not match its sha256"):
        VectorIndex.open(folder)
    with pytest.raises(ArtifactError, match="is not an index"):
        VectorIndex.open(tmp_path)


def test_documents_from_beir_jsonl_and_text(tmp_path):
    (tmp_path / "beir").mkdir()
    (tmp_path / "beir" / "corpus.jsonl").write_text(
        json.dumps({"_id": "a", "title": "Pump", "text": "seal leak"}) + "\n" + json.dumps({"_id": "b", "text": "x"})
    )
    docs = read_documents(tmp_path / "beir")
    assert [d.id for d in docs] == ["a", "b"] and docs[0].embedded_text == "Pump. seal leak"
    (tmp_path / "notes.txt").write_text("first note\n\nsecond note\n")
    assert [(d.id, d.text) for d in read_documents(tmp_path / "notes.txt")] == [
        ("notes.txt:1", "first note"),
        ("notes.txt:3", "second note"),
    ]
    (tmp_path / "dup.jsonl").write_text('{"id": 1, "text": "a"}\n{"id": 1, "text": "b"}\n')
    with pytest.raises(InputError, match="duplicate document id '1'"):
        read_documents(tmp_path / "dup.jsonl")
    (tmp_path / "bad.jsonl").write_text('{"id": 1, "text": 5}\n')
    with pytest.raises(InputError, match="bad.jsonl line 1: field 'text' must be a string"):
        read_documents(tmp_path / "bad.jsonl")


def test_cli_build_add_search(artifact, tmp_path, capsys):
    corpus = tmp_path / "docs.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"d{i}", "text": t}) + "\n" for i, t in enumerate(TEXTS)))
    out = tmp_path / "idx"
    assert main(["index", "build", str(artifact), str(corpus), "-o", str(out), "--precision", "int8"]) == 0
    assert f"indexed {len(TEXTS)} documents" in capsys.readouterr().err
    assert main(["index", "build", str(artifact), str(corpus), "-o", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    more = tmp_path / "more.txt"
    more.write_text("the pump seal leak\n")
    assert main(["index", "add", str(out), str(more)]) == 0
    assert main(["search", str(out), "the pump seal leak", "-k", "2", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert answer["query"] == "the pump seal leak" and answer["hits"][0]["id"] == "more.txt:1"
    with pytest.raises(SystemExit) as usage:  # argparse: a usage error, exit code 2
        main(["search", str(out), "pump", "-k", "0"])
    assert usage.value.code == 2 and "expected a positive integer, got 0" in capsys.readouterr().err
    assert main(["search", str(out), "pump", "-k", "3"]) == 0
    assert "rank" in capsys.readouterr().out


def test_service_search(embedder, tmp_path):
    pytest.importorskip("starlette", reason="the service needs the [serve] extra")
    httpx = pytest.importorskip("httpx")
    from edge_embed.serve import ServeSettings, create_app
    from tests.helpers.server import serving

    index = VectorIndex.build(embedder, documents(CORPUS), tmp_path / "idx", precision="binary")
    expected = index.search(embedder, QUERIES[:3], k=5)
    with serving(create_app(embedder, ServeSettings(warmup=False), index=index)) as url:
        one = httpx.post(f"{url}/search", json={"query": QUERIES[0], "k": 5}).json()
        many = httpx.post(f"{url}/search", json={"queries": QUERIES[:3], "k": 5}).json()
        bad = httpx.post(f"{url}/search", json={"query": "pump", "k": 0})
        info = httpx.get(f"{url}/info").json()
    assert [h["id"] for h in one["hits"]] == [h.id for h in expected[0]]
    assert [[h["id"] for h in r["hits"]] for r in many["results"]] == [[h.id for h in row] for row in expected]
    assert bad.status_code == 422 and "'k' must be an integer" in bad.json()["error"]
    assert info["index"] == {"documents": len(CORPUS), "precision": "binary", "dim": 8}
    with serving(create_app(embedder, ServeSettings(warmup=False))) as url:
        missing = httpx.post(f"{url}/search", json={"query": "pump"})
    assert missing.status_code == 404 and "no index" in missing.json()["error"]


@pytest.mark.build
def test_quantized_recall_on_minilm_and_the_bundled_sample(minilm_artifact, tmp_path):
    from edge_embed.samples import maintenance_dataset

    embedder = Embedder(minilm_artifact)
    docs = read_documents(maintenance_dataset())
    queries = [json.loads(line)["text"] for line in (maintenance_dataset() / "queries.jsonl").read_text().splitlines()]
    exact = VectorIndex.build(embedder, docs, tmp_path / "f32").search(embedder, queries, k=10)
    expected = [[h.id for h in row] for row in exact]
    for precision, floor in (("int8", 0.99), ("binary", 0.9)):
        index = VectorIndex.build(embedder, docs, tmp_path / precision, precision=precision)
        found = [[h.id for h in row] for row in index.search(embedder, queries, k=10)]
        assert _recall(found, expected) >= floor, precision


@pytest.mark.parametrize("precision", ["float32", "int8", "binary"])
def test_ann_candidates_are_rescored_exactly_and_survive_reopen_and_add(embedder, tmp_path, precision):
    pytest.importorskip("usearch", reason="approximate search needs the [ann] extra")
    exact = VectorIndex.build(embedder, documents(), tmp_path / "exact", precision=precision)
    VectorIndex.build(embedder, documents(), tmp_path / "ann", precision=precision, ann=True)
    approximate = VectorIndex.open(tmp_path / "ann")
    assert approximate.graph is not None and "ann.usearch" in approximate.manifest.files
    want = {row[0].id for row in exact.search(embedder, QUERIES, k=10)}
    got = approximate.search(embedder, QUERIES, k=10)
    assert len(want & {row[0].id for row in got}) >= 0.8 * len(want)  # the graph finds the best rows
    everything = exact.search(embedder, QUERIES[:3], k=len(CORPUS), rescore_multiplier=len(CORPUS))
    for found, full in zip(got[:3], everything, strict=False):  # scores are the exact (rescored) ones
        by_id = {h.id: h.score for h in full}
        assert all(abs(h.score - by_id[h.id]) < 1e-4 for h in found)
    grown = approximate.add(embedder, [Document("new", "the pump seal leak")])
    assert len(VectorIndex.open(tmp_path / "ann").graph) == len(CORPUS) + 1 == len(grown)
    assert VectorIndex.open(tmp_path / "ann").search(embedder, ["the pump seal leak"], k=3)[0][0].id in {"new"} | {
        h.id for h in exact.search(embedder, ["the pump seal leak"], k=3)[0]
    }
