"""A user's own sequences: every bad file refused with file, column and row named (and nothing written), the split,
the standardisation fitted on train only, the reference, content-keyed runs, and the bundled UEA sets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gatelab.cli import main
from gatelab.config import ModelConfig, RunConfig, TaskConfig
from gatelab.tasks.user_data import (
    MAX_LENGTH,
    DataInputError,
    bundled_sets,
    load_bundled,
    load_data,
    save_normalised,
)
from gatelab.tasks.user_task import split_indices


def sequences(n: int = 40, classes: int = 2, seed: int = 0, length=lambda i: 5 + i % 4, features: int = 3):
    rng = np.random.default_rng(seed)
    x = [rng.normal(size=(length(i), features)) for i in range(n)]
    y = np.array([i % classes for i in range(n)])
    return x, y


def npz(tmp_path, name="d.npz", **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def ragged(x):
    return {"x": np.concatenate(x), "lengths": np.array([len(s) for s in x])}


def csv(tmp_path, text, name="d.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def long_csv(n=40):
    rows = ["id,t,f1,f2,label"]
    for i in range(n):
        for t in range(3 + i % 3):
            rows.append(f"s{i},{t},{0.1 * t + i},{-t},{'ab'[i % 2]}")
    return "\n".join(rows) + "\n"


X, Y = sequences()
CASES = {
    "missing file": (lambda p: p / "nope.npz", {}, "nope.npz: no such file"),
    "a directory": (lambda p: p, {}, "expected a data file, got a directory"),
    "unknown extension": (lambda p: csv(p, "x", "d.txt"), {}, "expected a .npz, .csv, .parquet or .ts file"),
    "npz without y": (lambda p: npz(p, x=np.zeros((4, 3, 2))), {}, "expected arrays 'x' and 'y'.*missing 'y'"),
    "npz 2-D without lengths": (lambda p: npz(p, x=np.zeros((4, 3)), y=np.zeros(4)), {},
                                r"array 'x': expected \(N, T, I\), or \(ΣT, I\) with 'lengths'"),
    "npz lengths not adding up": (lambda p: npz(p, x=np.zeros((10, 2)), lengths=np.array([4, 4]), y=np.zeros(2)),
                                  {}, "expected them to add up to x's 10 rows, got 8"),
    "npz object array": (lambda p: _object_npz(p), {}, "ragged sequences go as one concatenated 'x'"),
    "NaN in features": (lambda p: npz(p, **_with(X, Y, nan=(7, 2, 1))), {},
                        "sequence 7, step 2, feature 1: expected a finite number, got nan"),
    "inf in features": (lambda p: npz(p, **_with(X, Y, nan=(3, 0, 0), value=np.inf)), {},
                        "sequence 3, step 0, feature 0: expected a finite number, got inf"),
    "one class only": (lambda p: npz(p, **ragged(X), y=np.zeros(len(X))), {"kind": "classification"},
                       "expected at least two classes, got one"),
    "too few sequences": (lambda p: npz(p, **ragged(X[:9]), y=Y[:9]), {},
                          "the smallest class holds 4 sequences; a 70/15/15 split needs at least 14"),
    "sequence too long": (lambda p: npz(p, **ragged(X[:-1] + [np.zeros((MAX_LENGTH + 1, 3))]), y=Y), {},
                          f"sequence 39: {MAX_LENGTH + 1} steps, over the limit of {MAX_LENGTH}"),
    "labels and sequences differ in number": (lambda p: npz(p, **ragged(X), y=Y[:-1]), {},
                                              "expected one label per sequence, got 39 labels for 40 sequences"),
    "bad split values": (lambda p: npz(p, **ragged(X), y=Y, split=np.array(["train", "tst"] * 20)), {},
                         r"split: expected only \['train', 'valid', 'test'\], got \['tst'\]"),
    "csv without --target": (lambda p: csv(p, long_csv()), {"id_column": "id"},
                             r"target: expected the label column \(--target\)"),
    "csv unknown column": (lambda p: csv(p, long_csv()), {"target": "lable", "id_column": "id"},
                           r"target \(a column of .*d.csv\): expected one of .*did you mean 'label'"),
    "csv non-numeric feature": (lambda p: csv(p, long_csv().replace("s3,1,3.1,", "s3,1,x3,")),
                                {"target": "label", "id_column": "id"},
                                r"column 'f1', row \d+: expected a number, got 'x3'"),
    "csv label missing": (lambda p: csv(p, long_csv().replace("s5,0,5.0,0,b", "s5,0,5.0,0,")),
                          {"target": "label", "id_column": "id"},
                          r"column 'label', row \d+: sequence 's5' has no label"),
    "csv two labels in a sequence": (lambda p: csv(p, long_csv().replace("s5,0,5.0,0,b", "s5,0,5.0,0,a")),
                                     {"target": "label", "id_column": "id"},
                                     "sequence 's5' has 2 different labels"),
    "csv empty": (lambda p: csv(p, ""), {"target": "label", "id_column": "id"}, "no columns"),
}


def _with(x, y, nan, value=np.nan):
    x = [s.copy() for s in x]
    i, t, f = nan
    x[i][t, f] = value
    return {**ragged(x), "y": y}


def _object_npz(path):
    target = path / "d.npz"
    np.savez(target, x=np.array([np.zeros((2, 3)), np.zeros((3, 3))], dtype=object), y=np.zeros(2))
    return target


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_data_is_a_clear_error(tmp_path, case):
    make, kwargs, message = CASES[case]
    path = make(tmp_path)
    with pytest.raises(DataInputError, match=message):
        load_data(path, **kwargs)


def test_the_cli_exits_2_and_writes_nothing(tmp_path, capsys):
    bad = npz(tmp_path, **_with(X, Y, nan=(7, 2, 1)))
    out = tmp_path / "study"
    assert main(["explain", "--data", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "sequence 7, step 2, feature 1" in err and "Traceback" not in err
    assert not out.exists(), "nothing written"
    assert main(["explain", "--target", "label", "--out", str(out)]) == 2
    assert "expected --data FILE" in capsys.readouterr().err


def test_a_file_over_the_size_limit_is_refused_before_reading(tmp_path, monkeypatch):
    import gatelab.tasks.user_data as data

    path = npz(tmp_path, **ragged(X), y=Y)
    monkeypatch.setattr(data, "MAX_BYTES", 100)
    monkeypatch.setattr(np, "load", lambda *a, **k: pytest.fail("read before the size check"))
    with pytest.raises(DataInputError, match="refused before reading"):
        load_data(path)


def test_formats_agree_and_the_split_is_stratified(tmp_path):
    dense = load_data(npz(tmp_path, "dense.npz", x=np.stack([np.zeros((4, 3)) + i for i in range(40)]), y=Y))
    assert dense.lengths.tolist() == [4] * 40 and dense.kind == "classification" and dense.classes == ("0", "1")
    packed = load_data(npz(tmp_path, "ragged.npz", **ragged(X), y=Y))
    assert [s.shape for s in packed.x] == [s.shape for s in X]
    long = load_data(csv(tmp_path, long_csv()), target="label", id_column="id", time_column="t")
    assert long.classes == ("a", "b") and long.input_size == 2
    assert long.lengths[:3].tolist() == [3, 4, 4], "sequences in the order of their ids: s0, s1, s10"
    parts = split_indices(packed, 0)
    assert sorted(np.concatenate(list(parts.values())).tolist()) == list(range(40))
    for name in parts:
        assert set(packed.y[parts[name]]) == {0, 1}, "every class in every split"
    regression = load_data(npz(tmp_path, "reg.npz", **ragged(X), y=np.linspace(0, 1, 40)))
    assert regression.kind == "regression"


def test_standardisation_uses_the_training_split_only(tmp_path):
    """Test sequences shifted by 1000 leave the standardised training data at mean 0, std 1: no leakage."""
    from gatelab.tasks import get_task

    x, y = sequences(n=60, features=2)
    split = np.array(["train"] * 40 + ["valid"] * 10 + ["test"] * 10)
    shifted = [s + (1000.0 if split[i] == "test" else 0.0) for i, s in enumerate(x)]
    data = load_data(npz(tmp_path, **ragged(shifted), y=y, split=split))
    copy = save_normalised(data, tmp_path / "study")
    task = get_task("data", store=str(copy), digest=data.digest())
    train_x, _ = task.batch(10_000, torch.Generator(), "train")
    flat = _flat(train_x)
    assert torch.allclose(flat.mean(0), torch.zeros(2), atol=1e-5)
    assert torch.allclose(flat.std(0, unbiased=False), torch.ones(2), atol=1e-4)
    test_x, _ = task.batch(10_000, torch.Generator(), "test")
    assert float(_flat(test_x).mean()) > 100, "the test split is transformed with train's statistics, not its own"


def test_the_criterion_is_the_references_score_on_each_split(tmp_path):
    """Validation is judged against the bag-of-features reference's validation accuracy, test against its test one."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from gatelab.tasks import get_task
    from gatelab.tasks.user_task import summary_features

    x, y = sequences(n=90, features=2)
    x = [s + 0.8 * label for s, label in zip(x, y)]                      # learnable, not perfectly
    split = np.array((["train"] * 6 + ["valid"] * 2 + ["test"] * 2) * 9)
    data = load_data(npz(tmp_path, **ragged(x), y=y, split=split))
    task = get_task("data", store=str(save_normalised(data, tmp_path / "study")), digest=data.digest())
    parts = {}
    for name in ("train", "valid", "test"):
        xs, labels = task.batch(10_000, torch.Generator(), name)
        sequences_of = [s.numpy().astype(np.float64) for s in _unpacked(xs)]
        parts[name] = (summary_features(sequences_of), labels.numpy())
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(*parts["train"])
    for name in ("valid", "test"):
        assert task.criterion(name) == float((model.predict(parts[name][0]) == parts[name][1]).mean())
    assert task.criterion("test") == task.solved_at


