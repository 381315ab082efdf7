"""Where the course keeps the files it makes (tokenizers, checkpoints).

The ``data/`` folder of the course repository, found beside the ``helpers`` package (a local
clone or an editable install), or wherever ``COURSE_DATA`` points (set by the Colab setup cell).
"""

from __future__ import annotations

import os
from pathlib import Path

from helpers.errors import MissingDataError


def data_dir() -> Path:
    """The course's ``data/`` folder."""
    env = os.environ.get("COURSE_DATA")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent.parent / "data"
    if here.is_dir():
        return here
    raise MissingDataError(
        "Cannot find the course's data/ folder. Run the notebooks from a clone of the course "
        "(pip install -e . in its root), or set COURSE_DATA=/path/to/course/data."
    )


def cache_dir() -> Path:
    """A writable cache for things made on the fly (``COURSE_CACHE``, else ~/.cache/mechinterp-course)."""
    path = Path(os.environ.get("COURSE_CACHE", Path.home() / ".cache" / "mechinterp-course"))
    path.mkdir(parents=True, exist_ok=True)
    return path
