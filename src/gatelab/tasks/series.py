"""Univariate series to forecast: a user's CSV (long format, one or many series) or a bundled series.

Every problem with the input is a :class:`SeriesInputError` naming the file, the column and, where it applies,
the row (the file's line number, header = line 1). Gaps — missing values or missing periods — are an error
unless the caller asks for an explicit fill; they are never silently dropped, and what was filled is reported.
pandas (and statsmodels / statsforecast for the bundled series) are the ``forecast`` extra, imported here only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._errors import InputError, unknown_name

FILLS = ("error", "interpolate", "ffill", "zero")
MAX_CSV_BYTES = 256 * 2**20            # a longer file is refused before it is read: pandas would need ~10× it
MIN_TRAIN = 8                          # observations a model needs before the first forecast origin


class SeriesInputError(InputError):
    """Bad forecasting input; the message names the file, the column and the row where it applies."""


@dataclass(frozen=True)
class Series:
    """One series, regular in time and without gaps.

    Attributes:
        id: the series' name (its id-column value, or the dataset's name).
        values: (n,) float64 observations.
        stamps: (n,) its time stamps as strings (ISO dates, or step numbers when there is no time column).
        frequency: the pandas frequency inferred from the stamps, or ``"step"``.
        filled: how many values were filled (missing values plus missing periods); 0 unless a fill was asked.
    """

    id: str
    values: np.ndarray
    stamps: tuple[str, ...]
    frequency: str
    filled: int = 0

    def __len__(self) -> int:
        return len(self.values)


@dataclass(frozen=True)
class SeriesSet:
    """The series of one input, with the season length to use and what was done to them (to report)."""

    name: str
    series: tuple[Series, ...]
    season_length: int
    notes: tuple[str, ...] = ()


def _fail(where: str, message: str) -> SeriesInputError:
    return SeriesInputError(f"{where}: {message}")


# ---- a user's CSV -------------------------------------------------------------------------------------------
def load_csv(path: str | Path, target: str, time: str | None = None, id_column: str | None = None,
             fill: str = "error", season_length: int | None = None, max_bytes: int = MAX_CSV_BYTES) -> SeriesSet:
    """Read a long-format CSV: one row per (series, time), the value in ``target``."""
    import pandas as pd

    if fill not in FILLS:
        raise unknown_name("fill", fill, FILLS)
    path = Path(path)
    where = str(path)
    if not path.exists():
        raise _fail(where, "no such file")
    if path.is_dir():
        raise _fail(where, "expected a CSV file, got a directory")
    size = path.stat().st_size
    if size == 0:
        raise _fail(where, "the file is empty")
    if size > max_bytes:
        raise _fail(where, f"the file is {size / 2**30:.2f} GiB; gatelab forecast reads at most "
                           f"{max_bytes / 2**20:.0f} MiB (split it by series, or aggregate it to a coarser frequency)")
    with path.open("rb") as handle:
        head = handle.read(8192)
    if b"\0" in head:
        raise _fail(where, "expected a text CSV, got binary data (a NUL byte in the first 8 KiB)")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if len(head) < 8192 or error.start < len(head) - 4:       # not a multi-byte character cut at 8 KiB
            raise _fail(where, f"expected UTF-8 text, got a byte {head[error.start]:#x} at offset "
                               f"{error.start}") from None
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=True)
    except pd.errors.ParserError as error:
        raise _fail(where, f"not a well-formed CSV: {str(error).strip()}") from None
    except pd.errors.EmptyDataError:
        raise _fail(where, "no columns: the file holds no CSV header") from None
    except UnicodeDecodeError as error:
        raise _fail(where, f"expected UTF-8 text, got a byte {error.object[error.start]:#x} further in") from None
    if frame.empty:
        raise _fail(where, f"the file has a header ({', '.join(frame.columns)}) but no rows")
    columns = list(frame.columns)
    for flag, name in (("target", target), ("time", time), ("id", id_column)):
        if name is not None and name not in columns:
            raise unknown_name(f"{flag} (a column of {where})", name, columns)
    named = [n for n in (target, time, id_column) if n is not None]
    if len(set(named)) < len(named):
        raise _fail(where, f"--target, --time and --id must name different columns, got {named}")
    line = frame.index.to_numpy() + 2                                         # file line of each row

    raw = frame[target].str.strip()
    missing = raw.isin(["", "NA", "NaN", "nan", "null", "NULL", "None"])
    values = pd.to_numeric(raw.where(~missing, None), errors="coerce")
    bad = values.isna() & ~missing
    if bad.any():
        first = int(np.argmax(bad.to_numpy()))
        raise _fail(where, f"column {target!r}, row {line[first]}: expected a number, got {raw.iloc[first]!r}")
    values = values.astype(float)
    infinite = np.isinf(values.to_numpy())
    if infinite.any():
        first = int(np.argmax(infinite))
        raise _fail(where, f"column {target!r}, row {line[first]}: expected a finite number, got {raw.iloc[first]!r}")
    if missing.all():
        raise _fail(where, f"column {target!r} has no values")

    ids = frame[id_column].str.strip() if id_column else pd.Series(["series"] * len(frame))
    if id_column and (ids == "").any():
        first = int(np.argmax((ids == "").to_numpy()))
        raise _fail(where, f"column {id_column!r}, row {line[first]}: expected a series id, got an empty cell")
    if time:
        text = frame[time].str.strip()
        stamps = pd.to_datetime(text, errors="coerce", format="mixed")
        unparsed = stamps.isna()
        if unparsed.any():
            first = int(np.argmax(unparsed.to_numpy()))
            raise _fail(where, f"column {time!r}, row {line[first]}: expected a date or time, got {text.iloc[first]!r}")
        if getattr(stamps.dt, "tz", None) is not None:
            stamps = stamps.dt.tz_convert(None)

    out, notes = [], []
    for name in dict.fromkeys(ids):                                           # first-seen order
        rows = np.flatnonzero((ids == name).to_numpy())
        label = f"series {name!r}" if id_column else "the series"
        v = values.to_numpy()[rows]
        if time is None:
            out.append(_filled(where, label, target, v, tuple(str(k) for k in range(len(v))), "step", fill,
                               line[rows], notes))
            continue
        t = stamps.to_numpy()[rows]
        order = np.argsort(t, kind="stable")
        if np.any(order != np.arange(len(order))):
            notes.append(f"{label}: rows were not in time order; sorted")
        t, v, rows = t[order], v[order], rows[order]
        duplicate = np.flatnonzero(t[1:] == t[:-1])
        if len(duplicate):
            k = duplicate[0] + 1
            raise _fail(where, f"column {time!r}, row {line[rows[k]]}: {label} has the time "
                               f"{text.iloc[rows[k]]!r} twice (also row {line[rows[k - 1]]})")
        index = pd.DatetimeIndex(t)
        frequency = _frequency(index)
        if frequency is None:
            raise _fail(where, f"column {time!r}: {label} is irregular — no frequency fits its time stamps "
                               f"({len(index)} stamps from {index[0]} to {index[-1]})")
        grid = pd.date_range(index[0], index[-1], freq=frequency)
        lost = len(grid) - len(index)
        if lost:
            if fill == "error":
                gap = next(g for g in grid if g not in set(index))
                raise _fail(where, f"column {time!r}: {label} misses {lost} period(s) at frequency {frequency} "
                                   f"(first: {gap.date() if gap == gap.normalize() else gap}); pass --fill "
                                   "interpolate|ffill|zero to fill them")
            v = pd.Series(v, index=index).reindex(grid).to_numpy()
            notes.append(f"{label}: {lost} missing period(s) at frequency {frequency} filled ({fill})")
        grid_stamps = tuple(str(g.date()) if g == g.normalize() else str(g) for g in grid)
        out.append(_filled(where, label, target, v, grid_stamps, frequency, fill, None if lost else line[rows], notes,
                           extra=lost))
    notes += [f"series {s.id!r} is constant ({s.values[0]:g}): models that cannot fit it are reported as failed"
              for s in out if constant(s)]
    season = season_length if season_length is not None else _season_guess(out[0].frequency)
    return SeriesSet(path.name, tuple(out), season, tuple(notes))


def _filled(where: str, label: str, target: str, values: np.ndarray, stamps: tuple[str, ...], frequency: str,
            fill: str, lines, notes: list[str], extra: int = 0) -> Series:
    """The series with its missing values filled as asked (or an error naming the first)."""
    gaps = np.isnan(values)
    n_missing = int(gaps.sum()) - extra
    if gaps.any():
        if fill == "error":
            first = int(np.argmax(gaps))
            at = f"row {lines[first]}" if lines is not None else f"time {stamps[first]}"
            raise _fail(where, f"column {target!r}, {at}: {label} has {int(gaps.sum())} missing value(s); pass "
                               "--fill interpolate|ffill|zero to fill them")
        values = fill_gaps(values, fill)
        if n_missing > 0:
            notes.append(f"{label}: {n_missing} missing value(s) filled ({fill})")
    return Series(label.removeprefix("series ").strip("'") if label != "the series" else "series",
                  values.astype(np.float64), stamps, frequency, int(gaps.sum()))


def fill_gaps(values: np.ndarray, how: str) -> np.ndarray:
    """NaNs replaced: linear interpolation between neighbours (ends: nearest value), the last value, or 0."""
    values = np.asarray(values, dtype=np.float64).copy()
    gaps = np.isnan(values)
    if not gaps.any():
        return values
    known = np.flatnonzero(~gaps)
    if how == "zero":
        values[gaps] = 0.0
    elif how == "ffill":
        last = np.maximum.accumulate(np.where(gaps, 0, np.arange(len(values))))
        values = values[last]
        values[np.isnan(values)] = values[known[0]]                            # leading gaps: the first value
    else:
        values[gaps] = np.interp(np.flatnonzero(gaps), known, values[known])
    return values


def _frequency(index) -> str | None:
    """A pandas frequency whose grid from the first to the last stamp holds every stamp, else None."""
    import pandas as pd

    if len(index) >= 3 and (guess := pd.infer_freq(index)) is not None:
        return guess
    if len(index) < 2:
        return None
    step = pd.Series(index[1:] - index[:-1]).mode().iloc[0]
    candidates = ["YS", "YE", "QS", "QE", "MS", "ME"]
    for frequency in candidates + [step]:
        grid = pd.date_range(index[0], index[-1], freq=frequency)
        if len(grid) <= 4 * len(index) and index.isin(grid).all():
            return frequency if isinstance(frequency, str) else pd.tseries.frequencies.to_offset(step).freqstr
    return None


def _season_guess(frequency: str) -> int:
    """The usual season of a frequency (12 for months, 7 for days, …); 1 when there is none."""
    base = frequency.split("-")[0].lstrip("0123456789")
    return {"MS": 12, "ME": 12, "M": 12, "QS": 4, "QE": 4, "Q": 4, "D": 7, "B": 5, "W": 52, "h": 24,
            "H": 24}.get(base, 1)


def check_lengths(data: SeriesSet, horizon: int, origins: int, stride: int | None = None) -> None:
    """Every series must hold ``origins`` forecasts of ``horizon`` steps, ``stride`` apart (default: the
    horizon), after ``MIN_TRAIN`` observations and more than one season."""
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon <= 0:
        raise SeriesInputError(f"horizon: expected a positive int, got {horizon!r}", "horizon")
    if isinstance(origins, bool) or not isinstance(origins, int) or origins <= 0:
        raise SeriesInputError(f"origins: expected a positive int, got {origins!r}", "origins")
    if data.season_length <= 0:
        raise SeriesInputError(f"season_length: expected a positive int, got {data.season_length!r}", "season_length")
    span = horizon + (origins - 1) * (stride or horizon)                     # held out before the first origin
    for s in data.series:
        need = MIN_TRAIN + span
        if len(s) < need:
            raise SeriesInputError(f"{data.name}: series {s.id!r} has {len(s)} observations; {origins} forecast "
                                   f"origin(s) of horizon {horizon} need at least {need} ({MIN_TRAIN} to train on)")
        if data.season_length > len(s) - span:
            raise SeriesInputError(f"season_length: expected at most {len(s) - span} (the training "
                                   f"part of series {s.id!r}), got {data.season_length}")


# ---- bundled series -----------------------------------------------------------------------------------------
def _years(first: int, count: int) -> tuple[str, ...]:
    return tuple(f"{first + k}-01-01" for k in range(count))


def _airpassengers() -> SeriesSet:
    from statsforecast.utils import AirPassengersDF

    frame = AirPassengersDF
    return SeriesSet("airpassengers", (Series("AirPassengers", frame["y"].to_numpy(np.float64),
                     tuple(str(d.date()) for d in frame["ds"]), "ME"),), 12,
                     ("monthly airline passengers 1949–1960 (Box & Jenkins), from statsforecast",))


def _statsmodels(name: str):
    import statsmodels.api as sm

    return getattr(sm.datasets, name).load_pandas().data


def _sunspots() -> SeriesSet:
    frame = _statsmodels("sunspots")
    return SeriesSet("sunspots", (Series("sunspots", frame["SUNACTIVITY"].to_numpy(np.float64),
                     _years(int(frame["YEAR"].iloc[0]), len(frame)), "YS"),), 11,
                     ("yearly sunspot numbers 1700–2008, from statsmodels; season 11 (the solar cycle)",))


def _nile() -> SeriesSet:
    frame = _statsmodels("nile")
    return SeriesSet("nile", (Series("Nile", frame["volume"].to_numpy(np.float64),
                     _years(int(frame["year"].iloc[0]), len(frame)), "YS"),), 1,
                     ("yearly Nile flow at Aswan 1871–1970, from statsmodels; no season",))


def _co2() -> SeriesSet:
    frame = _statsmodels("co2")
    weekly = frame["co2"]
    gaps = int(weekly.isna().sum())
    weekly = weekly.interpolate(method="linear")
    # monthly means: a season of 12, not 52 (a weekly season makes AutoARIMA take tens of minutes)
    monthly = weekly.resample("MS").mean().dropna()
    return SeriesSet("co2", (Series("co2", monthly.to_numpy(np.float64), tuple(str(d.date()) for d in monthly.index),
                                    "MS", gaps),), 12,
                     ("atmospheric CO2 at Mauna Loa 1958–2001, from statsmodels: weekly readings averaged by month",
                      f"co2: {gaps} missing weeks filled by linear interpolation before averaging"))


def _elnino() -> SeriesSet:
    frame = _statsmodels("elnino")
    months = frame.columns[1:]
    values = frame[months].to_numpy(np.float64).reshape(-1)
    stamps = tuple(f"{int(year)}-{m:02d}-01" for year in frame["YEAR"] for m in range(1, 13))
    return SeriesSet("elnino", (Series("elnino", values, stamps, "MS"),), 12,
                     ("monthly sea surface temperature of the El Niño region 1950–2010, from statsmodels",))


def _macro() -> SeriesSet:
    frame = _statsmodels("macrodata")
    stamps = tuple(f"{int(y)}-{3 * int(q) - 2:02d}-01" for y, q in zip(frame["year"], frame["quarter"], strict=True))
    names = {"realgdp": "real GDP", "realcons": "real consumption", "realinv": "real investment",
             "unemp": "unemployment rate"}
    return SeriesSet("macro", tuple(Series(column, frame[column].to_numpy(np.float64), stamps, "QS-JAN")
                                    for column in names), 4,
                     ("US quarterly macroeconomic series 1959–2009 (statsmodels' macrodata): "
                      + ", ".join(f"{c} ({n})" for c, n in names.items()) + "; season 4 (quarters)",))


def _mackey_glass() -> SeriesSet:
    from .dynamics import mackey_glass_series

    values = np.asarray(mackey_glass_series(4000), dtype=np.float64)
    return SeriesSet("mackey_glass", (Series("mackey_glass", values, tuple(str(k) for k in range(len(values))),
                                             "step"),), 1,
                     ("the Mackey–Glass delay equation (τ = 17), 4000 points generated by gatelab: a long, "
                      "non-linear, chaotic series",))


DATASETS = {"airpassengers": _airpassengers, "sunspots": _sunspots, "nile": _nile, "co2": _co2,
            "elnino": _elnino, "macro": _macro, "mackey_glass": _mackey_glass}


def bundled(name: str, season_length: int | None = None) -> SeriesSet:
    """A bundled series by name (see ``DATASETS``); nothing is downloaded."""
    if name not in DATASETS:
        raise unknown_name("dataset", name, DATASETS)
    data = DATASETS[name]()
    if season_length is not None:
        data = SeriesSet(data.name, data.series, season_length, data.notes)
    return data


def constant(series: Series) -> bool:
    """True for a series whose values are all equal (some models cannot fit it)."""
    return bool(np.all(series.values == series.values[0])) and math.isfinite(series.values[0])
