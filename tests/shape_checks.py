"""The typechecker that tests/conftest.py gives jaxtyping's import hook: shapes only.

``jaxtyping.install_import_hook("helpers", "shape_checks.shapes_only")`` decorates every
``helpers`` function with ``@jaxtyped(typechecker=shapes_only)``. ``shapes_only`` hands beartype
only the annotations that hold a jaxtyping array type (``Float[Tensor, "batch pos"]``, also inside
``| None`` or a tuple) and drops the rest (``int``, ``Literal[...]`` ...). So every tensor's dtype
and shape, and the axis sizes shared between arguments and the return value, are checked,
while bad *values* still reach the course's own validation and its errors that name the fix
(``helpers.errors``), which the tests check. A function that compares shapes itself to raise a
``ShapeError`` naming the fix (the tests check that message) opts out with ``@no_type_check``,
which the import hook respects.
"""

import types
import typing

from beartype import BeartypeConf, beartype
from jaxtyping import AbstractArray

CONF = BeartypeConf(is_pep484_tower=True)  # an int where a float is declared is fine (PEP 484)


def _has_array(hint: object) -> bool:
    if isinstance(hint, type) and issubclass(hint, AbstractArray):
        return True
    return any(_has_array(arg) for arg in typing.get_args(hint))


def shapes_only(fn):
    annotations = getattr(fn, "__annotations__", None)
    if not isinstance(fn, types.FunctionType) or not annotations:
        return fn
    kept = {name: hint for name, hint in annotations.items() if not isinstance(hint, str) and _has_array(hint)}
    if not kept:
        return fn
    copy = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
    copy.__kwdefaults__, copy.__qualname__, copy.__module__ = fn.__kwdefaults__, fn.__qualname__, fn.__module__
    copy.__dict__.update(fn.__dict__)
    copy.__annotations__ = kept
    return beartype(copy, conf=CONF)
