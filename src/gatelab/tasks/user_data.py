"""A user's own sequences as a task of the lab: loading (NumPy ``.npz``, long-format CSV/Parquet, the UEA ``.ts``
format), checking, splitting, standardising, and a non-recurrent reference to beat.

Everything a user can get wrong is an :class:`DataInputError` naming the file, the column and the row (the CLI exits
2 and writes nothing). A loaded set is normalised into one ``.npz`` (:func:`save_normalised`) whose content hash
names it, so a study keys its runs by the data's content, not its path.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._errors import InputError, unknown_name

MAX_BYTES = 512 * 2**20                 # a larger file is refused before it is read
MAX_LENGTH = 10_000                     # longest sequence accepted (steps)
MIN_PER_SPLIT = 2                       # sequences each split needs at the least (per class, for classification)
SPLIT_FRACTIONS = (0.7, 0.15, 0.15)
SPLIT_NAMES = ("train", "valid", "test")
KINDS = ("auto", "classification", "regression")


class DataInputError(InputError):
    """A user's data file that gatelab cannot use; the message names the file, the column and the row."""


def _fail(where: str, message: str) -> DataInputError:
    return DataInputError(f"{where}: {message}", "data")


@dataclass(frozen=True)
class SequenceData:
    """Sequences ``x[i]`` (T_i, I) float64, one label or value ``y[i]`` each, optionally the user's split (one of
    train/valid/test per sequence), and the label names for classification."""

    name: str
    x: tuple[np.ndarray, ...]
    y: np.ndarray
    kind: str                                   # "classification" | "regression"
    classes: tuple[str, ...] = ()
    split: tuple[str, ...] | None = None

    @property
    def input_size(self) -> int:
        return int(self.x[0].shape[1])

    @property
    def lengths(self) -> np.ndarray:
        return np.array([len(s) for s in self.x])

    def digest(self) -> str:
        """A hash of the content (sequences, labels, split): the same data under another path hashes the same."""
        h = hashlib.sha256()
        for s in self.x:
            h.update(np.ascontiguousarray(s, dtype=np.float64).tobytes())
            h.update(b"|")
        h.update(np.ascontiguousarray(self.y).tobytes())
        h.update(repr((self.kind, self.classes, self.split)).encode())
        return h.hexdigest()[:16]


# ---- loading ------------------------------------------------------------------------------------------------
def load_data(path: str | Path, target: str | None = None, id_column: str | None = None,
              time_column: str | None = None, split_column: str | None = None, kind: str = "auto") -> SequenceData:
    """Read and check a user's sequences (see the module docstring for the formats)."""
    path = Path(path)
    where = str(path)
    if kind not in KINDS:
        raise unknown_name("task", kind, KINDS)
    if not path.exists():
        raise _fail(where, "no such file")
    if path.is_dir():
        raise _fail(where, "expected a data file, got a directory")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise _fail(where, f"the file is {size / 2**20:.0f} MiB; gatelab reads at most {MAX_BYTES // 2**20} MiB "
                           "(refused before reading)")
    if path.suffix == ".npz":
        x, y, split = _read_npz(path, where)
    elif path.suffix in (".csv", ".parquet"):
        x, y, split = _read_long(path, where, target, id_column, time_column, split_column)
    elif path.suffix == ".ts":
        (x, y), split = _read_ts(path, where), None
    else:
        raise _fail(where, f"expected a .npz, .csv, .parquet or .ts file, got {path.suffix or 'no extension'!r}")
    return check(where, path.stem, x, y, split, kind)


def _read_npz(path: Path, where: str):
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as error:  # noqa: BLE001 — any unreadable file is the same user error
        raise _fail(where, f"not a readable .npz file ({type(error).__name__})") from None
    for key in ("x", "y"):
        if key not in data.files:
            raise _fail(where, f"expected arrays 'x' and 'y', got {sorted(data.files)} (missing {key!r})")
    try:
        x, y = data["x"], data["y"]
    except ValueError:                       # an object array: ragged sequences must come as x + lengths
        raise _fail(where, "expected numeric arrays; ragged sequences go as one concatenated 'x' (ΣT, I) with "
                           "'lengths' (N,)") from None
    if "lengths" in data.files:
        lengths = data["lengths"]
        if x.ndim != 2:
            raise _fail(where, f"array 'x': expected (ΣT, I) with 'lengths', got shape {x.shape}")
        if lengths.ndim != 1 or not np.issubdtype(lengths.dtype, np.integer) or (lengths < 1).any():
            raise _fail(where, "array 'lengths': expected positive integers, one per sequence")
        if int(lengths.sum()) != len(x):
            raise _fail(where, f"array 'lengths': expected them to add up to x's {len(x)} rows, got "
                               f"{int(lengths.sum())}")
        cuts = np.cumsum(lengths)[:-1]
        sequences = tuple(np.split(x, cuts))
    elif x.ndim == 3:
        sequences = tuple(x)
    else:
        raise _fail(where, f"array 'x': expected (N, T, I), or (ΣT, I) with 'lengths', got shape {x.shape}")
    split = tuple(str(s) for s in data["split"]) if "split" in data.files else None
    return sequences, y, split


