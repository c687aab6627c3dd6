"""Property-based tests (hypothesis): every reader of untrusted input returns a result or raises the package's own
error, never anything else, on random and mutated inputs. Examples are bounded so the suite stays fast in CI."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import tempfile
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis", reason="property tests need hypothesis (the [test] extra)")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from edge_embed.data.beir import load_beir  # noqa: E402
from edge_embed.data.pairs import read_pair_file  # noqa: E402
from edge_embed.deploy import install_artifact, package_artifact  # noqa: E402
from edge_embed.errors import EdgeEmbedError  # noqa: E402
from edge_embed.lineage.manifest import MANIFEST_NAME, parse_manifest  # noqa: E402
from edge_embed.pipeline.config import load_pipeline_config  # noqa: E402
from edge_embed.samples import maintenance_dataset  # noqa: E402
from tests.helpers.toy import make_toy_artifact  # noqa: E402

BOUNDED = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def mutations(data: bytes) -> st.SearchStrategy[bytes]:
    """``data`` with a few bytes flipped, deleted or inserted, or cut short."""

    def mutate(edits: list[tuple[int, int, int]], cut: int | None) -> bytes:
        out = bytearray(data)
        for kind, position, value in edits:
            i = position % max(len(out), 1)
            if kind == 0 and out:
                out[i] ^= value or 1
            elif kind == 1 and out:
                del out[i]
            else:
                out.insert(i, value)
        return bytes(out[:cut] if cut is not None else out)

    edit = st.tuples(st.integers(0, 2), st.integers(0, 1 << 30), st.integers(0, 255))
    return st.builds(mutate, st.lists(edit, min_size=1, max_size=4), st.none() | st.integers(0, len(data)))


def _either(call):
    """Run ``call``; any exception but the package's own is a failure of the property."""
    try:
        return call()
    except EdgeEmbedError:
        return None


@pytest.fixture(scope="module")
def toy_manifest_bytes(tmp_path_factory):
    return (make_toy_artifact(tmp_path_factory.mktemp("toy") / "toy") / MANIFEST_NAME).read_bytes()


@BOUNDED
@given(value=json_values)
def test_manifest_reader_on_random_json(value):
    _either(lambda: parse_manifest(json.dumps(value).encode(), "edge_embed.json"))


@BOUNDED
@given(data=st.data())
def test_manifest_reader_on_mutated_manifests(toy_manifest_bytes, data):
    mutated = data.draw(mutations(toy_manifest_bytes))
    _either(lambda: parse_manifest(mutated, "edge_embed.json"))


@BOUNDED
@given(data=st.data(), field=st.sampled_from(["embedding_dim", "tokenizer", "prompts", "files", "graph", "pooling"]))
def test_manifest_reader_on_fields_of_the_wrong_type(toy_manifest_bytes, data, field):
    manifest = json.loads(toy_manifest_bytes)
    manifest[field] = data.draw(json_values)
    _either(lambda: parse_manifest(json.dumps(manifest).encode(), "edge_embed.json"))


def _beir_copy() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="beir-"))
    shutil.copytree(maintenance_dataset(), folder, dirs_exist_ok=True)
    return folder


@BOUNDED
@given(data=st.data(), name=st.sampled_from(["corpus.jsonl", "queries.jsonl", "qrels/test.tsv"]))
def test_beir_reader_on_mutated_files(data, name):
    folder = _beir_copy()
    try:
        path = folder / name
        path.write_bytes(data.draw(mutations(path.read_bytes()[:4000])))
        _either(lambda: load_beir(folder, "test"))
    finally:
        shutil.rmtree(folder)


