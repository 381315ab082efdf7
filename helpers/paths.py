"""Where the course keeps the files it makes (tokenizers, checkpoints).

The ``data/`` folder of the course repository, found beside the ``helpers`` package (a local
clone or an editable install), or wherever ``COURSE_DATA`` points (set by the Colab setup cell).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from helpers.errors import ConfigError, MissingDataError


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


def writable_dir(folder: str | Path, flag: str = "--out") -> Path:
    """``folder``, created if needed and checked writable NOW (before a long run, not after it).

    ``flag`` is the command-line flag that named the folder, for the message.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{flag} {folder} is a file, not a folder. Fix: choose a folder for {flag}.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as e:
        raise ConfigError(
            f"{flag} {folder} is not writable ({e.strerror or e}). Fix: choose a folder you can write to for {flag}."
        ) from e
    return folder


def writable_file(path: str | Path, flag: str) -> Path:
    """A file path whose folder exists and is writable (the file itself may exist: it is appended to)."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{flag} {path} is a folder. Fix: give {flag} a file name, e.g. {path / 'results.jsonl'}.")
    if not path.parent.is_dir():
        raise ConfigError(f"{flag} {path}: the folder {path.parent} does not exist. Fix: create it or fix the path.")
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError(f"{flag} {path} is not writable. Fix: choose another file for {flag}.")
    writable_dir(path.parent, flag)
    return path


def package_file(package: str, relative: str, pip: str) -> Path:
    """A data file inside an installed package, found without importing the package (notebook 05's data)."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise MissingDataError(
            f"The data package {package!r} is missing. Install it with:\n    {pip}\n"
            "(it is in requirements-data.txt; `make setup` installs it)."
        )
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    if not path.exists():
        raise MissingDataError(f"{path} is missing; reinstall the data package with:\n    {pip}")
    return path
