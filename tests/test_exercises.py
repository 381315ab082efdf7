"""Every exercise's check passes its reference and names each known mistake (helpers.exercises)."""

from pathlib import Path

import pytest

from helpers import checks, exercises

ROOT = Path(__file__).resolve().parent.parent
ALL = exercises.all_exercises()


def test_the_course_has_at_least_80_exercises_and_6_in_every_notebook():
    per_notebook = {nb: sum(ex.notebook == nb for ex in ALL) for nb in {ex.notebook for ex in ALL}}
    n_notebooks = len(list(ROOT.glob("notebooks/[0-9][0-9]_*.ipynb")))
    assert len(ALL) >= 80 and len(per_notebook) == n_notebooks and min(per_notebook.values()) >= 6, per_notebook


def test_names_are_unique_and_every_exercise_can_be_tested():
    names = [ex.name for ex in ALL]
    assert len(names) == len(set(names))
    assert all(ex.examples is not None and ex.hint for ex in ALL)


@pytest.mark.parametrize("ex", ALL, ids=lambda ex: ex.name)
def test_the_reference_passes_its_own_check(ex, capsys):
    assert checks.check_exercise(ex.name, ex.reference, ex.examples()) is ex.reference
    assert "✔" in capsys.readouterr().out


@pytest.mark.parametrize("ex", ALL, ids=lambda ex: ex.name)
def test_an_unattempted_exercise_continues_with_the_reference(ex, capsys):
    assert checks.check_exercise(ex.name, lambda *args: None, ex.examples()) is ex.reference
    assert f"checks.show_solution({ex.name!r})" in capsys.readouterr().out


@pytest.mark.parametrize(
    "ex, mistake", [(ex, m) for ex in ALL for m in ex.mistakes], ids=lambda x: getattr(x, "name", None) or x.what[:40]
)
def test_each_known_mistake_fails_and_is_named(ex, mistake):
    with pytest.raises(checks.ExerciseError) as err:
        checks.check_exercise(ex.name, mistake.wrong, ex.examples())
    assert mistake.what in str(err.value) and mistake.fix in str(err.value)


def test_show_solution_prints_the_reference_source(capsys):
    checks.show_solution(ALL[0].name)
    out = capsys.readouterr().out
    assert "def " in out and ALL[0].reference.__name__ in out


def test_an_unknown_exercise_says_which_exist():
    with pytest.raises(Exception, match="No exercise called"):
        exercises.get("no_such_exercise")
