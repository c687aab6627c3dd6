"""Pipeline config validation: every bad input fails before any work, naming the key (lean: no model needed)."""

import pytest

from edge_embed.cli.main import main
from edge_embed.errors import InputError
from edge_embed.pipeline.config import load_pipeline_config
from edge_embed.samples import maintenance_dataset, write_quickstart_config

GOOD = """
[pipeline]
name = "t"
workspace = "ws"
[data]
path = "{data}"
license = "CC0-1.0"
[train]
preset = "tiny"
epochs = 2
matryoshka_dims = [128, 64]
[[quantize]]
method = "dynamic-int8"
[[quantize]]
method = "static-int8"
calibration = true
[bench]
sample = 10
dims = [128]
"""


def write(tmp_path, text):
    path = tmp_path / "p.toml"
    path.write_text(text.format(data=maintenance_dataset().as_posix()))
    return path


def test_good_config_resolves_paths_and_defaults(tmp_path):
    config = load_pipeline_config(write(tmp_path, GOOD))
    assert config.workspace == tmp_path / "ws" and config.name == "t"
    assert [q["method"] for q in config.quantize] == ["dynamic-int8", "static-int8"]
    assert config.bench["split"] == "test" and config.mlflow is None
    train = config.train_config()
    assert (
        train.epochs == 2 and train.matryoshka_dims == (128, 64) and train.output_dir == str(tmp_path / "ws" / "runs")
    )


def test_quickstart_config_is_valid_and_kept_when_edited(tmp_path):
    path = write_quickstart_config(tmp_path)
    assert load_pipeline_config(path).data["license"] == "CC0-1.0"
    path.write_text(path.read_text().replace("epochs = 10", "epochs = 4"))
    assert "epochs = 4" in write_quickstart_config(tmp_path).read_text()


@pytest.mark.parametrize(
    "change, message",
    [
        (("epochs = 2", "epochz = 2"), "unknown key train.epochz; allowed:"),
        (("epochs = 2", 'epochs = "two"'), "train.epochs must be a number, got str 'two'"),
        (("matryoshka_dims = [128, 64]", 'matryoshka_dims = ["a"]'), "train.matryoshka_dims must be a list[int]"),
        (('method = "dynamic-int8"', 'method = "dynamic-int9"'), "quantize[0].method: unknown method 'dynamic-int9'"),
        (("[bench]", "[benchmark]"), "unknown section [benchmark]"),
        (("sample = 10", "sample = true"), "bench.sample must be an integer"),
        (('preset = "tiny"', 'preset = "huge"'), "[train] unknown preset 'huge'"),
        (('path = "{data}"', 'path = "does/not/exist"'), "data.path"),
        (('method = "static-int8"', 'method = "dynamic-int8"'), "share the name 'dynamic-int8'"),
        (('workspace = "ws"', "workspace = [1]"), "pipeline.workspace must be a string"),
        (("[train]", "[train\n"), "is not valid TOML"),
    ],
)
def test_bad_config_names_the_key_and_does_no_work(tmp_path, capsys, change, message):
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(InputError) as error:
        load_pipeline_config(path)
    assert message in str(error.value) and "\n" not in str(error.value)
    assert main(["pipeline", str(path)]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "ws").exists()


def test_missing_data_section_and_check_flag(tmp_path, capsys):
    with pytest.raises(InputError, match=r"missing section \[data\]"):
        load_pipeline_config(write(tmp_path, '[pipeline]\nname = "x"\n'))
    assert main(["pipeline", str(write(tmp_path, GOOD)), "--check"]) == 0
    assert "ok (2 quantization(s)" in capsys.readouterr().out


