"""The contract every forecaster obeys (the project's style guide, §10): ``fit(y) -> self``, then ``predict(h)``.

``y``: a 1-D array-like of finite numbers (one series) or a list of them (several series, possibly of different
lengths). ``predict(h)`` returns an (h,) float64 array for one series, a list of them for several. ``fit`` never
changes its input; a forecaster can be fitted again (it forgets the previous fit).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._errors import bad_argument, check_positive_int, described


class Forecaster:
    """Base: checks and copies the input, remembers whether one series or several were given."""

    name: str = ""

    def __init__(self) -> None:
        self._single: bool | None = None

    def fit(self, y: np.ndarray | Sequence[np.ndarray]) -> Forecaster:
        single = isinstance(y, np.ndarray) and y.ndim == 1 or (
            isinstance(y, Sequence) and len(y) > 0 and np.isscalar(y[0]))
        series = [y] if single else list(y)
        if not series:
            raise bad_argument("y", "a series or a non-empty list of series", described("an empty list"))
        copies = []
        for k, s in enumerate(series):
            values = np.array(s, dtype=np.float64)                            # a copy: the input stays as it is
            if values.ndim != 1 or len(values) < 2:
                raise bad_argument("y" if single else f"y[{k}]", "a 1-D series of at least 2 values",
                                   described(f"shape {values.shape}"))
            if not np.all(np.isfinite(values)):
                raise bad_argument("y" if single else f"y[{k}]", "finite values",
                                   described(f"{int((~np.isfinite(values)).sum())} non-finite"))
            copies.append(values)
        self._single = single
        self._fit(copies)
        return self

    def predict(self, h: int) -> np.ndarray | list[np.ndarray]:
        check_positive_int("h", h)
        if self._single is None:
            raise RuntimeError(f"{type(self).__name__}: call fit(y) before predict(h)")
        forecasts = [np.asarray(f, dtype=np.float64).reshape(h) for f in self._predict(h)]
        return forecasts[0] if self._single else forecasts

    # ---- what a forecaster implements ---------------------------------------------------------------------
    def _fit(self, series: list[np.ndarray]) -> None:
        raise NotImplementedError

    def _predict(self, h: int) -> list[np.ndarray]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"