@BOUNDED
@given(
    lines=st.lists(st.one_of(json_values.map(json.dumps), st.text(max_size=40), st.binary(max_size=40)), max_size=6),
    suffix=st.sampled_from([".jsonl", ".csv", ".tsv"]),
)
def test_pairs_reader_on_random_lines(lines, suffix):
    folder = Path(tempfile.mkdtemp(prefix="pairs-"))
    try:
        path = folder / f"pairs{suffix}"
        path.write_bytes(b"\n".join(x if isinstance(x, bytes) else x.encode("utf-8", "surrogatepass") for x in lines))
        _either(lambda: read_pair_file(path))
    finally:
        shutil.rmtree(folder)


VALID_TOML = f"""
[pipeline]
name = "maintenance"
[data]
path = "{maintenance_dataset().as_posix()}"
[train]
skip = true
[[quantize]]
method = "dynamic-int8"
max_drop = 0.01
[bench]
split = "test"
rounds = 3
"""


@BOUNDED
@given(data=st.data())
def test_pipeline_config_on_mutated_toml(data):
    folder = Path(tempfile.mkdtemp(prefix="toml-"))
    try:
        path = folder / "pipeline.toml"
        path.write_bytes(data.draw(mutations(VALID_TOML.encode())))
        _either(lambda: load_pipeline_config(path))
    finally:
        shutil.rmtree(folder)


@BOUNDED
@given(
    section=st.sampled_from(["quantize", "bench"]),
    key=st.sampled_from(["max_drop", "gate_sample", "rounds", "dims", "split", "method", "name"]),
    value=json_values,
)
def test_pipeline_config_on_values_of_any_type(section, key, value):
    from edge_embed.pipeline.config import PipelineConfig

    folder = Path(tempfile.mkdtemp(prefix="toml-"))
    try:
        literal = json.dumps(value) if not isinstance(value, dict | type(None)) else '"x"'
        header = "[[quantize]]" if section == "quantize" else "[bench]"
        path = folder / "pipeline.toml"
        path.write_text(VALID_TOML.replace(header, f"{header}\n{key} = {literal}", 1))
        result = _either(lambda: load_pipeline_config(path))
        assert result is None or isinstance(result, PipelineConfig)
    finally:
        shutil.rmtree(folder)


@pytest.fixture(scope="module")
def toy_bundle(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bundle")
    return package_artifact(make_toy_artifact(folder / "toy"), folder / "toy.tar.gz").read_bytes()


@BOUNDED
@given(data=st.data())
def test_bundle_reader_on_mutated_bundles(toy_bundle, data):
    folder = Path(tempfile.mkdtemp(prefix="install-"))
    try:
        bundle = folder / "b.tar.gz"
        bundle.write_bytes(data.draw(mutations(toy_bundle)))
        dest = folder / "device" / "toy"
        if _either(lambda: install_artifact(bundle, dest)) is None:
            assert not (folder / "device").exists()  # a refused install leaves nothing
    finally:
        shutil.rmtree(folder)


@BOUNDED
@given(
    entries=st.lists(
        st.tuples(
            st.sampled_from(["toy/", "toy/model.onnx", "toy/edge_embed.json", "x/", "toy/a/b", "/abs", "toy/../up"]),
            st.sampled_from([tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.FIFOTYPE]),
            st.binary(max_size=64),
        ),
        max_size=6,
    )
)
def test_bundle_reader_on_crafted_member_lists(entries):
    folder = Path(tempfile.mkdtemp(prefix="install-"))
    try:
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w:gz") as tar:
            for name, kind, payload in entries:
                info = tarfile.TarInfo(name.rstrip("/") or name)
                info.type = kind
                info.linkname = "/etc/passwd" if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE) else ""
                info.size = len(payload) if kind == tarfile.REGTYPE else 0
                tar.addfile(info, io.BytesIO(payload) if kind == tarfile.REGTYPE else None)
        bundle = folder / "b.tar.gz"
        bundle.write_bytes(raw.getvalue())
        dest = folder / "device" / "toy"
        assert _either(lambda: install_artifact(bundle, dest)) is None  # none of these is a valid artifact
        assert not (folder / "device").exists()
    finally:
        shutil.rmtree(folder)
