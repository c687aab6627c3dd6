"""Bundles that cannot hurt the host (issue #14): crafted tarballs are refused before anything is written.

Before this change a 3 MB bundle with an unlisted 3 GiB member wrote 3.2 GB before it was refused, a second
manifest silently won, and truncated archives or a file/folder clash gave tracebacks.
"""

import gzip
import io
import json
import tarfile

import pytest

from edge_embed.cli.main import main
from edge_embed.deploy import install_artifact, package_artifact
from edge_embed.errors import ArtifactError, EdgeEmbedError, InputError
from edge_embed.lineage.manifest import MANIFEST_NAME
from tests.helpers.toy import make_toy_artifact

BOMB_BYTES = 256 << 20  # zeros: compresses about 1000:1


def members_of(folder):
    return {f"art/{p.name}": p.read_bytes() for p in sorted(folder.iterdir())}


def write_bundle(path, members, *, sizes=None, folders=()):
    """A .tar.gz with ``members`` (name -> bytes, or an int for that many zero bytes) and folder entries."""
    sizes = sizes or {}
    with gzip.open(path, "wb", compresslevel=1) as raw, tarfile.open(fileobj=raw, mode="w") as tar:
        for name in folders:
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            if isinstance(data, int):
                info.size = data
                tar.addfile(info, _Zeros(data))
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return path


class _Zeros(io.RawIOBase):
    def __init__(self, n):
        self.left = n

    def read(self, size=-1):
        size = self.left if size < 0 else min(size, self.left)
        self.left -= size
        return bytes(size)


@pytest.fixture
def toy(tmp_path):
    return make_toy_artifact(tmp_path / "art")


def assert_nothing_left(dest):
    parent = dest.parent
    assert not dest.exists()
    assert not parent.exists() or not [p for p in parent.iterdir() if p.name.startswith(".")]


def test_a_gzip_bomb_in_an_unlisted_member_writes_nothing(toy, tmp_path):
    bundle = write_bundle(tmp_path / "bomb.tar.gz", {**members_of(toy), "art/padding.bin": BOMB_BYTES})
    assert bundle.stat().st_size < 2 << 20
    dest = tmp_path / "device" / "art"
    with pytest.raises(ArtifactError, match="does not list: padding.bin"):
        install_artifact(bundle, dest)
    assert not (tmp_path / "device").exists()


def test_a_bomb_above_the_cap_is_refused_at_its_header(tmp_path):
    """The archive ends 1 KB into a member whose header announces 256 MB: a reader that skipped over the data before
    checking the size would report truncation; the header check refuses the size first."""
    info = tarfile.TarInfo("art/padding.bin")
    info.size = BOMB_BYTES
    stream = info.tobuf(format=tarfile.USTAR_FORMAT) + bytes(1024)
    bundle = tmp_path / "bomb.tar.gz"
    bundle.write_bytes(gzip.compress(stream))
    with pytest.raises(InputError, match="would write at least 0.27 GB, above the limit of 0.10 GB"):
        install_artifact(bundle, tmp_path / "device" / "art", max_bytes=100_000_000)
    assert not (tmp_path / "device").exists()


def test_a_missing_bundle_is_a_usage_error(tmp_path, capsys):
    assert main(["install-artifact", str(tmp_path / "nope.tar.gz"), str(tmp_path / "d")]) == 2
    assert "bundle" in capsys.readouterr().err and not (tmp_path / "d").exists()


def test_a_listed_member_larger_than_the_manifest_says_is_refused_before_writing(toy, tmp_path):
    members = members_of(toy)
    members["art/model.onnx"] = BOMB_BYTES  # listed, but not the file the manifest sized and hashed
    bundle = write_bundle(tmp_path / "big.tar.gz", members)
    dest = tmp_path / "device" / "art"
    with pytest.raises(ArtifactError, match=f"model.onnx is {BOMB_BYTES} bytes but its manifest says"):
        install_artifact(bundle, dest)
    assert not (tmp_path / "device").exists()


def test_a_bundle_above_the_cap_is_refused_before_writing(toy, tmp_path, capsys):
    bundle = package_artifact(toy, tmp_path / "toy.tar.gz")
    dest = tmp_path / "device" / "art"
    with pytest.raises(InputError, match="above the limit of 0.00 GB; pass --max-bytes"):
        install_artifact(bundle, dest, max_bytes=1000)
    assert main(["install-artifact", str(bundle), str(dest), "--max-bytes", "1000"]) == 2
    assert "above the limit" in capsys.readouterr().err
    assert not (tmp_path / "device").exists()