def _read_long(path: Path, where: str, target, id_column, time_column, split_column):
    import pandas as pd

    try:
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise _fail(where, "no columns: the file holds no header") from None
    except Exception as error:  # noqa: BLE001 — any unreadable file is the same user error
        raise _fail(where, f"not a well-formed {path.suffix[1:]} file: {str(error).strip()[:200]}") from None
    columns = [str(c) for c in frame.columns]
    if target is None:
        raise _fail(where, f"target: expected the label column (--target), one of {columns}")
    if id_column is None:
        raise _fail(where, f"id: expected the sequence-id column (--id), one of {columns}")
    for flag, name in (("target", target), ("id", id_column), ("time", time_column), ("split", split_column)):
        if name is not None and name not in columns:
            raise DataInputError(str(unknown_name(f"{flag} (a column of {where})", name, columns)), flag)
    features = [c for c in columns if c not in {target, id_column, time_column, split_column}]
    if not features:
        raise _fail(where, "expected at least one feature column besides the id, time, label and split columns")
    line = frame.index.to_numpy() + 2                                   # file line of each row (header is 1)
    if frame[id_column].isna().any():
        row = int(np.flatnonzero(frame[id_column].isna().to_numpy())[0])
        raise _fail(where, f"column {id_column!r}, row {line[row]}: expected a sequence id, got an empty cell")
    numeric = frame[features].apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna().to_numpy() & ~frame[features].isna().to_numpy()
    if bad.any():
        row, col = (int(v[0]) for v in np.nonzero(bad))
        raise _fail(where, f"column {features[col]!r}, row {line[row]}: expected a number, got "
                           f"{frame[features].iloc[row, col]!r}")
    if time_column is not None:
        frame = frame.assign(_line=line).sort_values([id_column, time_column], kind="stable")
        line = frame["_line"].to_numpy()
        numeric = numeric.loc[frame.index]
    sequences, labels, split = [], [], []
    for key, rows in frame.groupby(id_column, sort=False).indices.items():
        block = frame.iloc[rows]
        values = block[target]
        if values.isna().any():
            row = rows[int(np.flatnonzero(values.isna().to_numpy())[0])]
            raise _fail(where, f"column {target!r}, row {line[row]}: sequence {key!r} has no label there")
        if values.nunique() != 1:
            raise _fail(where, f"column {target!r}: sequence {key!r} has {values.nunique()} different labels "
                               f"({sorted(map(str, values.unique()))[:4]}); expected one per sequence")
        labels.append(values.iloc[0])
        sequences.append(numeric.iloc[rows].to_numpy(dtype=np.float64))
        if split_column is not None:
            split.append(str(block[split_column].iloc[0]))
    return tuple(sequences), np.array(labels), (tuple(split) if split_column is not None else None)


def _read_ts(path: Path, where: str):
    """The UEA/UCR ``.ts`` format: ``@``-headers, then one case per line, dimensions separated by ``:`` and the
    class label last (missing values ``?`` are refused)."""
    sequences, labels = [], []
    in_data = False
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        if text.lower().startswith("@data"):
            in_data = True
            continue
        if text.startswith("@") or not in_data:
            continue
        *dims, label = text.split(":")
        try:
            columns = [np.array([float(v) for v in d.split(",")]) for d in dims]
        except ValueError:
            raise _fail(where, f"row {number}: expected numbers separated by ',' and ':'") from None
        if len({len(c) for c in columns}) != 1:
            raise _fail(where, f"row {number}: the dimensions of one case have different lengths")
        sequences.append(np.stack(columns, axis=1))
        labels.append(label)
    return tuple(sequences), np.array(labels)


