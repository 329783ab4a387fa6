"""One shape for every input error: the argument, what was expected, what was given."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class described(str):
    """A given value already put into words (a shape, a type name): printed as is, not quoted."""

    def __repr__(self) -> str:
        return str(self)


def bad_argument(argument: str, expected: str, given: object, *, hint: str = "",
                 kind: type[Exception] = ValueError) -> Exception:
    """Build (not raise) an error whose message names the argument, the expectation and the value given.

    >>> str(bad_argument("hidden_size", "a positive int", 0))
    'hidden_size: expected a positive int, got 0'
    """
    message = f"{argument}: expected {expected}, got {given!r}"
    if hint:
        message += f" ({hint})"
    return kind(message)


def unknown_name(argument: str, given: object, known: Iterable[str]) -> ValueError:
    """A ValueError for a name outside `known`, suggesting the closest known names."""
    known = list(known)
    close = [k for k in known if k.lower() == str(given).lower()] or difflib.get_close_matches(
        str(given), known, n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return bad_argument(argument, f"one of {known}", given, hint=hint)


def check_positive_int(argument: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_argument(argument, "a positive int", value, kind=TypeError)
    if value <= 0:
        raise bad_argument(argument, "a positive int", value)
    return value
