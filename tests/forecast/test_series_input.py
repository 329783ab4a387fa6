"""Bad forecasting input: each case a clear message naming the file, the column and the row, exit code 2."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from gatelab.cli import main
from gatelab.tasks.series import SeriesInputError, check_lengths, load_csv

MONTHS = [f"{1990 + k // 12}-{k % 12 + 1:02d}-01" for k in range(60)]


def monthly(values=None, extra_rows: str = "") -> str:
    values = values if values is not None else [str(100 + k) for k in range(60)]
    return "ds,y\n" + "".join(f"{d},{v}\n" for d, v in zip(MONTHS, values, strict=False)) + extra_rows


def two_series() -> str:
    return "ds,y,id\n" + "".join(f"{d},{100 + k},a\n{d},{50 + k},b\n" for k, d in enumerate(MONTHS))


# (name, file text or None for "no file", bytes?, load_csv arguments, fragments the message must contain)
CASES = [
    ("missing file", None, {}, ["no such file"]),
    ("empty file", "", {}, ["the file is empty"]),
    ("binary file", b"\x89PNG\r\n\x1a\n\0\0\0IHDR", {}, ["expected a text CSV", "binary"]),
    ("not utf-8", b"ds,y\n2020-01-01,\xff\xfe1\n", {}, ["expected UTF-8"]),
    ("header only", "ds,y\n", {}, ["header (ds, y) but no rows"]),
    ("ragged rows", "ds,y\n2020-01-01,1\n2020-02-01,2,3,4\n", {}, ["not a well-formed CSV"]),
    ("missing target", monthly(), {"target": "value"}, ["target (a column of", "'value'", "['ds', 'y']"]),
    ("target misspelt", monthly(), {"target": "Y"}, ["target (a column of", "did you mean 'y'"]),
    ("missing time", monthly(), {"time": "date"}, ["time (a column of", "'date'"]),
    ("missing id", monthly(), {"id_column": "series"}, ["id (a column of", "'series'"]),
    ("same column twice", monthly(), {"time": "y"}, ["must name different columns"]),
    ("non-numeric target", monthly([str(k) for k in range(10)] + ["abc"] + [str(k) for k in range(49)]), {},
     ["column 'y', row 12", "expected a number", "'abc'"]),
    ("infinite value", monthly(["1"] * 5 + ["inf"] + ["1"] * 54), {}, ["row 7", "finite", "'inf'"]),
    ("all values missing", monthly([""] * 60), {}, ["column 'y' has no values"]),
    ("missing value", monthly(["1"] * 20 + [""] + ["2"] * 39), {}, ["row 22", "1 missing value", "--fill"]),
    ("unparseable time", monthly().replace("1991-03-01", "March the third"), {},
     ["column 'ds', row 16", "expected a date or time", "'March the third'"]),
    ("duplicated time", monthly().replace("1991-03-01", "1991-02-01"), {},
     ["has the time '1991-02-01' twice"]),
    ("duplicated time in one series", two_series().replace("1991-03-01,114,a", "1991-02-01,114,a"),
     {"id_column": "id"}, ["series 'a'", "twice"]),
    ("irregular spacing",
     "ds,y\n" + "".join(f"2020-01-01 {m // 60:02d}:{m % 60:02d},1\n" for m in (0, 7, 31, 62, 75, 130)),
     {},
     ["irregular", "no frequency"]),
    ("missing period", "ds,y\n" + "".join(f"{d},1\n" for i, d in enumerate(MONTHS) if i != 30), {},
     ["misses 1 period(s)", "first: 1992-07-01", "--fill"]),
    ("empty id cell", two_series().replace("1990-05-01,54,b", "1990-05-01,54,"), {"id_column": "id"},
     ["column 'id', row 11", "empty cell"]),
    ("unknown fill", monthly(), {"fill": "guess"}, ["fill: expected one of", "'guess'"]),
    ("directory", "DIR", {}, ["expected a CSV file, got a directory"]),
]


@pytest.mark.parametrize("name, text, kwargs, fragments", CASES, ids=[c[0] for c in CASES])
def test_bad_csv_is_a_clear_error(tmp_path, name, text, kwargs, fragments):
    path = tmp_path / "data.csv"
    if text == "DIR":
        path.mkdir()
    elif isinstance(text, bytes):
        path.write_bytes(text)
    elif text is not None:
        path.write_text(text)
    kwargs = {"target": "y", "time": "ds", **kwargs}
    with pytest.raises(ValueError) as caught:
        load_csv(path, **kwargs)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, (name, message)
    if not fragments[0].startswith(("target", "time", "id", "fill")):      # errors of an argument, not the file
        assert str(path) in message or path.name in message


def test_a_gigabyte_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:                                          # sparse: costs no disk
        handle.write(b"ds,y\n")
        handle.truncate(2**30)
    with pytest.raises(SeriesInputError, match=r"1\.00 GiB; gatelab forecast reads at most 256 MiB"):
        load_csv(path, "y", "ds")


@pytest.mark.parametrize("horizon, origins, season, fragment", [
    (0, 3, 12, "horizon: expected a positive int, got 0"),
    (-4, 3, 12, "horizon: expected a positive int, got -4"),
    (12, 0, 12, "origins: expected a positive int, got 0"),
    (24, 3, 12, "has 60 observations; 3 forecast origin(s) of horizon 24 need at least 80"),
    (6, 2, 50, "season_length: expected at most 48"),
])
def test_lengths_horizon_and_season_are_checked(tmp_path, horizon, origins, season, fragment):
    path = tmp_path / "data.csv"
    path.write_text(monthly())
    data = load_csv(path, "y", "ds", season_length=season)
    with pytest.raises(SeriesInputError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        check_lengths(data, horizon, origins)


@pytest.mark.parametrize("how, expected", [("interpolate", 2.5), ("ffill", 2.0), ("zero", 0.0)])
def test_gaps_are_filled_only_when_asked_and_reported(tmp_path, how, expected):
    values = ["1"] * 20 + ["2", "", "3"] + ["3"] * 37
    path = tmp_path / "data.csv"
    path.write_text(monthly(values))
    data = load_csv(path, "y", "ds", fill=how)
    assert data.series[0].values[21] == expected and data.series[0].filled == 1
    assert any("1 missing value(s) filled" in note for note in data.notes)
    gappy = tmp_path / "gappy.csv"
    gappy.write_text("ds,y\n" + "".join(f"{d},{i}\n" for i, d in enumerate(MONTHS) if i not in (30, 31)))
    data = load_csv(gappy, "y", "ds", fill=how)
    assert len(data.series[0]) == 60 and data.series[0].stamps[30] == "1992-07-01"
    assert any("2 missing period(s) at frequency MS filled" in note for note in data.notes)


def test_long_format_unsorted_rows_and_a_constant_series(tmp_path):
    lines = two_series().splitlines()
    path = tmp_path / "data.csv"
    path.write_text("\n".join([lines[0], *reversed(lines[1:])]) + "\n")
    data = load_csv(path, "y", "ds", "id")
    assert [s.id for s in data.series] == ["b", "a"] and data.season_length == 12
    assert np.array_equal(data.series[1].values, np.arange(100, 160, dtype=float))
    assert any("not in time order; sorted" in note for note in data.notes)
    flat = tmp_path / "flat.csv"
    flat.write_text(monthly(["7"] * 60))
    assert any("is constant" in note for note in load_csv(flat, "y", "ds").notes)


def test_the_cli_exits_2_without_a_traceback(tmp_path, capsys):
    path = tmp_path / "data.csv"
    path.write_text(monthly())
    cases = [(["forecast"], "exactly one"),
             (["forecast", str(path)], "--target: expected the name"),
             (["forecast", str(path), "--dataset", "nile"], "got both"),
             (["forecast", "--dataset", "airpasengers"], "did you mean 'airpassengers'"),
             (["forecast", str(path), "--target", "y", "--time", "ds", "--horizon", "0"], "--horizon"),
             (["forecast", str(path), "--target", "y", "--time", "ds", "--season-length", "0"], "--season-length"),
             (["forecast", str(path), "--target", "y", "--time", "ds", "--models", "grux"], "did you mean 'gru'"),
             (["forecast", str(tmp_path / "nope.csv"), "--target", "y"], "no such file"),
             (["forecast", "--dataset", "nile", "--workers", "0"], "--workers: expected a positive int, got 0"),
             (["forecast", "--dataset", "nile", "--learning-rates", "0.01", "-1"],
              "--learning-rates: expected positive numbers, got -1"),
             (["forecast", "--dataset", "nile", "--hidden-sizes", "0"], "--hidden-sizes: expected positive numbers")]
    for argv, fragment in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert fragment in err and "Traceback" not in err, (argv, err)
    result = subprocess.run([sys.executable, "-m", "gatelab.cli", "forecast", str(path), "--target", "price"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "--target (a column of" in result.stderr
    assert "Traceback" not in result.stderr
