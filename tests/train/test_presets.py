"""The training presets: what each is made of, and that the committed measurements still name their runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge_embed.cli.main import build_parser
from edge_embed.errors import InputError
from edge_embed.records.sources import DataFile
from edge_embed.train.config import DataSource, preset

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"
MEDQUAD = (DataSource("../shared/data/medquad", license="CC-BY-4.0"),)  # as the README's commands spell it


def test_cpu_30m_is_the_default_without_matryoshka_stopped_at_30_minutes():
    default, budgeted = preset("default", data=MEDQUAD), preset("cpu-30m", data=MEDQUAD)

    assert budgeted.time_budget_s == 30 * 60 and default.time_budget_s is None
    assert budgeted.matryoshka_dims == () and default.matryoshka_dims == (256, 128, 64)
    assert budgeted.replace(time_budget_s=None, preset="default", matryoshka_dims=(256, 128, 64)) == default


def test_the_default_is_the_recipe_the_lever_table_selected():
    default = preset("default", data=MEDQUAD)

    assert (default.max_seq_length, default.epochs, default.batch_size, default.learning_rate) == (128, 2, 32, 5e-5)
    assert default.bf16 == "no" and default.freeze_embeddings and default.matryoshka_dims == (256, 128, 64)


@pytest.mark.parametrize(
    "record, name, changes",
    [
        ("train_cpu30m_fp32_30min.json", "cpu-30m", {}),  # the preset as it ships
        ("train_cpu30m.json", "cpu-30m", {"bf16": "auto"}),  # as the README says to reproduce the bf16 run
        ("train_matryoshka.json", "default", {}),  # the default as it ships
        ("train_default_256.json", "default", {"max_seq_length": 256}),  # the default at 256 tokens
        ("train_cpu30m_fp32.json", "cpu-30m", {"time_budget_s": 4 * 3600.0}),  # the default before Matryoshka
        (
            "train_corpus_siblings.json",
            "cpu-30m",
            {"bf16": "auto", "unsupervised": "title,ict", "sibling_negatives": True},
        ),
        (
            "train_corpus_siblings_256.json",
            "cpu-30m",
            {"bf16": "auto", "unsupervised": "title,ict", "sibling_negatives": True, "max_seq_length": 256},
        ),
    ],
)
def test_committed_runs_keep_their_ids_under_their_documented_commands(record, name, changes):
    run = json.loads((RESULTS / record).read_text())
    # the files the run read: a corpus-only run lists its own (corpus.jsonl alone); medquad's labelled runs read the
    # files the fp32 record lists (an older record does not list them; the data has not changed)
    files_of = record if changes.get("unsupervised") else "train_cpu30m_fp32_30min.json"
    listed = json.loads((RESULTS / files_of).read_text())["data"][0]["files"]
    files = [DataFile(**f) for f in listed]

    config = preset(name, data=MEDQUAD, **changes)

    assert f"medquad-{name}-{config.fingerprint(files)[:10]}" == run["run_id"]


def test_tsdae_on_the_default_drops_the_presets_matryoshka_but_refuses_an_asked_for_one():
    """TSDAE trains with its own loss: the default's Matryoshka dims give way; dims the user names are an error."""
    corpus = (DataSource("corpus.jsonl", license="internal"),)

    assert preset("default", data=corpus, unsupervised="tsdae").matryoshka_dims == ()
    assert preset("default", data=corpus, unsupervised="title,ict").matryoshka_dims == (256, 128, 64)
    with pytest.raises(InputError, match="drop --loss, --matryoshka-dims"):
        preset("default", data=corpus, unsupervised="tsdae", matryoshka_dims=(128,))


def test_an_unknown_preset_names_the_ones_there_are():
    with pytest.raises(InputError, match="unknown preset 'fast'; allowed: default, cpu-30m, long, reference, tiny"):
        preset("fast", data=MEDQUAD)


def test_matryoshka_dims_none_switches_the_defaults_matryoshka_off():
    args = build_parser().parse_args(["train", "--data", "corpus.jsonl", "--matryoshka-dims", "none"])
    assert args.matryoshka_dims == ()
    plain = preset("default", data=MEDQUAD, matryoshka_dims=args.matryoshka_dims)
    assert plain.matryoshka_dims == () and plain.replace(matryoshka_dims=(256, 128, 64)) == preset(
        "default", data=MEDQUAD
    )
