"""Training: a real (tiny) sentence-transformers run, its record, resume after a kill, export of the run, bad input."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="training needs the [build] extra")
pytest.importorskip("datasets", reason="training needs the [build] extra")
pytest.importorskip("accelerate", reason="training needs the [build] extra")

from edge_embed.errors import CheckpointError, InputError  # noqa: E402
from edge_embed.records import RUN_SCHEMA_VERSION, RunRecord  # noqa: E402
from edge_embed.train import DataSource, preset, train  # noqa: E402

pytestmark = pytest.mark.build


@pytest.fixture
def pairs_file(medquad_mini, tmp_path):
    """32 real query/passage pairs from medquad-mini's train split, one with an email address in it."""
    corpus = {r["_id"]: r for r in map(json.loads, (medquad_mini / "corpus.jsonl").read_text().splitlines())}
    queries = {r["_id"]: r["text"] for r in map(json.loads, (medquad_mini / "queries.jsonl").read_text().splitlines())}
    rows = [line.split("\t") for line in (medquad_mini / "qrels" / "train.tsv").read_text().splitlines()[1:33]]
    path = tmp_path / "pairs.jsonl"
    with open(path, "w") as handle:
        for i, (qid, cid, _) in enumerate(rows):
            passage = corpus[cid]["text"][:400] + (" Contact: jane.doe@example.com" if i == 0 else "")
            handle.write(json.dumps({"anchor": queries[qid], "positive": passage}) + "\n")
    return path


def own_pair_file(medquad_mini, path, contact=False):
    """medquad-mini's train pairs as a user's own pair file (no dev/test of its own); ``contact`` ends each passage
    with an email address."""
    corpus = {r["_id"]: r for r in map(json.loads, (medquad_mini / "corpus.jsonl").read_text().splitlines())}
    queries = {r["_id"]: r["text"] for r in map(json.loads, (medquad_mini / "queries.jsonl").read_text().splitlines())}
    with open(path, "w") as handle:
        for line in (medquad_mini / "qrels" / "train.tsv").read_text().splitlines()[1:]:
            qid, cid, _ = line.split("\t")
            passage = corpus[cid]["text"] + (f" Contact: nurse.{cid}@example.com" if contact else "")
            handle.write(json.dumps({"anchor": queries[qid], "positive": passage}) + "\n")
    return path


def tiny_config(pairs_file, medquad_mini, tmp_path, **overrides):
    values = dict(
        data=(DataSource(str(pairs_file), license="CC-BY-4.0"),),
        eval_data=str(medquad_mini),
        output_dir=str(tmp_path / "runs"),
        matryoshka_dims=(128,),
        pii_scrub=True,
        max_seq_length=64,
    )
    return preset("tiny", **{**values, **overrides})


def test_run_record_metrics_and_export_lineage(pairs_file, medquad_mini, tmp_path, capfd):
    run = train(tiny_config(pairs_file, medquad_mini, tmp_path), show_progress=True)
    console = capfd.readouterr()
    # The console stays clean: one step bar with loss and dev NDCG@10; the trainer's log lines go to the run folder,
    # no raw log dicts, no model-card progress bar.
    assert "train: 100%" in console.err and "2/2" in console.err and "dev ndcg@10=" in console.err
    assert "'loss'" not in console.out + console.err and "Computing widget examples" not in console.err
    logged = [json.loads(line) for line in (run / "trainer_log.jsonl").read_text().splitlines()]
    assert any("loss" in e for e in logged) and any("eval_dev_ndcg@10" in e for e in logged)
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "finished" and (run / "final" / "modules.json").is_file()
    assert record["pii_replacements"] == {"email": 1}
    assert record["data"][0]["license"] == "CC-BY-4.0" and len(record["data"][0]["files"][0]["sha256"]) == 64
    for stage in ("base", "finetuned"):
        for split in ("dev", "test"):
            assert set(record["metrics"][stage][split]) == {"384", "128"}
            assert 0 < record["metrics"][stage][split]["384"]["ndcg@10"] <= 1
    assert record["global_step"] == 2
    assert record["loss_curve"][0]["step"] == 1 and all(0 < e["loss"] < 100 for e in record["loss_curve"])
    assert record["config"]["seed"] == 42 and record["versions"]["sentence-transformers"]
    typed = RunRecord.read(run)  # what the CLI, pipeline, tracking and registry read
    assert typed.schema_version == RUN_SCHEMA_VERSION and RunRecord.from_dict(typed.to_dict()) == typed
    assert {(c.split, c.dim) for c in typed.comparisons()} == {(s, d) for s in ("dev", "test") for d in ("384", "128")}

    # The same command again finds the finished run and does no work.
    stamp = (run / "run.json").stat().st_mtime_ns
    assert train(tiny_config(pairs_file, medquad_mini, tmp_path), show_progress=False) == run
    assert (run / "run.json").stat().st_mtime_ns == stamp

    pytest.importorskip("optimum.exporters.onnx")
    from edge_embed.export import export_artifact
    from edge_embed.lineage.manifest import read_manifest

    manifest = read_manifest(export_artifact(run, tmp_path / "artifact"))
    assert manifest.source["run_id"] == record["run_id"]
    assert manifest.source["checkpoint"] == f"best:{record['best_checkpoint']}"
    assert manifest.matryoshka_dims == (128,)


