"""Bad input gets a clear error naming the argument, what was expected and what was given."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_sequence

import gatelab

X = torch.randn(5, 2, 3)   # (T, B, I) for GRU(3, 4)


def gru(**kw):
    return gatelab.GRU(3, 4, **kw)


CASES = {
    # name: (callable, exception type, regex the message must match: argument, expectation and given value)
    "wrong input size": (lambda: gru()(torch.randn(5, 2, 7)), ValueError,
                         r"input: expected last dimension of size input_size=3, got shape \(5, 2, 7\)"),
    "wrong rank": (lambda: gru()(torch.randn(5, 2, 3, 1)), ValueError,
                   r"input: expected a 3-D tensor \(batched\) or a 2-D one \(unbatched\), got a 4-D tensor"),
    "input not a tensor": (lambda: gru()([[1.0, 2.0, 3.0]]), TypeError,
                           r"input: expected a Tensor or a PackedSequence, got list"),
    "h0 wrong shape": (lambda: gru()(X, torch.zeros(1, 2, 5)), ValueError,
                       r"h0: expected shape \(1, 2, 4\) = .*got \(1, 2, 5\)"),
    "h0 wrong batch": (lambda: gru()(X, torch.zeros(1, 3, 4)), ValueError,
                       r"h0: expected shape \(1, 2, 4\).*got \(1, 3, 4\)"),
    "h0 wrong layers": (lambda: gru(num_layers=2)(X, torch.zeros(1, 2, 4)), ValueError,
                        r"h0: expected shape \(2, 2, 4\).*got \(1, 2, 4\)"),
    "dtype mismatch": (lambda: gru()(X.double()), TypeError,
                       r"input: expected dtype torch.float32 .*got torch.float64"),
    "h0 dtype mismatch": (lambda: gru()(X, torch.zeros(1, 2, 4, dtype=torch.float64)), TypeError,
                          r"h0: expected dtype torch.float32 .*got torch.float64"),
    "unknown variant": (lambda: gru(variant="gru_no_rest"), ValueError,
                        r"variant: expected one of \[.*\], got 'gru_no_rest' \(did you mean 'gru_no_reset'"),
    "lstm as a GRU": (lambda: gru(variant="lstm"), ValueError,
                      r"variant: expected a variant of the GRU family, got 'lstm' \(use gatelab.LSTM"),
    "unknown gate activation": (lambda: gru(gate_activation="sigmod"), ValueError,
                                r"gate_activation: expected one of \['sigmoid', 'hard_sigmoid'\], got 'sigmod' "
                                r"\(did you mean 'sigmoid'"),
    "unknown candidate activation": (lambda: gru(candidate_activation="tahn"), ValueError,
                                     r"candidate_activation: expected one of .*got 'tahn' \(did you mean 'tanh'"),
    "unknown reset": (lambda: gru(reset="middle"), ValueError,
                      r"reset: expected one of \['before', 'after'\], got 'middle'"),
    "unknown backend": (lambda: gru(backend="cuda"), ValueError, r"backend: expected one of \['auto', .*got 'cuda'"),
    "dropout out of range": (lambda: gru(num_layers=2, dropout=1.5), ValueError,
                             r"dropout: expected a number in \[0, 1\], got 1.5"),
    "zero hidden size": (lambda: gatelab.GRU(3, 0), ValueError, r"hidden_size: expected a positive int, got 0"),
    "negative input size": (lambda: gatelab.GRU(-1, 4), ValueError, r"input_size: expected a positive int, got -1"),
    "float num_layers": (lambda: gatelab.GRU(3, 4, 1.5), TypeError, r"num_layers: expected a positive int, got 1.5"),
    "empty time dimension": (lambda: gru()(torch.randn(0, 2, 3)), ValueError,
                             r"input: expected at least one time step, got shape \(0, 2, 3\)"),
    "lengths longer than T": (lambda: gru()(X, lengths=[5, 6]), ValueError,
                              r"lengths: expected values in \[1, T=5\], got \[5, 6\]"),
    "lengths of zero": (lambda: gru()(X, lengths=[0, 3]), ValueError,
                        r"lengths: expected values in \[1, T=5\], got \[0, 3\]"),
    "lengths count": (lambda: gru()(X, lengths=[5, 4, 3]), ValueError,
                      r"lengths: expected shape \(2,\), one length per row of the batch, got \(3,\)"),
    "NaN in lengths": (lambda: gru()(X, lengths=torch.tensor([float("nan"), 3.0])), TypeError,
                       r"lengths: expected an integer tensor, got dtype torch.float32 containing NaN"),
    "float lengths list": (lambda: gru()(X, lengths=[2.5, 3]), TypeError,
                           r"lengths: expected integers, got \[2.5, 3\]"),
    "lengths with packed input": (lambda: gru()(pack_sequence([torch.randn(2, 3)]), lengths=[2]), ValueError,
                                  r"lengths: expected None when input is a PackedSequence"),
    "lstm state not a pair": (lambda: gatelab.LSTM(3, 4)(X, torch.zeros(1, 2, 4)), TypeError,
                              r"h0: expected a pair \(h0, c0\), got Tensor"),
    "seed_params layer out of range": (lambda: gru().seed_params(layer=1), ValueError,
                                       r"layer: expected an int in \[0, 0\], got 1"),
    "cell input size": (lambda: gatelab.GRUCell(3, 4)(torch.randn(2, 5)), ValueError,
                        r"input: expected a tensor of shape \(B, 3\) or \(3,\), got \(2, 5\)"),
    "cell hx shape": (lambda: gatelab.GRUCell(3, 4)(torch.randn(2, 3), torch.zeros(3, 4)), ValueError,
                      r"h0: expected shape \(2, 4\).*got \(3, 4\)"),
    "from_torch of a non-GRU": (lambda: gatelab.GRU.from_torch(torch.nn.LSTM(3, 4)), TypeError,
                                r"module: expected a torch.nn.GRU, got LSTM"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_input_is_named(case):
    action, kind, message = CASES[case]
    with pytest.raises(kind, match=message):
        action()


def test_there_are_at_least_sixteen_cases():
    assert len(CASES) >= 16
