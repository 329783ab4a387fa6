"""The errors gatelab raises, and one shape for every input error: the argument, what was expected, what was given.

Bad input and bugs are different exceptions. :class:`InputError` (a ``ValueError``) and :class:`InputTypeError`
(also a ``TypeError``) mean the caller gave something gatelab cannot use: the CLI prints their message and exits
with code 2. Any other exception is a bug and keeps its traceback. Library messages name the Python argument
(``models``); the CLI maps argument names to its flags (``--models``) in one table (:data:`gatelab.cli.FLAGS`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class GatelabError(Exception):
    """Base of every error gatelab raises on purpose."""


class InputError(GatelabError, ValueError):
    """Bad input: names the argument (``argument``), what was expected and what was given."""

    def __init__(self, message: str, argument: str | None = None) -> None:
        super().__init__(message)
        self.argument = argument


class InputTypeError(InputError, TypeError):
    """Bad input of the wrong type."""


class described(str):
    """A given value already put into words (a shape, a type name): printed as is, not quoted."""

    def __repr__(self) -> str:
        return str(self)


def bad_argument(argument: str, expected: str, given: object, *, hint: str = "",
                 kind: type[Exception] = InputError) -> Exception:
    """Build (not raise) an error whose message names the argument, the expectation and the value given.

    ``kind=TypeError`` gives an :class:`InputTypeError`, ``ValueError`` an :class:`InputError`; other kinds
    (e.g. ``RuntimeError`` for a missing optional package) are kept as they are.

    >>> str(bad_argument("hidden_size", "a positive int", 0))
    'hidden_size: expected a positive int, got 0'
    """
    message = f"{argument}: expected {expected}, got {given!r}"
    if hint:
        message += f" ({hint})"
    if kind is TypeError:
        kind = InputTypeError
    elif kind is ValueError:
        kind = InputError
    if issubclass(kind, InputError):
        return kind(message, argument)
    return kind(message)


def unknown_name(argument: str, given: object, known: Iterable[str]) -> InputError:
    """An InputError for a name outside `known`, suggesting the closest known names."""
    known = list(known)
    close = [k for k in known if k.lower() == str(given).lower()] or difflib.get_close_matches(
        str(given), known, n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return bad_argument(argument, f"one of {known}", given, hint=hint)  # type: ignore[return-value]


def check_positive_int(argument: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_argument(argument, "a positive int", value, kind=TypeError)
    if value <= 0:
        raise bad_argument(argument, "a positive int", value)
    return value