def test_a_second_manifest_is_refused(toy, tmp_path):
    bundle = tmp_path / "two.tar.gz"
    members = members_of(toy)
    with gzip.open(bundle, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in [*members.items(), (f"art/{MANIFEST_NAME}", members[f"art/{MANIFEST_NAME}"])]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(ArtifactError, match="appears twice"):
        install_artifact(bundle, tmp_path / "d" / "art")
    assert not (tmp_path / "d").exists()


def test_a_file_and_a_folder_with_one_name_is_one_line(toy, tmp_path, capsys):
    members = members_of(toy)
    members["art/model.onnx/inner"] = b"x"
    bundle = write_bundle(tmp_path / "clash.tar.gz", members)
    assert main(["install-artifact", str(bundle), str(tmp_path / "d" / "art")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is both a file and a folder" in err[0]
    folder_clash = write_bundle(tmp_path / "clash2.tar.gz", members_of(toy), folders=["art/model.onnx"])
    with pytest.raises(ArtifactError, match="both a file and a folder"):
        install_artifact(folder_clash, tmp_path / "d" / "art")
    assert not (tmp_path / "d").exists()


def test_a_missing_listed_file_is_refused(toy, tmp_path):
    members = members_of(toy)
    del members["art/tokenizer.json"]
    with pytest.raises(ArtifactError, match="lacks files its manifest lists: tokenizer.json"):
        install_artifact(write_bundle(tmp_path / "b.tar.gz", members), tmp_path / "d" / "art")


@pytest.mark.parametrize("cut", [0.3, 0.6, 0.95])
def test_truncated_archives_are_one_line_and_leave_nothing(toy, tmp_path, capsys, cut):
    good = package_artifact(toy, tmp_path / "good.tar.gz")
    data = good.read_bytes()
    bad = tmp_path / "cut.tar.gz"
    bad.write_bytes(data[: int(len(data) * cut)])
    dest = tmp_path / "device" / "art"
    assert main(["install-artifact", str(bad), str(dest)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a readable .tar.gz bundle, or it is truncated" in err[0], err
    assert not (tmp_path / "device").exists()


def test_a_header_claiming_more_data_than_the_archive_holds(toy, tmp_path):
    """A lying size field: the tar stream ends inside the member it announces."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in members_of(toy).items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    stream = bytearray(raw.getvalue())
    header = stream.index(b"art/model.onnx")
    stream[header + 124 : header + 136] = b"%011o\0" % (50 << 20)  # 50 MB announced
    stream[header + 148 : header + 156] = b" " * 8
    stream[header + 148 : header + 155] = b"%06o\0" % sum(stream[header : header + 512])
    bundle = tmp_path / "liar.tar.gz"
    bundle.write_bytes(gzip.compress(bytes(stream)))
    dest = tmp_path / "device" / "art"
    with pytest.raises(ArtifactError):
        install_artifact(bundle, dest)
    assert not (tmp_path / "device").exists()


def test_a_bundle_whose_manifest_lists_a_host_file_is_refused(toy, tmp_path):
    members = members_of(toy)
    manifest = json.loads(members[f"art/{MANIFEST_NAME}"])
    manifest["files"]["/etc/passwd"] = "0" * 64
    members[f"art/{MANIFEST_NAME}"] = json.dumps(manifest).encode()
    with pytest.raises(ArtifactError, match="not a plain file name inside the artifact folder"):
        install_artifact(write_bundle(tmp_path / "b.tar.gz", members), tmp_path / "d" / "art")
    assert not (tmp_path / "d").exists()


def test_an_edited_manifest_in_a_bundle_is_refused(toy, tmp_path):
    members = members_of(toy)
    manifest = json.loads(members[f"art/{MANIFEST_NAME}"])
    manifest["normalize"] = not manifest["normalize"]
    members[f"art/{MANIFEST_NAME}"] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    with pytest.raises(EdgeEmbedError, match="was edited after it was written"):
        install_artifact(write_bundle(tmp_path / "b.tar.gz", members), tmp_path / "d" / "art")


def test_a_good_bundle_still_installs_and_loads(toy, tmp_path):
    from edge_embed import Embedder

    dest = install_artifact(package_artifact(toy, tmp_path / "good.tar.gz"), tmp_path / "device" / "art")
    assert Embedder.load(dest).embed(["pump"]).shape[0] == 1
    assert sorted(p.name for p in dest.iterdir()) == sorted(p.name for p in toy.iterdir())
