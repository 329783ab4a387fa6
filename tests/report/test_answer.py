"""The answer section and the verdicts on hand-made stores: the numbers decide the words, in either direction."""

from __future__ import annotations

import math

import pytest

from gatelab.report import write_report
from gatelab.report.claims import WORDS
from gatelab.report.summary import summarise
from gatelab.store import Store
from gatelab.study.record import RunMetrics, RunRecord
from gatelab.study.spec import PrimaryFamily
from gatelab.tasks import TaskFacts

ADDING = TaskFacts("adding", "regression", "mse", False, 0.167, 0.01, "Isolates the carry path.")
PARITY = TaskFacts("parity", "classification", "accuracy", True, 0.5, 0.99, "Isolates a state that flips.")


def run(variant: str, seed: int, facts: TaskFacts, solved: bool, steps: int | None = 100, test: float | None = None,
        budget: int = 1000, parameters: int = 300) -> RunRecord:
    """A finished run as a study stores it: met the criterion at ``steps`` (None: never, censored at ``budget``)."""
    if test is None:
        good, bad = (0.999, 0.6) if facts.higher_is_better else (0.004, 0.15)
        test = good if solved else bad
        test += 1e-4 * seed if facts.higher_is_better else 1e-4 * seed      # distinct values per seed
    return RunRecord(f"{facts.name}-{variant}-{seed}", "hand", variant, facts.name, seed,
                     {"task": {"name": facts.name, "sizes": {}}, "model": {"reset": "before"},
                      "train": {"learning_rate": 0.01}},
                     "ok", facts, RunMetrics(parameters, budget if steps is None else steps,
                                             steps if solved else None, test, test, solved))


def study(specs: dict[tuple[str, str], tuple[int, int | None, int]], seeds: int = 10) -> list[RunRecord]:
    """(task, variant) → (seeds that meet the criterion, their steps, steps of the rest (None: never))."""
    facts = {"adding": ADDING, "parity": PARITY}
    records = []
    for (task, variant), (k, steps, _) in specs.items():
        for seed in range(seeds):
            solved = seed < k
            records.append(run(variant, seed, facts[task], solved, steps if solved else None))
    return records


Z_PRIMARY = (PrimaryFamily("z", ("gru_no_update", "gru_no_carry"), ("adding",)),)


def test_a_clear_z_effect_and_a_null_r_effect():
    records = study({("adding", "gru"): (10, 100, 0), ("adding", "gru_no_update"): (0, None, 0),
                     ("adding", "gru_no_reset"): (10, 100, 0)})
    summary = summarise(records, Z_PRIMARY)["adding"]
    z, r = summary.verdicts["gru_no_update"], summary.verdicts["gru_no_reset"]
    assert (z.kind, z.grade, z.direction) == ("fails", "clear", 1)
    assert "misses the criterion in 10/10 seeds while gru meets it in 10/10" in z.sentence
    assert "Holm-corrected" in z.sentence and "Fisher exact" in z.sentence
    assert summary.comparisons["gru_no_update"].correction == "Holm"
    assert summary.comparisons["gru_no_reset"].correction == "Benjamini–Hochberg"
    assert (r.kind, r.grade) == ("both_solve", "none")
    assert r.sentence.startswith("gru_no_reset and gru both solve adding (every seed")


def test_the_answer_says_the_opposite_when_the_numbers_do(tmp_path):
    effect = study({("adding", "gru"): (10, 100, 0), ("adding", "gru_no_update"): (0, None, 0),
                    ("adding", "gru_no_reset"): (10, 100, 0)})
    opposite = study({("adding", "gru"): (10, 100, 0), ("adding", "gru_no_update"): (10, 100, 0),
                      ("adding", "gru_no_reset"): (0, None, 0)})
    pages = {}
    for name, records in (("effect", effect), ("opposite", opposite)):
        with Store(tmp_path / name / "runs.sqlite") as store:
            for record in records:
                store.write(record.to_dict())
        pages[name] = (write_report(tmp_path / name / "runs.sqlite", tmp_path / name / "report").parent
                       / "report.md").read_text()
    answer = {name: page.split("## The answer, from this study")[1].split("## Statistics")[0]
              for name, page in pages.items()}
    assert "Removing z or the carry: Worse than gru beyond the noise, after correction: gru_no_update on adding" \
        in answer["effect"]
    assert "Removing r: on the 1 task(s) compared (adding), no variant of this group differs" in answer["effect"]
    assert "Removing r: Worse than gru beyond the noise, after correction: gru_no_reset on adding" \
        in answer["opposite"]
    assert "Removing z or the carry: on the 1 task(s) compared (adding), no variant" in answer["opposite"]
    assert "[adding](#adding): fails (10/10 seeds miss the criterion" in answer["effect"]


