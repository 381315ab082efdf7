"""Tests for helpers.fourier: hand-built waves with known Fourier content."""

import math

import pytest
import torch

from helpers import fourier
from helpers.errors import ConfigError

P = 13


def wave(k: int, x: torch.Tensor) -> torch.Tensor:
    return torch.cos(2 * math.pi * k * x / P)


def test_basis_is_orthonormal_and_named():
    basis, names = fourier.fourier_basis(P)
    assert basis.shape == (P, P)
    assert torch.allclose(basis @ basis.T, torch.eye(P), atol=1e-5)
    assert names[:3] == ["const", "cos 1", "sin 1"] and len(names) == P
    with pytest.raises(ConfigError):
        fourier.fourier_basis(12)


def test_frequency_norms_and_key_frequencies_find_planted_waves():
    x = torch.arange(P, dtype=torch.float32)
    W = torch.stack([3 * wave(4, x), 2 * torch.sin(2 * math.pi * 2 * x / P), 0.1 * wave(5, x)], dim=1)
    norms = fourier.frequency_norms(W)
    assert norms.shape == ((P - 1) // 2,)
    assert norms.argmax().item() + 1 == 4
    assert torch.isclose(norms.sum(), W.pow(2).sum(), rtol=1e-4)  # no constant part: all norm is in waves
    assert fourier.key_frequencies(W, share=0.95) == [4, 2]
    assert fourier.key_frequencies(W, share=0.5) == [4]


def test_neuron_frequency_fractions_of_a_product_wave():
    a = torch.arange(P, dtype=torch.float32)[:, None]
    b = torch.arange(P, dtype=torch.float32)[None, :]
    n0 = wave(3, a) * wave(3, b) + 0.5 * wave(3, a)  # all frequency 3
    n1 = wave(2, a + b)  # all frequency 2 (cos cos - sin sin)
    fr = fourier.neuron_frequency_fractions(torch.stack([n0, n1], dim=-1))
    assert fr.shape == (2, (P - 1) // 2)
    assert fr[0, 2] == pytest.approx(1.0, abs=1e-4) and fr[1, 1] == pytest.approx(1.0, abs=1e-4)
    assert fr[0].sum() == pytest.approx(1.0, abs=1e-4)


def test_restricted_and_excluded_logits_split_a_cos_readout():
    a = torch.arange(P, dtype=torch.float32)[:, None, None]
    b = torch.arange(P, dtype=torch.float32)[None, :, None]
    c = torch.arange(P, dtype=torch.float32)[None, None, :]
    key = 5 * wave(3, a + b - c)
    noise = 0.3 * wave(1, a - 2 * b) * torch.ones(1, 1, P)  # a direction that is not cos(w(a+b))
    logits = key + noise
    r = fourier.restricted_logits(logits, [3])
    e = fourier.excluded_logits(logits, [3])
    assert torch.allclose(r, key + noise.mean(dim=(0, 1), keepdim=True), atol=1e-4)
    assert torch.allclose(e, noise, atol=1e-4)
    # The cos readout alone gets every answer right, so its loss is low; removing it leaves chance or worse.
    assert fourier.grid_loss(10 * key) < 0.01
    assert fourier.grid_loss(e) >= math.log(P) - 0.01
    assert fourier.cos_fit_fraction(logits, [3]) > 0.95
    assert fourier.cos_fit_fraction(noise, [3]) < 0.05


def test_subtraction_uses_a_minus_b_waves():
    a = torch.arange(P, dtype=torch.float32)[:, None, None]
    b = torch.arange(P, dtype=torch.float32)[None, :, None]
    c = torch.arange(P, dtype=torch.float32)[None, None, :]
    logits = 50 * wave(2, a - b - c)
    assert fourier.grid_loss(logits, op="sub") < 0.01
    assert torch.allclose(fourier.restricted_logits(logits, [2], op="sub"), logits, atol=1e-3)
    assert fourier.cos_fit_fraction(logits, [2], op="sub") > 0.99
    pairs = torch.tensor([[0, 1], [5, 3]])
    assert fourier.grid_loss(logits, op="sub", pairs=pairs) < 0.01
    with pytest.raises(ConfigError):
        fourier.restricted_logits(logits, [2], op="mul")
