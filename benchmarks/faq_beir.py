"""A second-domain retrieval set (software FAQs) in BEIR format, built from two Debian documentation packages.

Queries are the questions of the Python FAQ (python3.11-doc: programming, design, library, extending, general,
windows, gui, installed) and of the Debian FAQ (debian-faq); the relevant passage of each is its answer. Every other
section of the Python tutorial, HOWTOs and library reference from the same package joins the corpus as a distractor,
so a query is searched among thousands of software-documentation passages, not among the answers alone. A passage's
title is its page and chapter, never the question (that would hand the query to the model).

Licences: Python documentation, PSF License Agreement for Python 3.11 (docs.python.org/3/license.html); Debian FAQ,
verbatim and modified copying permitted under its notice (/usr/share/doc/debian-faq/copyright). The packages come
from the Debian archive (a package registry this machine reaches); the set is written where you say, never into the
repository (like ../shared).

    python benchmarks/faq_beir.py -o ../shared/data/softfaq [--debs FOLDER_WITH_THE_TWO_DEBS]

Splits: one seeded shuffle of the questions, 50% train, 20% dev, 30% test. The folder is written whole or not at all.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGES = ("python3.11-doc", "debian-faq")
PYTHON_DOCS = "usr/share/doc/python3.11/html/_sources"
DEBIAN_FAQ = "usr/share/doc/debian/FAQ/debian-faq.en.txt.gz"
FAQ_PAGES = ("programming", "design", "library", "extending", "general", "windows", "gui", "installed")
DISTRACTOR_FOLDERS = ("tutorial", "howto", "library")
SPLITS = (("train", 0.5), ("dev", 0.2), ("test", 0.3))
MIN_CHARS = 80  # shorter sections (a heading and a link) are not passages

_UNDERLINE = re.compile(r"^([=\-~^*+#\"'`])\1{2,}\s*$")
_ROLE = re.compile(r":[a-z:]+:`~?!?([^`<]*?)(?:\s*<[^>]*>)?`")
_LINK = re.compile(r"`([^`<]+?)\s*<[^>]+>`__?")
_LITERAL = re.compile(r"``([^`]+)``")
_DEBIAN_HEADING = re.compile(r"^\d+(?:\.\d+)+\.\s+(.*)$")


@dataclass(frozen=True)
class Section:
    """A heading and the text under it."""

    source: str  # e.g. "python-faq/programming"
    title: str  # page and chapter, shown as the passage title
    heading: str
    text: str


def rst_sections(path: Path, source: str) -> Iterator[Section]:
    """Every heading of a reStructuredText page with its body, markup reduced to plain text."""
    lines = path.read_text(encoding="utf-8").splitlines()
    page, chapter, heading, body = "", "", None, []
    levels: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and _UNDERLINE.match(nxt) and len(nxt.strip()) >= len(line.strip()) - 1:
            if heading is not None:
                yield Section(source, " - ".join(t for t in (page, chapter) if t), heading, _plain(body))
            overlined = i > 0 and bool(_UNDERLINE.match(lines[i - 1]))  # a page title: over- and underlined
            mark = ("over" if overlined else "") + nxt.strip()[0]
            if mark not in levels:
                levels.append(mark)
            level = levels.index(mark)
            title = line.strip()
            if level == 0:
                page, chapter = title, ""
            elif level == 1 and not title.endswith("?"):
                chapter = title
            heading, body = title, []
            i += 2
            continue
        if not _UNDERLINE.match(line):
            body.append(line)
        i += 1
    if heading is not None:
        yield Section(source, " - ".join(t for t in (page, chapter) if t), heading, _plain(body))


def _plain(lines: list[str]) -> str:
    """reST body to text: directives and labels dropped, roles and links to their words, whitespace folded."""
    kept, skipping = [], False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith(".. "):
            skipping = "::" in stripped  # a directive's indented block goes with it; a label or comment is one line
            continue
        if skipping and (not stripped or line.startswith((" ", "\t"))):
            continue
        skipping = False
        kept.append(line)
    text = " ".join(" ".join(kept).split())
    text = _LINK.sub(r"\1", _ROLE.sub(r"\1", text))
    return _LITERAL.sub(r"\1", text).replace("::", ":")


def debian_faq_sections(path: Path) -> Iterator[Section]:
    """The Debian FAQ's numbered questions with their answers (the table of contents is skipped)."""
    text = gzip.decompress(path.read_bytes()).decode("utf-8").replace("\xa0", " ")
    lines = text.splitlines()
    chapter, chapter_of_heading, heading, body, i = "", "", None, [], 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("Chapter "):
            chapter = line.split(".", 1)[-1].strip()
        match = _DEBIAN_HEADING.match(line) if not line.startswith(" ") else None
        if match or line.startswith("Chapter "):
            if heading is not None:
                yield _debian_section(chapter_of_heading, heading, body)
            heading, body = None, []
            if match:
                words = [match.group(1)]
                while i + 1 < len(lines) and lines[i + 1].strip() and not lines[i + 1].startswith(" "):
                    i += 1
                    words.append(lines[i].strip())
                heading, chapter_of_heading = " ".join(words), chapter
        elif heading is not None:
            body.append(line)
        i += 1
    if heading is not None:
        yield _debian_section(chapter_of_heading, heading, body)