def test_no_comparison_on_a_task_the_reference_does_not_solve():
    records = study({("adding", "gru"): (7, 100, 0), ("adding", "gru_no_update"): (0, None, 0)})
    part = summarise(records)["adding"]
    v = part.verdicts["gru_no_update"]
    assert (v.kind, v.grade) == ("unsolved", "n/a")
    assert v.sentence == WORDS["unsolved"].format(task="adding", k_ref=7, n_ref=10)
    assert "fails" not in v.sentence
    assert part.comparisons["gru_no_update"].adjusted == (), "not tested, not counted in any correction"


def test_a_ceiling_tie_is_both_solve_it_not_cannot_tell():
    records = study({("parity", "gru"): (10, 200, 0), ("parity", "mgu"): (10, 200, 0)})
    v = summarise(records)["parity"].verdicts["mgu"]
    assert v.kind == "both_solve" and "cannot tell" not in v.sentence


def test_a_variant_that_gets_there_later_is_slower_not_failing():
    records = study({("parity", "gru"): (10, 100, 0)})
    records += [run("lstm", s, PARITY, True, 900 + s) for s in range(10)]
    v = summarise(records)["parity"].verdicts["lstm"]
    assert (v.kind, v.direction) == ("slower", 1) and v.grade == "clear"
    assert "median 904 steps to the criterion against gru's 100" in v.sentence


def test_a_censored_variant_is_not_called_failing_without_evidence():
    """Three seeds: 0/3 against 3/3 is Fisher p = 0.1 — "fails" needs more than that."""
    records = study({("adding", "gru"): (3, 100, 0), ("adding", "gru_no_carry"): (0, None, 0)}, seeds=3)
    v = summarise(records)["adding"].verdicts["gru_no_carry"]
    assert v.kind != "fails" and v.direction == 1 and v.grade in ("suggestive", "clear")
    assert v.kind == "not_reached" and "did not reach the criterion on adding in 3/3 seeds" in v.sentence
    assert "slower" not in v.sentence, "it never got there: not 'slower'"


def test_a_parameter_gap_is_flagged():
    records = study({("parity", "gru"): (10, 100, 0)})
    records += [run("min_gru", s, PARITY, True, 100, parameters=150) for s in range(10)]
    v = summarise(records)["parity"].verdicts["min_gru"]
    assert "parameters 150 against gru's 300 (50% apart: not matched)" in v.sentence


def test_diverged_runs_count_as_not_solved_and_failed_runs_are_left_out():
    records = study({("adding", "gru"): (10, 100, 0)})
    broken = [RunRecord(f"x{s}", "hand", "rnn", "adding", s, records[0].config, "failed") for s in range(4)]
    diverged = [RunRecord(f"d{s}", "hand", "rnn", "adding", s + 4, records[0].config, "diverged", ADDING,
                          RunMetrics(300, 50)) for s in range(6)]
    c = summarise(records + broken + diverged)["adding"].comparisons["rnn"]
    assert (c.success.k, c.success.n) == (0, 6)
    assert math.isnan(c.metric.mean) and c.metric.n == 0


@pytest.mark.parametrize("kind", sorted(WORDS))
def test_every_wording_is_reachable_and_complete(kind):
    """Each template formats with the fields verdict() provides (no stray braces in the words)."""
    fields = dict(task="t", variant="v", k=1, n=2, k_ref=2, n_ref=2, missed=1, metric="mse", value_text="x",
                  steps_text="y", median="3", median_ref="4", evidence="e")
    sentence = WORDS[kind].format(**fields)
    assert "{" not in sentence and sentence.endswith(".")


def test_a_failure_cites_the_witness_that_the_variant_can_represent_the_task():
    records = study({("adding", "gru"): (10, 100, 0), ("adding", "min_gru"): (0, None, 0)})
    v = summarise(records)["adding"].verdicts["min_gru"]
    assert v.kind == "fails"
    assert "It can represent adding (witness: two saturated units" in v.sentence
    assert "so it did not learn it in 10 of 10 seeds" in v.sentence
    other = study({("adding", "gru"): (10, 100, 0), ("adding", "rnn"): (0, None, 0)})
    assert "witness" not in summarise(other)["adding"].verdicts["rnn"].sentence


def test_a_users_data_set_is_compared_even_where_gru_misses_the_baseline():
    """A user's task has no criterion chosen in advance (its criterion is a baseline to beat): compare anyway."""
    data = TaskFacts("data", "classification", "accuracy", True, 0.1, 0.97, "Isolates nothing chosen in advance.",
                     compare_unsolved=True)
    records = [run("gru", s, data, s < 2, 50) for s in range(10)]
    records += [run("gru_no_update", s, data, False, None, test=0.5 + 0.001 * s) for s in range(10)]
    v = summarise(records)["data"].verdicts["gru_no_update"]
    assert v.kind != "unsolved" and v.direction == 1
    battery = summarise([run("gru", s, PARITY, s < 2, 50) for s in range(10)]
                        + [run("gru_no_update", s, PARITY, False, None) for s in range(10)])
    assert battery["parity"].verdicts["gru_no_update"].kind == "unsolved"
