"""from_keras against Keras 3's GRU (KERAS_BACKEND=torch), both reset placements; Keras is test-only."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from support import assert_close

import gatelab

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
pytestmark = pytest.mark.keras


def keras_gru(units: int, **options):
    layer = keras.layers.GRU(units, return_sequences=True, return_state=True, **options)
    return layer


@pytest.mark.parametrize("use_bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("reset_after", [True, False], ids=["reset_after", "reset_before"])
@pytest.mark.parametrize("recurrent_activation", ["sigmoid", "hard_sigmoid"])
def test_from_keras_matches_keras(reset_after, use_bias, recurrent_activation):
    keras.utils.set_random_seed(0)
    layer = keras_gru(7, reset_after=reset_after, use_bias=use_bias, recurrent_activation=recurrent_activation,
                      bias_initializer="random_normal")
    x = np.random.default_rng(0).normal(size=(4, 13, 3)).astype("float32")
    out_k, h_k = layer(x)
    ours = gatelab.GRU.from_keras(layer)
    assert ours.options.reset == ("after" if reset_after else "before")
    assert ours.batch_first
    out, h_n = ours(torch.from_numpy(x))
    assert_close(out, torch.as_tensor(np.asarray(out_k.detach().cpu())), "output", "keras")
    assert_close(h_n[0], torch.as_tensor(np.asarray(h_k.detach().cpu())), "h_n", "keras")


@pytest.mark.parametrize("reset_after", [True, False], ids=["reset_after", "reset_before"])
def test_to_keras_weights_round_trip(reset_after):
    torch.manual_seed(0)
    ours = gatelab.GRU(3, 5, batch_first=True, reset="after" if reset_after else "before")
    layer = keras_gru(5, reset_after=reset_after)
    x = np.random.default_rng(1).normal(size=(2, 6, 3)).astype("float32")
    layer(x)  # build
    layer.set_weights(ours.to_keras_weights())
    out_k, _ = layer(x)
    assert_close(ours(torch.from_numpy(x))[0], torch.as_tensor(np.asarray(out_k.detach().cpu())), "output", "keras")


def test_from_keras_refuses_go_backwards():
    layer = keras_gru(4, go_backwards=True)
    layer(np.zeros((1, 2, 3), dtype="float32"))
    with pytest.raises(ValueError, match="keras_layer: expected go_backwards=False"):
        gatelab.GRU.from_keras(layer)