def test_refresh_section_and_flags_are_checked_before_any_work(tmp_path, toy_artifact, capsys):
    from edge_embed.lifecycle.feedback import FeedbackStore, Judgment
    from edge_embed.registry import registry_path

    good = GOOD + "[refresh]\nreplay = 100\n"
    with pytest.raises(InputError, match=r"refresh: no feedback store at .*feedback import FILE --workspace"):
        load_pipeline_config(write(tmp_path, good))
    with FeedbackStore(registry_path(tmp_path / "ws")) as store:
        store.add([Judgment("pump leaks", True, passage="reseal it")], source="test")
    with pytest.raises(InputError, match=r"name the deployed artifact .*no report in .*reports/t recommends one"):
        load_pipeline_config(write(tmp_path, good))
    config = load_pipeline_config(write(tmp_path, good.replace("replay = 100", f'artifact = "{toy_artifact}"')))
    assert config.refresh is not None and config.refresh.artifact == toy_artifact
    assert config.refresh.feedback == tmp_path / "ws" and config.refresh.replay is None
    for change, message in [
        ("replay = -1", r"refresh.replay must be in \[0, inf\], got -1"),
        ("replay = 100\nfeedbak = 'x'", "unknown key refresh.feedbak"),
        (f'artifact = "{tmp_path}/nothing"', "refresh.artifact .*nothing is not a folder"),
    ]:
        with pytest.raises(InputError, match=message):
            load_pipeline_config(write(tmp_path, good.replace("replay = 100", change)))
    path = write(tmp_path, GOOD)
    assert main(["pipeline", str(path), "--check", "--refresh", str(toy_artifact)]) == 0
    assert f"refreshing {toy_artifact}" in capsys.readouterr().out
    assert main(["pipeline", str(path), "--check", "--feedback", str(tmp_path / "elsewhere")]) == 2
    assert "no feedback store at" in capsys.readouterr().err


def train_only_folder(tmp_path, splits=("train",)):
    """The sample's corpus and queries with only some of its qrels: a user's folder without a dev/test split."""
    source, folder = maintenance_dataset(), tmp_path / "own"
    (folder / "qrels").mkdir(parents=True)
    for name in ("corpus.jsonl", "queries.jsonl"):
        (folder / name).write_bytes((source / name).read_bytes())
    for split in splits:
        (folder / "qrels" / f"{split}.tsv").write_bytes((source / "qrels" / f"{split}.tsv").read_bytes())
    return folder


def test_a_folder_without_dev_and_test_is_carved_when_the_pipeline_trains(tmp_path, toy_artifact, capsys):
    from edge_embed.errors import ArtifactError

    folder = train_only_folder(tmp_path)
    text = GOOD.replace("{data}", folder.as_posix()).replace(
        "[bench]", '[[quantize]]\nmethod = "fp16"\ngate_split = "dev"\n[bench]'
    )
    config = load_pipeline_config(write(tmp_path, text))
    assert config.carves_held_out and config.train_config().eval_data is None
    assert config.eval_split("train", None) == (folder, "train"), "a split the folder has is read there"
    run = tmp_path / "ws" / "runs" / "r"
    run.mkdir(parents=True)
    (run / "run.json").write_text('{"run_id": "r", "status": "finished"}')
    with pytest.raises(ArtifactError, match="has no held-out folder .*delete the run and rerun the pipeline"):
        config.eval_split("dev", run)
    (run / "held-out").mkdir()
    (run / "run.json").write_text('{"run_id": "r", "status": "finished", "held_out": {"folder": "held-out"}}')
    assert config.eval_split("dev", run) == (run / "held-out", "dev")
    assert config.eval_split("test", run) == (run / "held-out", "test")

    exports_only = text.replace("epochs = 2", "skip = true")
    with pytest.raises(
        InputError, match=r"data.dev_split: .*dev.tsv does not exist \(splits: train\); only a pipeline"
    ):
        load_pipeline_config(write(tmp_path, exports_only))
    other_split = text.replace('gate_split = "dev"', 'gate_split = "val"')
    with pytest.raises(InputError, match=r"quantize\[2\].gate_split: .*/val.tsv does not exist \(splits: train\)$"):
        load_pipeline_config(write(tmp_path, other_split))
    from edge_embed.lifecycle.feedback import FeedbackStore, Judgment
    from edge_embed.registry import registry_path

    with FeedbackStore(registry_path(tmp_path / "ws")) as store:
        store.add([Judgment("pump leaks", True, passage="reseal it")], source="test")
    refresh = text + f'[refresh]\nartifact = "{toy_artifact}"\n'
    with pytest.raises(InputError, match=r"a refresh scores old and new artifacts on the data's test split"):
        load_pipeline_config(write(tmp_path, refresh))
    command = ["pipeline", str(write(tmp_path, text)), "--check", "--feedback", str(tmp_path / "ws")]
    assert main([*command, "--refresh", str(toy_artifact)]) == 2
    assert "a refresh scores old and new artifacts on the data's test split" in capsys.readouterr().err


def test_a_folder_with_dev_but_no_test_is_refused(tmp_path):
    folder = train_only_folder(tmp_path, ("train", "dev"))
    with pytest.raises(InputError, match=r"data.test_split: .*test.tsv does not exist .*without a dev split either"):
        load_pipeline_config(write(tmp_path, GOOD.replace("{data}", folder.as_posix())))
