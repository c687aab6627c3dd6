"""Scrub personal data from training text: emails, phone numbers, IBANs, card numbers and person ids.

Patterns are deliberately conservative (a false positive costs a token, a false negative leaks data); every
replacement is counted per kind so the run record shows what was removed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
# US SSN (123-45-6789) and similar dashed national ids; German tax-id-like 11-digit runs are left to CARD/PHONE.
_PERSON_ID = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
_PHONE = re.compile(r"(?<![\w/])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,5}\)[ .-]?)?\d{2,5}(?:[ .-]\d{2,8}){1,4}(?![\w/])")

_DATE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}")

PLACEHOLDERS = {"email": "[EMAIL]", "iban": "[IBAN]", "card": "[CARD]", "person_id": "[PERSON_ID]", "phone": "[PHONE]"}


def _luhn_ok(candidate: str) -> bool:
    digits = [int(c) for c in candidate if c.isdigit()]
    checksum = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        checksum += digit
    return len(digits) >= 13 and checksum % 10 == 0


def _looks_like_phone(candidate: str) -> bool:
    return sum(c.isdigit() for c in candidate) >= 7 and not _DATE.fullmatch(candidate.strip())


class PiiScrubber:
    """Replaces personal data with placeholders and counts what it replaced, per kind.

    Example:
        >>> scrubber = PiiScrubber()
        >>> scrubber("Mail jane.doe@example.com or call +49 30 1234 5678.")
        'Mail [EMAIL] or call [PHONE].'
        >>> dict(scrubber.counts)
        {'email': 1, 'phone': 1}
    """

    def __init__(self) -> None:
        """Start with zero counts."""
        self.counts: Counter[str] = Counter()

    def __call__(self, text: str) -> str:
        """Return ``text`` with every match replaced (order: email, IBAN, card, person id, phone)."""
        text = self._sub("email", _EMAIL, text)
        text = self._sub("iban", _IBAN, text)
        text = self._sub("card", _CARD, text, keep=lambda m: _luhn_ok(m))
        text = self._sub("person_id", _PERSON_ID, text)
        return self._sub("phone", _PHONE, text, keep=_looks_like_phone)

    def _sub(self, kind: str, pattern: re.Pattern[str], text: str, keep: Callable[[str], bool] | None = None) -> str:
        def replace(match: re.Match[str]) -> str:
            if keep is not None and not keep(match.group(0)):
                return match.group(0)
            self.counts[kind] += 1
            return PLACEHOLDERS[kind]

        return pattern.sub(replace, text)