# ---- checking ---------------------------------------------------------------------------------------------------
def check(where: str, name: str, x: tuple[np.ndarray, ...], y: np.ndarray, split: tuple[str, ...] | None,
          kind: str = "auto") -> SequenceData:
    """Every check a user's sequences must pass, each failure named by file, column and row (here: sequence)."""
    if len(x) == 0:
        raise _fail(where, "no sequences")
    if len(y) != len(x):
        raise _fail(where, f"expected one label per sequence, got {len(y)} labels for {len(x)} sequences")
    features = {s.shape[1] if s.ndim == 2 else -1 for s in x}
    if len(features) != 1 or -1 in features:
        counts = sorted(f for f in features if f >= 0)
        first = next(i for i, s in enumerate(x) if s.ndim != 2 or s.shape[1] != x[0].shape[1])
        raise _fail(where, f"sequence {first}: expected the same number of features in every sequence, got "
                           f"{counts}")
    for i, s in enumerate(x):
        if len(s) == 0:
            raise _fail(where, f"sequence {i}: expected at least one step, got none")
        if len(s) > MAX_LENGTH:
            raise _fail(where, f"sequence {i}: {len(s)} steps, over the limit of {MAX_LENGTH}")
        if not np.issubdtype(s.dtype, np.number):
            raise _fail(where, f"sequence {i}: expected numbers, got {s.dtype}")
        bad = ~np.isfinite(s.astype(np.float64))
        if bad.any():
            t, f = (int(v[0]) for v in np.nonzero(bad))
            raise _fail(where, f"sequence {i}, step {t}, feature {f}: expected a finite number, got {s[t, f]}")
    labels = np.asarray(y)
    missing = _missing(labels)
    if missing.any():
        raise _fail(where, f"sequence {int(np.flatnonzero(missing)[0])}: expected a label, got none")
    if kind == "auto":
        kind = "classification" if labels.dtype.kind in "OUSbi" else "regression"
    classes: tuple[str, ...] = ()
    if kind == "classification":
        names = [str(v) for v in labels.tolist()]                   # plain str: the digest must not see numpy's
        classes = tuple(sorted(set(names), key=_natural))
        if len(classes) < 2:
            raise _fail(where, f"expected at least two classes, got one ({classes[0]!r})")
        index = {c: i for i, c in enumerate(classes)}
        labels = np.array([index[v] for v in names], dtype=np.int64)
    else:
        try:
            labels = labels.astype(np.float64)
        except ValueError:
            raise _fail(where, "task: expected numeric targets for regression") from None
    if split is not None:
        unknown = sorted(set(split) - set(SPLIT_NAMES))
        if unknown:
            raise _fail(where, f"split: expected only {list(SPLIT_NAMES)}, got {unknown[:3]}")
        for part in SPLIT_NAMES:
            if split.count(part) < MIN_PER_SPLIT:
                raise _fail(where, f"split: {part!r} holds {split.count(part)} sequences; expected at least "
                                   f"{MIN_PER_SPLIT}")
    else:
        need = MIN_PER_SPLIT * 7                               # 15% of it still holds MIN_PER_SPLIT
        smallest = (min(np.bincount(labels)), "the smallest class") if kind == "classification" \
            else (len(labels), "the data")
        if smallest[0] < need:
            raise _fail(where, f"{smallest[1]} holds {smallest[0]} sequences; a 70/15/15 split needs at least {need} "
                               "(or give your own split column)")
    sequences = tuple(np.asarray(s, dtype=np.float64) for s in x)
    return SequenceData(name, sequences, labels, kind, classes, split)


def _missing(labels: np.ndarray) -> np.ndarray:
    if labels.dtype.kind == "f":
        return np.isnan(labels)
    return np.array([v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() == ""
                     for v in labels.tolist()])


def _natural(label: str):
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


# ---- the normalised copy a study keeps -----------------------------------------------------------------------
def save_normalised(data: SequenceData, folder: Path) -> Path:
    """Write ``data`` as ``data-<digest>.npz`` in ``folder`` (concatenated x, lengths, y, kind, classes, split)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"data-{data.digest()}.npz"
    np.savez(path, x=np.concatenate(data.x), lengths=data.lengths, y=data.y, kind=np.array(data.kind),
             classes=np.array(data.classes, dtype=str), name=np.array(data.name),
             split=np.array(data.split if data.split is not None else (), dtype=str))
    return path


def load_normalised(path: str | Path) -> SequenceData:
    data = np.load(path, allow_pickle=False)
    x = tuple(np.split(data["x"], np.cumsum(data["lengths"])[:-1]))
    split = tuple(str(s) for s in data["split"]) or None
    return SequenceData(str(data["name"]), x, data["y"], str(data["kind"]), tuple(str(c) for c in data["classes"]),
                        split)


def bundled_sets() -> dict[str, str]:
    """UEA sets that ship inside sktime (the ``uea`` extra), by name → the folder of their .ts files."""
    import importlib.util

    spec = importlib.util.find_spec("sktime")
    if spec is None or not spec.submodule_search_locations:
        return {}
    root = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data"
    return {name: str(root / name) for name in ("JapaneseVowels", "PLAID", "BasicMotions")
            if (root / name / f"{name}_TRAIN.ts").exists()}


def load_bundled(name: str) -> SequenceData:
    """A bundled UEA set through the same checks as a user's file; its published train/test split is kept (the
    validation sequences are taken, stratified, from its train part)."""
    sets = bundled_sets()
    if name not in sets:
        if not sets:
            raise InputError(f"dataset: expected the uea extra to be installed for {name!r}, got no sktime "
                             "(pip install 'gatelab[uea]')", "dataset")
        raise unknown_name("dataset", name, sets)
    folder = Path(sets[name])
    (x_train, y_train), (x_test, y_test) = (_read_ts(folder / f"{name}_{part}.ts", str(folder / f"{name}_{part}.ts"))
                                            for part in ("TRAIN", "TEST"))
    from sklearn.model_selection import train_test_split

    _, held = train_test_split(np.arange(len(y_train)), test_size=SPLIT_FRACTIONS[1], random_state=0,
                               stratify=y_train)                     # the validation part, stratified
    valid = set(held.tolist())
    split = tuple("valid" if i in valid else "train" for i in range(len(y_train))) + ("test",) * len(y_test)
    return check(str(folder), name, x_train + x_test, np.concatenate([y_train, y_test]), split, "classification")
