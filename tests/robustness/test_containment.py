"""Regression tests for issue #14's containment failures: manifest paths that leave the artifact folder, links,
and pipeline or quantization names that leave the workspace. Each was accepted before this change."""

import json
import os

import pytest

from edge_embed import Embedder
from edge_embed.cli.main import main
from edge_embed.errors import ArtifactError, InputError
from edge_embed.lineage.manifest import MANIFEST_NAME, read_manifest, verify_files
from edge_embed.lineage.paths import member_name, safe_name
from edge_embed.pipeline.config import load_pipeline_config
from edge_embed.samples import maintenance_dataset
from tests.helpers.toy import make_toy_artifact


def edit_manifest(folder, change):
    path = folder / MANIFEST_NAME
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("change", "bad"),
    [
        (lambda m: m["files"].update({"/etc/passwd": "0" * 64}), "/etc/passwd"),
        (lambda m: m["files"].update({"../outside": "0" * 64}), "../outside"),
        (lambda m: m["graph"].update(external_data="../data_outside"), "../data_outside"),
        (lambda m: m["tokenizer"].update(file="/tmp/tokenizer.json"), "/tmp/tokenizer.json"),
        (lambda m: m["files"].update({"a\\..\\b": "0" * 64}), "a\\\\..\\\\b"),
    ],
)
def test_manifest_paths_outside_the_folder_are_refused_everywhere(tmp_path, capsys, change, bad):
    folder = make_toy_artifact(tmp_path / "toy")
    edit_manifest(folder, change)
    with pytest.raises(ArtifactError, match="not a plain file name inside the artifact folder"):
        read_manifest(folder)
    with pytest.raises(ArtifactError, match="refused"):
        Embedder(folder)
    assert main(["package", str(folder), "-o", str(tmp_path / "toy.tar.gz")]) == 1
    assert "refused" in capsys.readouterr().err and not (tmp_path / "toy.tar.gz").exists()


def test_a_linked_model_file_is_refused_on_verify(tmp_path):
    folder = make_toy_artifact(tmp_path / "toy")
    outside = tmp_path / "elsewhere.onnx"
    os.replace(folder / "model.onnx", outside)
    os.symlink(outside, folder / "model.onnx")
    with pytest.raises(ArtifactError, match="is a link or lies outside"):
        verify_files(folder, read_manifest(folder))
    with pytest.raises(ArtifactError, match="is a link or lies outside"):
        Embedder(folder)


def test_plain_relative_names_are_kept():
    assert member_name("model.onnx", "t") == "model.onnx" and member_name("sub/b.bin", "t") == "sub/b.bin"
    for bad in ("", ".", "a/../b", "/abs", "C:x", "a//b", 5):
        with pytest.raises(ArtifactError):
            member_name(bad, "t")


@pytest.mark.parametrize("section", ["pipeline", "quantize"])
def test_names_that_leave_the_workspace_are_refused_before_work(tmp_path, section):
    name = "../../../x"
    extra = f'[pipeline]\nname = "{name}"\n' if section == "pipeline" else ""
    quantize = f'name = "{name}"\n' if section == "quantize" else ""
    config = tmp_path / "p.toml"
    config.write_text(
        f'{extra}[data]\npath = "{maintenance_dataset().as_posix()}"\n[train]\nskip = true\n'
        f'[[quantize]]\nmethod = "dynamic-int8"\n{quantize}'
    )
    with pytest.raises(InputError, match=r"name '\.\./\.\./\.\./x' must be 1-128 letters"):
        load_pipeline_config(config)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.toml"]


def test_a_default_name_from_an_odd_folder_is_made_safe(tmp_path):
    import shutil

    data = tmp_path / "My Data (2026)"
    shutil.copytree(maintenance_dataset(), data)
    config = tmp_path / "p.toml"
    config.write_text(f'[data]\npath = "{data.as_posix()}"\n[train]\nskip = true\n')
    assert load_pipeline_config(config).name == "My-Data-2026"
    assert safe_name("maintenance-int8_v2.1", "k") == "maintenance-int8_v2.1"
