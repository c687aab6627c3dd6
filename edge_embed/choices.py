"""A base for closed choices that are written to JSON and tables as their plain value."""

from __future__ import annotations

from enum import Enum


class Choice(str, Enum):
    """A ``str`` enum that prints as its value (``f"{LinkKind.RUN}"`` is ``"run"``, not ``"LinkKind.RUN"``)."""

    def __str__(self) -> str:
        return str(self.value)
