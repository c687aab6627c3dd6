"""Data shipped with the package: the industrial-maintenance sample and the quickstart pipeline config."""

from __future__ import annotations

from pathlib import Path

SAMPLE_LICENSE = "CC0-1.0"

QUICKSTART_TOML = """\
# edge-embed quickstart: the whole pipeline on the bundled industrial-maintenance sample.
# Point data.path at your own BEIR folder (corpus.jsonl, queries.jsonl, qrels/{{train,dev,test}}.tsv) to adapt it.
[pipeline]
name = "maintenance"
workspace = "."

[data]
path = "{data}"
license = "{license}"

[train]
preset = "tiny"          # a few minutes on a laptop CPU; "cpu-30m" or "default" for real data
epochs = 10
batch_size = 16
learning_rate = 1e-4
max_seq_length = 128

[[quantize]]
method = "dynamic-int8"  # int8 weights, fused graph; gated on the dev split below
max_drop = 0.02
auto = true              # keep the few most sensitive matmuls in fp32 until the gate passes

[bench]
split = "test"
rounds = 3
latency_queries = 40
throughput_texts = 32
"""


def maintenance_dataset() -> Path:
    """The bundled BEIR folder (160 passages, 80/40/40 train/dev/test queries in site shorthand, CC0-1.0)."""
    return Path(__file__).parent / "maintenance"


def write_quickstart_config(workspace: str | Path) -> Path:
    """Write ``quickstart.toml`` into ``workspace`` (kept if it exists, so a user's edits survive)."""
    folder = Path(workspace)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "quickstart.toml"
    if not path.is_file():
        path.write_text(QUICKSTART_TOML.format(data=maintenance_dataset().as_posix(), license=SAMPLE_LICENSE))
    return path