def _unpacked(x):
    from torch.nn.utils.rnn import PackedSequence, unpack_sequence

    return unpack_sequence(x) if isinstance(x, PackedSequence) else list(x)


def _flat(x):
    from torch.nn.utils.rnn import PackedSequence

    return x.data if isinstance(x, PackedSequence) else x.reshape(-1, x.shape[-1])


def test_runs_are_keyed_by_content_not_path(tmp_path):
    data = load_data(npz(tmp_path, **ragged(X), y=Y))
    one, two = save_normalised(data, tmp_path / "a"), save_normalised(data, tmp_path / "b")
    keys = [RunConfig(TaskConfig("data", (("store", str(p)), ("digest", data.digest()))), ModelConfig()).key
            for p in (one, two)]
    assert keys[0] == keys[1]
    changed = load_data(npz(tmp_path, "other.npz", **ragged([s + 1 for s in X]), y=Y))
    assert changed.digest() != data.digest()


@pytest.mark.skipif(not bundled_sets(), reason="the uea extra (sktime) is not installed")
def test_the_bundled_uea_sets_load_through_the_same_checks():
    import importlib.metadata

    vowels = load_bundled("JapaneseVowels")
    assert vowels.input_size == 12 and vowels.classes == tuple(str(i) for i in range(1, 10))
    assert len(vowels.x) == 270 + 370 and vowels.split.count("test") == 370
    assert set(vowels.lengths.tolist()) <= set(range(7, 30)) and len(set(vowels.lengths.tolist())) > 5
    plaid = load_bundled("PLAID")
    assert plaid.input_size == 1 and len(set(plaid.lengths.tolist())) > 10, "variable lengths"
    assert importlib.metadata.version("sktime")


@pytest.mark.slow
@pytest.mark.skipif(not bundled_sets(), reason="the uea extra (sktime) is not installed")
def test_explain_on_a_bundled_set_runs_the_lab_and_reports_the_reference(tmp_path):
    out = tmp_path / "vowels"
    assert main(["explain", "--data", "uea:JapaneseVowels", "--variants", "gru", "gru_reset_zero", "--seeds", "1",
                 "--workers", "1", "--out", str(out)]) == 0
    page = (out / "report" / "report.md").read_text()
    assert "logistic regression on summary features (accuracy; the criterion)" in page
    assert "Meet the criterion in ≥ 80% of their seeds" in page and "The answer, from this study" in page