def _debian_section(chapter: str, heading: str, body: list[str]) -> Section:
    return Section("debian-faq", f"Debian FAQ - {chapter}", heading, " ".join(" ".join(body).split()))


def unpack(debs: Path | None, work: Path) -> Path:
    """The two packages' files under ``work/root`` (downloaded with ``apt-get download`` when no folder is given)."""
    if debs is None:
        debs = work / "debs"
        debs.mkdir()
        done = subprocess.run(["apt-get", "download", *PACKAGES], cwd=debs, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"apt-get download {' '.join(PACKAGES)} failed: {done.stderr.strip().splitlines()[-1:]}")
    root = work / "root"
    for name in PACKAGES:
        found = sorted(debs.glob(f"{name}_*.deb"))
        if not found:
            raise SystemExit(f"no {name}_*.deb in {debs}: download it with `apt-get download {name}`")
        subprocess.run(["dpkg-deb", "-x", str(found[-1]), str(root)], check=True)
    return root


def build(root: Path, out: Path, seed: int = 0) -> dict[str, int]:
    """Write corpus, queries and qrels under ``out``; return the counts."""
    docs = root / PYTHON_DOCS
    faq = [s for page in FAQ_PAGES for s in rst_sections(docs / "faq" / f"{page}.rst.txt", f"python-faq/{page}")]
    faq += list(debian_faq_sections(root / DEBIAN_FAQ))
    faq = [s for s in faq if s.heading.endswith("?") and len(s.text) >= MIN_CHARS]
    distractors = [
        s
        for folder in DISTRACTOR_FOLDERS
        for page in sorted((docs / folder).glob("*.rst.txt"))
        for s in rst_sections(page, f"python-docs/{folder}/{page.name.removesuffix('.rst.txt')}")
        if len(s.text) >= MIN_CHARS
    ]
    corpus, queries, pairs = [], [], []
    seen: set[str] = set()
    for n, section in enumerate(faq):
        if section.heading in seen:  # a question asked twice keeps its first answer
            continue
        seen.add(section.heading)
        cid, qid = f"faq-{n:04d}-a", f"faq-{n:04d}-q"
        corpus.append({"_id": cid, "title": section.title, "text": section.text, "source": section.source})
        queries.append({"_id": qid, "text": section.heading})
        pairs.append((qid, cid))
    for n, section in enumerate(distractors):
        title = f"{section.title} - {section.heading}" if section.heading != section.title else section.title
        corpus.append({"_id": f"doc-{n:05d}", "title": title, "text": section.text, "source": section.source})
    random.Random(seed).shuffle(pairs)
    out.mkdir(parents=True)
    (out / "qrels").mkdir()
    with open(out / "corpus.jsonl", "w") as handle:
        handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in corpus)
    with open(out / "queries.jsonl", "w") as handle:
        handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in queries)
    counts, start = {"passages": len(corpus), "questions": len(queries)}, 0
    for index, (split, share) in enumerate(SPLITS):
        end = len(pairs) if index == len(SPLITS) - 1 else start + round(share * len(pairs))
        with open(out / "qrels" / f"{split}.tsv", "w") as handle:
            handle.write("query-id\tcorpus-id\tscore\n")
            handle.writelines(f"{qid}\t{cid}\t1\n" for qid, cid in pairs[start:end])
        counts[split], start = end - start, end
    (out / "README.md").write_text(
        "Software FAQ retrieval set made by edge-embed's benchmarks/faq_beir.py from the Debian packages "
        f"{', '.join(PACKAGES)}.\nPython documentation: PSF License Agreement for Python 3.11. Debian FAQ: "
        "copying permitted under the notice in /usr/share/doc/debian-faq/copyright.\n"
        f"Counts: {json.dumps(counts)}\n"
    )
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-o", "--output", type=Path, required=True, help="new folder for the BEIR set")
    parser.add_argument("--debs", type=Path, help="folder holding python3.11-doc_*.deb and debian-faq_*.deb")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.output.exists():
        raise SystemExit(f"{args.output} exists; choose a new folder")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.output.parent, prefix=f".{args.output.name}.partial-") as tmp:
        root = unpack(args.debs.resolve() if args.debs else None, Path(tmp))
        staged = Path(tmp) / "set"
        counts = build(root, staged, args.seed)
        shutil.move(str(staged), args.output)
    print(json.dumps(counts), file=sys.stderr)


if __name__ == "__main__":
    main()
