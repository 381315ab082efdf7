"""Device choice, seeding and notebook set-up (introduced in notebook 00).

The course runs on a laptop CPU; on a machine with CUDA or Apple's MPS the same code runs
there instead, faster, with the same claims.
"""

from __future__ import annotations

import logging
import os
import random
import warnings

import numpy as np
import torch


def get_device(prefer: str | None = None) -> torch.device:
    """The device to train on: ``prefer`` if given, else CUDA, then MPS, then the CPU."""
    if prefer is not None:
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a fresh ``torch.Generator`` seeded the same way.

    Helpers never rely on global random state: they take a ``seed`` and build their own
    generator. This function is for the learner's own code in a notebook.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


FIGURE_IMAGES_ENV = "COURSE_FIGURE_IMAGES"  # "1": plotly figures also carry a PNG (tools/nb.py run)


def in_colab() -> bool:
    """True inside Google Colab."""
    import sys

    return "google.colab" in sys.modules


def setup_notebook(seed: int = 0) -> torch.device:
    """Set up a notebook: plotly renderer, quiet known-harmless warnings, seed; return the device.

    - plotly: ``plotly_mimetype`` (small JSON that JupyterLab renders offline), or ``colab``
      on Colab. The default notebook renderer would embed 4 MB of plotly.js in each notebook.
      With ``COURSE_FIGURE_IMAGES=1`` (set by ``tools/nb.py run`` when it builds the committed
      notebooks) each figure also carries a PNG (kaleido + Chrome), so GitHub, nbviewer and
      nbconvert show it; learners and CI need neither.
    - warnings: TransformerLens and friends emit deprecation warnings from their own internals,
      which are noise to a learner and would be stored in the notebook's outputs.
    """
    import plotly.io as pio

    images = os.environ.get(FIGURE_IMAGES_ENV, "") not in ("", "0")
    pio.renderers.default = "colab" if in_colab() else "plotly_mimetype+png" if images else "plotly_mimetype"
    if images:  # under load the Chrome behind kaleido sends a message its reader cannot parse; it logs a
        # traceback ("JSONError decoding message. Ignoring") and carries on, and the traceback would be
        # stored in the notebook as stderr (nbval and tools/nb.py check reject that)
        logging.getLogger("choreographer").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message=".*TypedStorage is deprecated.*")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    seed_everything(seed)
    return get_device()