@pytest.mark.slow
def test_interrupted_run_resumes_from_last_checkpoint(pairs_file, medquad_mini, tmp_path):
    command = [
        sys.executable,
        "-m",
        "edge_embed.cli.main",
        "train",
        "--data",
        str(pairs_file),
        "--license",
        "x",
        "--eval-data",
        str(medquad_mini),
        "--preset",
        "tiny",
        "--output-dir",
        str(tmp_path / "runs"),
        "--epochs",
        "4",
        "--eval-steps",
        "1",
        "--eval-sample",
        "5",
        "--max-seq-length",
        "32",
    ]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not list((tmp_path / "runs").glob("*/checkpoint-2/trainer_state.json")):
        assert first.poll() is None and time.time() < deadline, "training ended or stalled before checkpoint 2"
        time.sleep(0.5)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    (run,) = [d for d in (tmp_path / "runs").iterdir() if (d / "run.json").is_file()]  # beside .base-metrics/
    assert json.loads((run / "run.json").read_text())["status"] == "running"  # never looks complete

    second = subprocess.run(command, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "resuming" in second.stderr
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "finished" and record["global_step"] == 8


@pytest.mark.parametrize(
    "change, error, message",
    [
        (dict(base_model="/nonexistent/model"), CheckpointError, "does not exist"),
        (dict(data=(DataSource("/nonexistent/pairs.jsonl"),)), InputError, "does not exist"),
        (dict(require_license=True, data=(DataSource("PAIRS"),)), InputError, "has no license"),
        (dict(epochs=0), InputError, "epochs=0"),
        (dict(loss="triplet"), InputError, "unknown loss 'triplet'"),
        (
            dict(matryoshka_dims=(512, 384, 128)),  # the full width may be named (as sentence-transformers does)
            InputError,
            "dims 512 are wider than the base model's 384: pass --matryoshka-dims 384,128$",
        ),
    ],
)
def test_bad_input_fails_before_training_and_leaves_no_run(pairs_file, medquad_mini, tmp_path, change, error, message):
    if "data" in change and change["data"][0].path == "PAIRS":
        change["data"] = (DataSource(str(pairs_file)),)
    with pytest.raises(error, match=message):
        train(tiny_config(pairs_file, medquad_mini, tmp_path, **change), show_progress=False)
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_same_command_and_seed_give_the_same_metrics(pairs_file, medquad_mini, tmp_path):
    records = []
    for name in ("first", "second"):
        run = train(tiny_config(pairs_file, medquad_mini, tmp_path / name, matryoshka_dims=()), show_progress=False)
        records.append(json.loads((run / "run.json").read_text()))
    assert records[0]["run_id"] == records[1]["run_id"]  # derived from settings and data, not from the folder
    first, second = (r["metrics"]["finetuned"]["test"]["384"] for r in records)
    assert {k: round(v, 3) for k, v in first.items()} == {k: round(v, 3) for k, v in second.items()}


@pytest.mark.slow
def test_runs_of_one_output_folder_score_the_base_model_once(pairs_file, medquad_mini, tmp_path, caplog):
    """A second recipe on the same splits reads the base metrics the first one measured; another length rescores."""
    caplog.set_level("INFO", logger="edge_embed.train.trainer")
    first = train(tiny_config(pairs_file, medquad_mini, tmp_path, matryoshka_dims=()), show_progress=False)
    assert "evaluating the base model" in caplog.text
    caplog.clear()
    second = train(
        tiny_config(pairs_file, medquad_mini, tmp_path, matryoshka_dims=(), learning_rate=1e-4), show_progress=False
    )
    assert second != first and "evaluating the base model" not in caplog.text
    base = [json.loads((run / "run.json").read_text())["metrics"]["base"] for run in (first, second)]
    assert base[0] == base[1] and base[0]["test"]["384"]["ndcg@10"] > 0
    caplog.clear()
    train(tiny_config(pairs_file, medquad_mini, tmp_path, matryoshka_dims=(), max_seq_length=48), show_progress=False)
    assert "evaluating the base model" in caplog.text
    assert len(list((tmp_path / "runs" / ".base-metrics").glob("*.json"))) == 2


def test_a_time_budget_stops_on_a_checkpoint_scored_once(pairs_file, medquad_mini, tmp_path):
    """The stop evaluates and saves the step it stops at; the end of the cut epoch does not do both again."""
    config = tiny_config(pairs_file, medquad_mini, tmp_path, matryoshka_dims=(), epochs=3.0, time_budget_s=0.01)

    record = json.loads((train(config, show_progress=False) / "run.json").read_text())

    assert record["stopped_by_time_budget"] and record["global_step"] == 1
    assert [scored["step"] for scored in record["dev_during_training"]] == [1]
    assert record["best_checkpoint"] == "checkpoint-1"


def test_resume_skips_a_checkpoint_a_kill_cut_short(tmp_path):
    """A kill while checkpoint-3 was being written leaves it without trainer_state.json: resume from checkpoint-2."""
    from edge_embed.train.trainer import _last_complete_checkpoint

    for step, complete in ((1, True), (2, True), (3, False)):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        (folder / "model.safetensors").write_bytes(b"x")
        if complete:
            (folder / "trainer_state.json").write_text("{}")
    assert _last_complete_checkpoint(tmp_path) == tmp_path / "checkpoint-2"
    assert not (tmp_path / "checkpoint-3").exists() and (tmp_path / "checkpoint-1").exists()
    assert _last_complete_checkpoint(tmp_path / "checkpoint-1") is None


def test_mined_hard_negatives_are_other_passages_the_base_model_ranks_below_its_positive(
    pairs_file, medquad_mini, base_model_path, tmp_path, capfd
):
    """--hard-negatives: each kept pair gets another pair's passage, scored below 95% of its own positive; the run
    records how many pairs kept one, the miner's printout goes to the log, and its embeddings are cached."""
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer

    from edge_embed.train.trainer import _mine_hard_negatives

    config = tiny_config(pairs_file, medquad_mini, tmp_path, hard_negatives=1, matryoshka_dims=(), pii_scrub=False)
    model = SentenceTransformer(str(base_model_path), device="cpu", local_files_only=True)
    model.max_seq_length = config.max_seq_length
    rows = [json.loads(line) for line in pairs_file.read_text().splitlines()]
    pairs = Dataset.from_dict({"anchor": [r["anchor"] for r in rows], "positive": [r["positive"] for r in rows]})
    mined = _mine_hard_negatives(model, pairs, config, tmp_path / "cache", show_progress=False)
    assert 0 < len(mined) <= len(rows) and set(mined.column_names) == {"anchor", "positive", "negative"}
    positives = {r["positive"] for r in rows}
    anchors, own, negative = (model.encode(mined[c], normalize_embeddings=True) for c in mined.column_names)
    for row, a, p, n in zip(mined, anchors, own, negative, strict=True):
        assert row["negative"] in positives and row["negative"] != row["positive"]
        assert float(a @ n) <= 0.95 * float(a @ p) + 1e-4
    assert any((tmp_path / "cache").glob("*.npy"))
    assert "positives per query" not in capfd.readouterr().out  # the miner's print did not reach the console

    record = json.loads((train(config, show_progress=False) / "run.json").read_text())
    assert record["hard_negatives_mined"] == {"pairs": len(rows), "rows": len(mined)}
    assert record["config"]["hard_negatives"] == 1 and record["status"] == "finished"


def test_corpus_only_training_reads_no_query_and_records_its_pairs(medquad_mini, tmp_path):
    """--unsupervised: pairs come from the passages alone; the run says which method made how many."""
    config = preset(
        "tiny",
        data=(DataSource(str(medquad_mini), license="CC-BY-4.0"),),
        output_dir=str(tmp_path / "runs"),
        max_seq_length=32,
        unsupervised=("title",),
    )
    record = json.loads((train(config, show_progress=False) / "run.json").read_text())
    source = record["data"][0]
    assert source["corpus_only"] == {"title": source["pairs"]} and source["pairs"] >= 64 and source["split"] is None
    assert [Path(f["path"]).name for f in source["files"]] == ["corpus.jsonl"]  # no queries or qrels read
    assert record["status"] == "finished" and record["config"]["unsupervised"] == ["title"]
    assert set(record["metrics"]["finetuned"]) == {"dev", "test"}


def _plain_corpus_config(medquad_mini, tmp_path, **overrides):
    """The tiny preset, corpus-only on medquad-mini's passages as a user's own corpus file (no dev/test split)."""
    corpus = tmp_path / "manuals.jsonl"
    corpus.write_text((medquad_mini / "corpus.jsonl").read_text())
    return preset(
        "tiny",
        data=(DataSource(str(corpus), license="own"),),
        output_dir=str(tmp_path / "runs"),
        max_seq_length=32,
        **overrides,
    )


def test_sibling_negatives_train_on_triplets_and_keep_held_out_passages_unseen(medquad_mini, tmp_path):
    """--sibling-negatives: each corpus-only pair with a negative, counted in the record; on a plain corpus no
    held-out passage is a training negative."""
    from edge_embed.train.data import load_run_data

    config = _plain_corpus_config(medquad_mini, tmp_path, unsupervised=("ict",), sibling_negatives=True)
    data = load_run_data(config)
    assert data.pairs.negatives is not None and len(data.pairs.negatives) == len(data.pairs)
    held = {
        text
        for split in (data.dev, data.test)
        for cids in split.relevant_docs.values()
        for text in (split.corpus[c] for c in cids)
    }
    assert held and not held & set(data.pairs.negatives)

    record = json.loads((train(config, show_progress=False) / "run.json").read_text())
    source = record["data"][0]
    assert 0 < source["sibling_negatives"] <= source["corpus_only"]["ict"] and record["config"]["sibling_negatives"]
    assert record["status"] == "finished" and set(record["metrics"]["finetuned"]) == {"dev", "test"}


@pytest.mark.slow
def test_tsdae_learns_to_rebuild_damaged_sentences_of_the_corpus(medquad_mini, tmp_path):
    """--unsupervised tsdae: sentence-transformers' denoising auto-encoder on the corpus's own sentences."""
    config = preset(
        "tiny",
        data=(DataSource(str(medquad_mini), license="CC-BY-4.0"),),
        output_dir=str(tmp_path / "runs"),
        max_seq_length=32,
        epochs=0.3,
        unsupervised=("tsdae",),
    )
    record = json.loads((train(config, show_progress=False) / "run.json").read_text())
    made, kept = record["data"][0]["corpus_only"]["tsdae"], record["data"][0]["pairs"]
    assert 0.99 * made <= kept <= made and record["global_step"] > 40  # a row per sentence (repeats dropped)
    losses = [point["loss"] for point in record["loss_curve"]]
    assert losses[-1] < 0.7 * losses[0]  # the decoder rebuilds the sentences from their embeddings
    assert set(record["metrics"]["finetuned"]) == {"dev", "test"}


def test_a_pair_file_without_evaluation_data_is_scored_on_a_carved_slice(medquad_mini, tmp_path):
    """No --eval-data and no BEIR folder: dev and test are held out of the pairs (whole passages) and recorded."""
    pairs = own_pair_file(medquad_mini, tmp_path / "own.jsonl")
    config = preset(
        "tiny", data=(DataSource(str(pairs), license="own"),), output_dir=str(tmp_path / "runs"), max_seq_length=32
    )
    run = train(config, show_progress=False)
    record = json.loads((run / "run.json").read_text())
    held = record["held_out"]
    assert held["grouped_by"] == "positive passage" and held["dev"]["groups"] == held["test"]["groups"] >= 10
    assert run.name.startswith("own-held-out-tiny-")
    assert all(report["passage_overlap"] == 0 for report in record["leakage"])  # nothing held out was trained on
    assert record["data"][0]["pairs"] < 223 and set(record["metrics"]["finetuned"]) == {"dev", "test"}
    # The slice is kept as a BEIR folder: the run's artifacts can be gated and benchmarked on the same queries.
    from edge_embed.data.beir import load_beir

    folder = run / held["folder"]
    dev, test = load_beir(folder, "dev"), load_beir(folder, "test")
    assert (len(dev.queries), len(test.queries)) == (held["dev"]["queries"], held["test"]["queries"])
    assert not set(dev.queries) & set(test.queries) and dev.corpus == test.corpus
    trained = {json.loads(line)["positive"] for line in pairs.read_text().splitlines()}
    assert all(dev.corpus[c] in trained for cids in dev.relevant_docs.values() for c in cids)  # the user's passages

    # A run an older version began (no held_out, no folder) gets both when this version resumes it.
    shutil.rmtree(folder)
    del record["held_out"]
    (run / "run.json").write_text(json.dumps({**record, "status": "running"}))
    record = json.loads((train(config, show_progress=False) / "run.json").read_text())
    assert record["held_out"] == held and load_beir(folder, "test").relevant_docs == test.relevant_docs


def test_corpus_only_on_a_plain_corpus_holds_out_whole_documents(medquad_mini, tmp_path):
    config = _plain_corpus_config(medquad_mini, tmp_path, unsupervised=("title",))
    record = json.loads((train(config, show_progress=False) / "run.json").read_text())
    held = record["held_out"]
    # medquad titles repeat (several passages per condition): such documents are one group, held out together
    assert held["grouped_by"] == "corpus document" and 80 <= held["groups"] < 300
    assert 300 - record["data"][0]["pairs"] >= held["dev"]["groups"] + held["test"]["groups"]
    assert all(r["query_overlap"] == 0 and r["passage_overlap"] == 0 for r in record["leakage"])


def test_too_little_data_for_a_held_out_slice_is_refused_before_training(pairs_file, tmp_path):
    config = preset("tiny", data=(DataSource(str(pairs_file), license="own"),), output_dir=str(tmp_path / "runs"))
    counted = r"has 30 distinct passages \(passages sharing a query count once\)"
    with pytest.raises(InputError, match=counted + "; carving a held-out slice needs at least 80"):
        train(config, show_progress=False)
    assert not (tmp_path / "runs").exists()


def test_a_finetuned_model_below_the_base_on_dev_is_named():
    from edge_embed.train.trainer import below_base

    def scores(dev, width=384):
        return {"dev": {str(width): {"ndcg@10": dev}, "64": {"ndcg@10": 0.99}}}

    assert below_base({"base": scores(0.80), "finetuned": scores(0.81)}, "dev") is None
    message = below_base({"base": scores(0.80), "finetuned": scores(0.78)}, "dev")
    assert message.startswith("the finetuned model scores below the base model on dev (NDCG@10 0.7800 vs 0.8000)")


def test_pii_scrubbing_reaches_the_carved_dev_and_test_texts(medquad_mini, tmp_path):
    """A held-out slice comes from the same data as the pairs: with --pii-scrub it is scrubbed the same way."""
    from edge_embed.train.data import load_run_data

    pairs = own_pair_file(medquad_mini, tmp_path / "own.jsonl", contact=True)
    config = preset("tiny", data=(DataSource(str(pairs), license="own"),), output_dir=str(tmp_path / "runs"))
    plain = load_run_data(config)
    assert any("@example.com" in t for t in plain.dev.corpus.values())  # the slice does carry the addresses
    scrubbed = load_run_data(preset("tiny", data=config.data, output_dir=config.output_dir, pii_scrub=True))
    for split in (scrubbed.dev, scrubbed.test):
        texts = list(split.corpus.values())
        assert texts and not any("@example.com" in t for t in texts) and any("[EMAIL]" in t for t in texts)
    assert scrubbed.dev.relevant_docs == plain.dev.relevant_docs  # the same slice, only its texts changed
    assert not any("@example.com" in t for t in scrubbed.pairs.positives)
