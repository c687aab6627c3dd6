"""Write the bundled industrial-maintenance sample (BEIR layout) from tools/maintenance_passages.py.

Queries are written in the site shorthand of tools/site_shorthand.py (tags, clipped words), passages in manual prose.

    python tools/make_maintenance_sample.py      # rewrites edge_embed/samples/maintenance/

Split by position: of every 20 passages, 5 queries go to test, 5 to dev and 10 to train (40/40/80).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from maintenance_passages import ENTRIES  # noqa: E402
from site_shorthand import shorthand  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "edge_embed" / "samples" / "maintenance"


def split_of(index: int) -> str:
    slot = index % 20
    return "test" if slot < 5 else "dev" if slot < 10 else "train"


def main() -> None:
    (OUT / "qrels").mkdir(parents=True, exist_ok=True)
    corpus, queries, qrels = [], [], {"train": [], "dev": [], "test": []}
    for i, (title, text, query) in enumerate(ENTRIES):
        doc, qid = f"m{i:03d}", f"q{i:03d}"
        corpus.append({"_id": doc, "title": title, "text": text})
        queries.append({"_id": qid, "text": shorthand(query, i)})
        qrels[split_of(i)].append(f"{qid}\t{doc}\t1")
    (OUT / "corpus.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in corpus))
    (OUT / "queries.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in queries))
    for split, rows in qrels.items():
        (OUT / "qrels" / f"{split}.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(r + "\n" for r in rows))
    print(f"{OUT}: {len(corpus)} passages; " + ", ".join(f"{s} {len(r)}" for s, r in qrels.items()))


if __name__ == "__main__":
    main()
