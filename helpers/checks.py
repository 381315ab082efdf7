"""Exercise self-checks and claim assertions (introduced in notebook 00).

Two kinds of check run in the notebooks:

- ``check_exercise`` compares a learner's function with the exercise's reference solution
  (kept out of the notebook, in ``helpers.exercises``) on a few inputs. If the learner has not
  written it yet (it returns ``None``), it says so and the notebook goes on with the reference,
  so *Run All* always works. If the answer is wrong it raises, naming the mistake when it
  recognises it. ``show_solution`` prints a reference, for a learner who asks.
- ``claim`` asserts a headline result of a notebook. CI re-runs every notebook, so if the
  science stops reproducing, CI fails. Claims are inequalities with margins, never numbers
  copied from one run.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Sequence
from typing import Any

import torch

from helpers import exercises


class ExerciseError(AssertionError):
    """A learner's answer disagrees with the reference solution."""


class ClaimError(AssertionError):
    """A notebook's headline claim did not hold."""


def _close(a: Any, b: Any, atol: float, rtol: float) -> bool:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        a_t, b_t = torch.as_tensor(a).float(), torch.as_tensor(b).float()
        return a_t.shape == b_t.shape and torch.allclose(a_t, b_t, atol=atol, rtol=rtol)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b) <= atol + rtol * abs(b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_close(x, y, atol, rtol) for x, y in zip(a, b))
    return a == b


def check_exercise(name: str, attempt: Callable[..., Any], inputs: Sequence[tuple[Any, ...]]) -> Callable[..., Any]:
    """Check the learner's ``attempt`` at exercise ``name`` against its reference on each argument tuple.

    Returns the function the notebook should use from here on: the learner's when it passes,
    the reference when the exercise is not attempted yet (the stub returns ``None``), so *Run
    All* always works. A wrong answer raises ``ExerciseError``: naming the mistake when it
    matches one the exercise knows (``helpers.exercises``), else with the exercise's hint.
    """
    ex = exercises.get(name)
    for args in inputs:
        got, want = attempt(*args), ex.reference(*args)
        if got is None and want is not None:  # the stub: some answers are None (e.g. "never"), a stub's always are
            print(f"»  {name}: not attempted yet — the notebook continues with the reference solution "
                  f"(to see it: checks.show_solution({name!r})).")  # fmt: skip
            return ex.reference
        if _close(got, want, ex.atol, ex.rtol):
            continue
        for mistake in ex.mistakes:
            if _close(got, mistake.wrong(*args), ex.atol, ex.rtol):
                raise ExerciseError(f"✘ {name}: this looks like {mistake.what}. {mistake.fix}")
        if isinstance(want, torch.Tensor) and isinstance(got, torch.Tensor) and got.shape != want.shape:
            raise ExerciseError(
                f"✘ {name}: wrong shape {tuple(got.shape)}, expected {tuple(want.shape)}. "
                "Check which axes you reduce over."
            )
        raise ExerciseError(f"✘ {name}: your answer differs from the reference. Hint: {ex.hint}")
    print(f"✔ {name}: correct on {len(inputs)} test case(s).")
    return attempt


def show_solution(name: str) -> None:
    """Print the reference solution of exercise ``name``: for a learner who wants to see it, on purpose."""
    ex = exercises.get(name)
    print(f"# Reference solution of {name!r} (notebook {ex.notebook}), from {ex.reference.__module__}:\n")
    print(inspect.getsource(ex.reference))


def claim(statement: str, holds: bool, evidence: str = "") -> None:
    """Assert a headline claim; print it with its evidence when it holds.

    ``evidence`` should show the measured numbers and the bound, e.g.
    ``f"KL {kl:.2f} < 0.5 x unigram KL {base:.2f}"``.
    """
    if not bool(holds):
        if os.environ.get("COURSE_CLAIMS") == "record":  # benchmarks/second_seed.py: report every claim, go on
            print(f"✘ {statement}" + (f"  ({evidence})" if evidence else ""))
            return
        raise ClaimError(f"✘ Claim failed: {statement}. Evidence: {evidence}")
    print(f"✔ {statement}" + (f"  ({evidence})" if evidence else ""))
