"""The course's exercises: reference solutions and the mistakes each check recognises (notebook 00).

Every exercise in a notebook has an entry here, in the module of its notebook (``nb03`` for
notebook 03). A notebook never shows a reference solution: it asks for the exercise by name,

    induction_score = checks.check_exercise("induction_score", induction_score, inputs)

and the check compares the learner's function with the reference on those inputs. When an
answer is wrong and matches a known mistake (an off-by-one offset, averaging over the wrong
axis, a missing transpose ...), the message names that mistake and how to fix it. A learner
who wants to see the reference asks for it on purpose: ``checks.show_solution("induction_score")``.

Where an exercise asks the learner to write something ``helpers`` already has, the helper *is*
the reference: nothing is written twice.

Each ``nbNN`` module defines ``EXERCISES``, a tuple of ``Exercise``; ``examples`` gives small,
seeded inputs so the unit tests can run every check against its reference (it must pass) and
against every listed mistake (it must fail, naming the mistake).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from helpers.errors import ConfigError

# One module per notebook, found by name (nb00 ... nbNN): adding a notebook's module registers it.
NOTEBOOKS = tuple(sorted(m.name for m in pkgutil.iter_modules(__path__) if re.fullmatch(r"nb\d\d", m.name)))


@dataclass(frozen=True)
class Mistake:
    """A likely wrong answer: what it is, how to fix it, and what a function with it returns."""

    what: str  # e.g. "an off-by-one key offset (key i - period instead of i - period + 1)"
    fix: str  # e.g. "an induction head attends to the token *after* the previous occurrence"
    wrong: Callable[..., Any]  # returns what an answer with this mistake returns


@dataclass(frozen=True)
class Exercise:
    """One exercise: its reference solution, the hint shown on a wrong answer, known mistakes."""

    name: str
    notebook: str  # "03"
    reference: Callable[..., Any]
    hint: str
    mistakes: tuple[Mistake, ...] = ()
    examples: Callable[[], list[tuple[Any, ...]]] | None = None  # small seeded inputs for the unit tests
    atol: float = 1e-4
    rtol: float = 1e-4


def _module(nb: str) -> Any:
    return importlib.import_module(f"helpers.exercises.{nb}")


def all_exercises() -> list[Exercise]:
    """Every exercise of the course, in notebook order."""
    out: list[Exercise] = []
    for nb in NOTEBOOKS:
        try:
            out.extend(_module(nb).EXERCISES)
        except ModuleNotFoundError as e:
            if e.name != f"helpers.exercises.{nb}":
                raise
    return out


def get(name: str) -> Exercise:
    """The exercise called ``name`` (its reference, hint and known mistakes)."""
    for ex in all_exercises():
        if ex.name == name:
            return ex
    raise ConfigError(f"No exercise called {name!r}. Known: {', '.join(e.name for e in all_exercises())}.")
