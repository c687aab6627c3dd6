"""Reading a record's JSON file with one-line errors that name the file and what it should have been."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edge_embed.errors import ArtifactError


def read_json(path: Path, missing: str, record_kind: str) -> Any:
    """The parsed JSON of ``path``.

    Raises:
        ArtifactError: If the file is missing (``missing`` says what that means) or not valid JSON (the
            ``record_kind`` is damaged).
    """
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactError(f"{path} is missing; {missing}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{path} is not valid JSON ({exc}); the {record_kind} is damaged") from None
