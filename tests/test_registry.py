import pytest

import gatelab
from gatelab.registry import VariantSpec, register

DESIGN_VARIANTS = {"gru", "gru_no_reset", "gru_reset_zero", "gru_no_update", "gru_no_carry", "min_gru", "mgu",
                   "gru_gates_h", "gru_gates_bias", "rnn", "lstm"}


def test_the_design_table_is_registered():
    assert DESIGN_VARIANTS <= set(gatelab.variants())
    assert set(gatelab.variants("gru")) | set(gatelab.variants("lstm")) == set(gatelab.variants())


@pytest.mark.parametrize("name", gatelab.variants())
def test_describe_gives_a_line_and_equations(name):
    text = gatelab.describe(name)
    first, *equations = text.split("\n")
    assert first.startswith(f"{name}: ")
    assert any("h_t" in line for line in equations), text
    assert any("=" in line for line in equations)


def test_a_duplicate_name_is_an_error():
    with pytest.raises(ValueError, match="already registered"):
        register(VariantSpec("gru", "again", "h_t = h_t"))


def test_an_unknown_name_lists_close_matches():
    with pytest.raises(ValueError, match=r"variant: expected one of .*got 'gru_no_rest'.*did you mean 'gru_no_reset'"):
        gatelab.get_variant("gru_no_rest")


def test_declared_capabilities():
    independent = {n for n in gatelab.variants() if gatelab.get_variant(n).h_independent}
    assert independent == {"min_gru"}
    assert gatelab.get_variant("mgu").gates == ("z",)
    assert gatelab.get_variant("gru_no_update").gates == ("r",)
    assert gatelab.get_variant("rnn").gates == ()
