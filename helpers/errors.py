"""The course's error types, and how a command line reports them.

Each message says what went wrong and how to fix it. A command (``python -m helpers.train ...``,
``python -m helpers.checkpoints`` ...) prints a user error as ONE line, ``error: ...``, and exits
with status 2; ``--debug`` or ``COURSE_DEBUG=1`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import NoReturn


class CourseError(Exception):
    """Base class for errors that the course raises on bad input."""


class ConfigError(CourseError, ValueError):
    """A config field is invalid. The message names the field and a valid choice."""


class ShapeError(CourseError, ValueError):
    """A tensor has the wrong shape. The message gives the expected and actual shapes."""


class MissingDataError(CourseError, FileNotFoundError):
    """A corpus, tokenizer or checkpoint is missing. The message gives the command that makes it."""


class CheckpointError(CourseError, ValueError):
    """A checkpoint does not match its card (or has none). The message says how to remake it."""


class OutputExistsError(CourseError, FileExistsError):
    """A run or checkpoint would overwrite an existing one. The message names --force (and --resume)."""


class DivergedError(CourseError, FloatingPointError):
    """Training produced a NaN or infinite loss. The message names the step and a smaller learning rate."""


class UsageError(CourseError, ValueError):
    """A command-line flag is malformed (argparse's own errors, made one line)."""


# --- command lines ---------------------------------------------------------------------------


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a malformed flag raises ``UsageError`` (one line) instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help).")


def debug_requested(argv: Sequence[str]) -> bool:
    """``--debug`` on the command line or ``COURSE_DEBUG`` set (not 0): show tracebacks."""
    return "--debug" in argv or os.environ.get("COURSE_DEBUG", "0") not in ("", "0")


def run_cli(main: Callable[[list[str]], int], argv: Sequence[str] | None) -> int:
    """Run ``main(argv)``; print a ``CourseError`` as one line on stderr and return 2.

    Ctrl-C returns 130 (the shell's convention) with one line; the trainer that was interrupted
    has already said what it saved.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = debug_requested(args)
    try:
        return int(main(args) or 0)
    except CourseError as e:
        if debug:
            raise
        print(f"error: {one_line(str(e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if debug:
            raise
        print("interrupted (Ctrl-C).", file=sys.stderr)
        return 130
    except SystemExit as e:  # --help, --version
        return e.code if isinstance(e.code, int) else 0


def one_line(message: str) -> str:
    """A message on one line (newlines and runs of spaces become single spaces)."""
    return re.sub(r"\s+", " ", message).strip()


def with_flags(message: str, flags: Mapping[str, str]) -> str:
    """Rewrite config field names (``n_steps``) as the flags a user typed (``--steps``).

    Only whole words are replaced, so ``n_steps`` does not touch ``warmup_steps``.
    """
    names = sorted(flags, key=len, reverse=True)
    if not names:
        return message
    pattern = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, names)) + r")(?![\w])")
    return pattern.sub(lambda m: flags[m.group(1)], message)
