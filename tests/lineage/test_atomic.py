"""Atomic folder and file writes: an interrupted write never leaves something that looks complete."""

import pytest

from edge_embed.errors import InputError
from edge_embed.lineage.atomic import atomic_dir, atomic_write_bytes


def test_atomic_dir_appears_only_when_complete(tmp_path):
    target = tmp_path / "artifact"
    with atomic_dir(target) as tmp:
        (tmp / "model.onnx").write_bytes(b"x")
        assert not target.exists()
    assert (target / "model.onnx").read_bytes() == b"x"
    assert [p.name for p in tmp_path.iterdir()] == ["artifact"]


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_atomic_dir_leaves_nothing_on_failure_or_ctrl_c(tmp_path, error):
    target = tmp_path / "artifact"
    with pytest.raises(type(error)):
        with atomic_dir(target) as tmp:
            (tmp / "model.onnx").write_bytes(b"half")
            raise error
    assert list(tmp_path.iterdir()) == []


def test_atomic_dir_refuses_existing_unless_overwrite_and_keeps_old_on_failure(tmp_path):
    target = tmp_path / "artifact"
    target.mkdir()
    (target / "old").write_text("old")
    with pytest.raises(InputError, match="already exists"):
        with atomic_dir(target):
            pass
    with pytest.raises(RuntimeError):
        with atomic_dir(target, overwrite=True) as tmp:
            (tmp / "new").write_text("new")
            raise RuntimeError
    assert [p.name for p in target.iterdir()] == ["old"]
    with atomic_dir(target, overwrite=True) as tmp:
        (tmp / "new").write_text("new")
    assert [p.name for p in target.iterdir()] == ["new"]
    assert [p.name for p in tmp_path.iterdir()] == ["artifact"]


def test_atomic_write_bytes_replaces_whole_file(tmp_path):
    target = tmp_path / "out.npy"
    atomic_write_bytes(target, b"first")
    atomic_write_bytes(target, b"second")
    assert target.read_bytes() == b"second"
    assert [p.name for p in tmp_path.iterdir()] == ["out.npy"]
