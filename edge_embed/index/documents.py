"""What goes into a local index: documents with an id, their text and optional title and source, read from a BEIR
folder (``corpus.jsonl``), a JSON-lines file, a Parquet file (with ``pyarrow``) or a plain text file (one document
per line)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from edge_embed.data.beir import iter_jsonl, passage_text
from edge_embed.errors import InputError


@dataclass(frozen=True)
class Document:
    """One indexed document; ``embedded_text`` is what the model reads (``"title. text"`` as BEIR evaluation does)."""

    id: str
    text: str
    title: str | None = None
    source: str | None = None

    @property
    def embedded_text(self) -> str:
        return passage_text({"title": self.title, "text": self.text})

    def to_dict(self) -> dict[str, str]:
        out = {"id": self.id, "text": self.text}
        if self.title:
            out["title"] = self.title
        if self.source:
            out["source"] = self.source
        return out


def read_documents(path: str | Path, text_field: str = "text", id_field: str = "_id") -> list[Document]:
    """Documents from a BEIR folder, a ``.jsonl`` file (``id_field``/``text_field``, optional ``title`` and
    ``source``; ``id`` is accepted for ``_id``) or any other UTF-8 text file (one document per non-blank line,
    ids ``<file name>:<line>``).

    Raises:
        InputError: If the path is missing, a line is malformed, a text is not a string, or an id repeats.
    """
    path = Path(path)
    if path.is_dir():
        corpus = path / "corpus.jsonl"
        if not corpus.is_file():
            raise InputError(f"{path} is a folder without corpus.jsonl; give a BEIR folder, a .jsonl or a .txt file")
        documents = list(_from_jsonl(corpus, text_field, id_field))
    elif path.suffix == ".jsonl":
        documents = list(_from_jsonl(path, text_field, id_field))
    elif path.suffix == ".parquet":
        documents = list(_from_parquet(path, text_field, id_field))
    else:
        documents = list(_from_lines(path))
    if not documents:
        raise InputError(f"{path} holds no documents")
    seen: set[str] = set()
    for document in documents:
        if document.id in seen:
            raise InputError(f"{path}: duplicate document id {document.id!r}")
        seen.add(document.id)
    return documents


def _from_jsonl(path: Path, text_field: str, id_field: str) -> Iterator[Document]:
    for number, record in iter_jsonl(path):
        doc_id = record.get(id_field, record.get("id"))
        text = record.get(text_field)
        if not isinstance(text, str):
            raise InputError(f"{path} line {number}: field {text_field!r} must be a string")
        if doc_id is None:
            doc_id = f"{path.name}:{number}"
        if not isinstance(doc_id, str | int) or isinstance(doc_id, bool):
            raise InputError(f"{path} line {number}: id must be a string or an integer")
        title, source = record.get("title"), record.get("source")
        for name, value in (("title", title), ("source", source)):
            if value is not None and not isinstance(value, str):
                raise InputError(f"{path} line {number}: field {name!r} must be a string")
        yield Document(str(doc_id), text, title or None, source or None)


def _from_parquet(path: Path, text_field: str, id_field: str) -> Iterator[Document]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(f"{path}: reading Parquet needs pyarrow (pip install 'edge-embed[scale]')") from None
    try:
        table = pq.read_table(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise InputError(f"cannot read {path} as Parquet: {exc}") from None
    names = table.column_names
    id_column = id_field if id_field in names else "id" if "id" in names else None
    if text_field not in names:
        raise InputError(f"{path} has no column {text_field!r} (columns: {', '.join(names)}); pass --text-field")
    texts = table.column(text_field).to_pylist()
    ids = table.column(id_column).to_pylist() if id_column else [f"{path.name}:{i}" for i in range(len(texts))]
    titles = table.column("title").to_pylist() if "title" in names else [None] * len(texts)
    for row, (doc_id, text, title) in enumerate(zip(ids, texts, titles, strict=True), start=1):
        if not isinstance(text, str):
            raise InputError(f"{path} row {row}: column {text_field!r} must be a string, got {type(text).__name__}")
        if doc_id is None or isinstance(doc_id, bool) or not isinstance(doc_id, str | int):
            raise InputError(f"{path} row {row}: id must be a string or an integer")
        yield Document(str(doc_id), text, title if isinstance(title, str) and title else None)


def _from_lines(path: Path) -> Iterator[Document]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    try:
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 (byte {exc.start}); save it as UTF-8") from None
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield Document(f"{path.name}:{number}", line.strip())
