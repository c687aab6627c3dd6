"""One rule for which of a sentence-transformers model's prompts is the query prompt and which the document prompt.

Export writes the result into the manifest (``prompts: {"query", "document"}``); training's evaluator and bench's
sentence-transformers reference row encode with the same prompts, so all of them score the model the same way.
"""

from __future__ import annotations

from collections.abc import Mapping

# Names sentence-transformers models use for the prompt of the texts searched, in order of preference.
DOCUMENT_PROMPT_NAMES = ("document", "passage", "corpus", "doc")


def kind_prompts(prompts: Mapping[str, str] | None) -> dict[str, str]:
    """``{"query": ..., "document": ...}`` (only the non-empty ones) from a model's named prompts."""
    prompts = prompts or {}
    found = {}
    if prompts.get("query"):
        found["query"] = prompts["query"]
    for name in DOCUMENT_PROMPT_NAMES:
        if prompts.get(name):
            found["document"] = prompts[name]
            break
    return found
