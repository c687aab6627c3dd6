"""Bundles: a round trip that loads and embeds, byte-identical repacks, and every unsafe bundle refused."""

import io
import tarfile
import time

import numpy as np
import pytest

from edge_embed import Embedder
from edge_embed.cli.main import main
from edge_embed.deploy import install_artifact, package_artifact
from edge_embed.errors import ArtifactError, IntegrityError


def test_round_trip_installs_an_identical_working_artifact(toy_artifact, tmp_path, capsys):
    bundle = tmp_path / "toy.tar.gz"
    assert main(["package", str(toy_artifact), "-o", str(bundle)]) == 0
    assert main(["install-artifact", str(bundle), str(tmp_path / "device" / "toy")]) == 0
    assert "every file matches" in capsys.readouterr().out
    texts = ["the pump seal is a leak", "plc alarm"]
    np.testing.assert_array_equal(
        Embedder.load(tmp_path / "device" / "toy").embed(texts), Embedder.load(toy_artifact).embed(texts)
    )
    time.sleep(1.1)  # a clock in the gzip or tar headers would show
    again = package_artifact(toy_artifact, tmp_path / "again.tar.gz")
    assert again.read_bytes() == bundle.read_bytes()  # reproducible


def test_altered_artifact_is_not_packaged(toy_artifact, tmp_path):
    (toy_artifact / "tokenizer.json").write_text("{}")
    with pytest.raises(IntegrityError, match="tokenizer.json does not match"):
        package_artifact(toy_artifact, tmp_path / "b.tar.gz")
    assert not (tmp_path / "b.tar.gz").exists()


def write_tar(path, entries):
    """entries: (name, bytes | None for a folder, or ('symlink'|'hardlink', target))."""
    with tarfile.open(path, "w:gz") as tar:
        for name, content in entries:
            info = tarfile.TarInfo(name)
            if isinstance(content, tuple):
                info.type = tarfile.SYMTYPE if content[0] == "symlink" else tarfile.LNKTYPE
                info.linkname = content[1]
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return path


def bundle_entries(toy_artifact):
    return [(f"toy/{p.name}", p.read_bytes()) for p in sorted(toy_artifact.iterdir())]


@pytest.mark.parametrize(
    "extra, message",
    [
        (("../evil.txt", b"x"), "path traversal"),
        (("/etc/evil", b"x"), "path traversal"),
        (("toy/link", ("symlink", "/etc/passwd")), "is a link to '/etc/passwd'"),
        (("toy/hard", ("hardlink", "../../etc/passwd")), "is a link"),
        (("other/file", b"x"), "exactly one artifact folder"),
        (("toy/unlisted.bin", b"x"), "does not list: unlisted.bin"),
    ],
)
def test_unsafe_or_unexpected_bundles_are_refused_and_leave_nothing(toy_artifact, tmp_path, extra, message):
    bundle = write_tar(tmp_path / "bad.tar.gz", [*bundle_entries(toy_artifact), extra])
    with pytest.raises(ArtifactError, match=message):
        install_artifact(bundle, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()
    assert not (tmp_path.parent / "etc").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_tampered_file_in_bundle_fails_verification(toy_artifact, tmp_path):
    def tamper(content: bytes) -> bytes:  # same size: only the sha256 can tell
        return bytes([content[0] ^ 0xFF]) + content[1:]

    entries = [(n, tamper(c) if n.endswith("model.onnx") else c) for n, c in bundle_entries(toy_artifact)]
    with pytest.raises(IntegrityError, match="model.onnx does not match its manifest"):
        install_artifact(write_tar(tmp_path / "t.tar.gz", entries), tmp_path / "dest")
    assert not (tmp_path / "dest").exists()
    resized = [(n, b"tampered" if n.endswith("model.onnx") else c) for n, c in bundle_entries(toy_artifact)]
    with pytest.raises(ArtifactError, match="model.onnx is 8 bytes but its manifest says"):
        install_artifact(write_tar(tmp_path / "r.tar.gz", resized), tmp_path / "dest")


def test_not_a_bundle_is_one_clear_error(tmp_path, capsys):
    (tmp_path / "x.tar.gz").write_text("hello")
    assert main(["install-artifact", str(tmp_path / "x.tar.gz"), str(tmp_path / "d")]) == 1
    err = capsys.readouterr().err
    assert "not a readable .tar.gz bundle" in err and len(err.strip().splitlines()) == 1
