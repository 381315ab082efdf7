"""Command-line flags generated from the config dataclasses (``python -m helpers.train TASK``).

One field, one flag: a config field ``n_steps`` is ``--n-steps`` (or ``--n_steps``) in every
task, with the field's type, default and help (``option(default, help)`` puts the help in the
field's metadata). Older spellings stay as aliases, listed on the field (``--steps``,
``--epochs``, ``--prime``, ``--checkpoint-every`` ...), so every recorded command still runs.
The same table names flags in error messages: ``Flags.for_errors(argv)`` maps each field to the
spelling the user typed (else the canonical flag), for ``errors.with_flags``.

    @dataclass(frozen=True)
    class Run:
        out: Path = option(MISSING, "output folder")
        threads: int | None = option(None, "torch CPU threads")

    ap = ArgumentParser(prog="python -m helpers.train x")
    flags = add_config_flags(ap, Run)
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Sequence
from dataclasses import MISSING
from pathlib import Path
from typing import Any, Literal

__all__ = ["MISSING", "Flags", "add_config_flags", "option", "flag_spellings"]


def option(default: Any = MISSING, help: str = "", *aliases: str, **const_flags: Any) -> Any:
    """A dataclass field that carries its command-line help and older flag spellings.

    ``const_flags`` are switches that set the field to a constant, e.g. ``ln="LN"`` makes
    ``--ln`` mean ``--normalization-type LN``.
    """
    meta = {
        "help": help,
        "aliases": aliases,
        "const_flags": {"--" + k.replace("_", "-"): v for k, v in const_flags.items()},
    }
    return dataclasses.field(default=default, metadata=meta)


def flag_spellings(name: str, aliases: Sequence[str] = ()) -> list[str]:
    """``--n-steps`` first, then the aliases, each also with underscores (``--n_steps``: the paper's code style)."""
    out: list[str] = []
    for flag in ["--" + name.replace("_", "-"), *aliases]:
        for spelling in (flag, "--" + flag[2:].replace("-", "_")):
            if spelling not in out:
                out.append(spelling)
    return out


class Flags(dict):
    """field name -> every spelling of its flag (canonical first)."""

    def for_errors(self, argv: Sequence[str], only: Sequence[str] | None = None) -> dict[str, str]:
        """field name -> the spelling the user typed (the canonical one if they typed none).

        ``only`` keeps the fields whose names a message may hold (plain words such as ``out``
        or ``name`` would otherwise be rewritten wherever a sentence uses them)."""
        typed = {a.split("=", 1)[0] for a in argv if a.startswith("--")}
        names = self if only is None else [n for n in only if n in self]
        return {name: next((s for s in self[name] if s in typed), self[name][0]) for name in names}


def _unwrap(tp: Any) -> tuple[Any, bool]:
    """``X | None`` -> (X, True); X -> (X, False)."""
    args = typing.get_args(tp)
    if (typing.get_origin(tp) in (typing.Union, types.UnionType)) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0], True
    return tp, False


def _argparse_kwargs(tp: Any, default: Any) -> dict[str, Any]:
    tp, _ = _unwrap(tp)
    if tp is bool:
        return {"action": "store_true"}
    if typing.get_origin(tp) is Literal:
        choices = [c for c in typing.get_args(tp) if c is not None]
        return {"choices": choices, "type": type(choices[0])}
    if typing.get_origin(tp) is tuple:
        item_types = typing.get_args(tp)
        return {"nargs": len(item_types), "type": item_types[0]}
    if tp in (int, float, str, Path):
        return {"type": tp}
    raise TypeError(f"no command-line type for {tp!r}")


def add_config_flags(
    parser: argparse.ArgumentParser,
    cls: type,
    fields: Sequence[str] | None = None,
    defaults: dict[str, Any] | None = None,
    flags: Flags | None = None,
) -> Flags:
    """Add one flag per field of the dataclass ``cls`` (or only ``fields``) to ``parser``.

    ``defaults`` overrides a field's default for this command (a task's own sizes); a field
    without a default is a required flag. Returns (and extends) the ``Flags`` table.
    """
    flags = Flags() if flags is None else flags
    hints = typing.get_type_hints(cls)
    by_name = {f.name: f for f in dataclasses.fields(cls)}
    for name in fields if fields is not None else list(by_name):
        f = by_name[name]
        default = (defaults or {}).get(name, f.default)
        spellings = flag_spellings(name, f.metadata.get("aliases", ()))
        kwargs = _argparse_kwargs(hints[name], default)
        help_text = f.metadata.get("help", "")
        if default is MISSING:
            kwargs["required"] = True
        else:
            kwargs["default"] = list(default) if isinstance(default, tuple) else default
            if default is not None and default is not False:
                help_text += f" (default: {' '.join(map(str, default)) if isinstance(default, tuple) else default})"
        if ("type" in kwargs or "nargs" in kwargs) and "choices" not in kwargs:
            kwargs["metavar"] = name.upper()
        parser.add_argument(*spellings, dest=name, help=help_text, **kwargs)
        for switch, const in f.metadata.get("const_flags", {}).items():
            parser.add_argument(
                switch, dest=name, action="store_const", const=const, help=f"same as {spellings[0]} {const}"
            )
            spellings.append(switch)
        flags[name] = spellings
    return flags


def task_parser(
    prog: str,
    description: str | None,
    options: type,
    model_fields: Sequence[str],
    train_fields: Sequence[str],
    defaults: dict[str, Any],
) -> tuple[argparse.ArgumentParser, Flags]:
    """The parser of a small supervised task's command (``select``, ``ioi``): its own ``options``,
    the ``ModelConfig`` and ``TrainConfig`` fields it exposes, and ``RunOptions``, with its ``defaults``."""
    from helpers.configs import ModelConfig, TrainConfig
    from helpers.errors import ArgumentParser

    ap = ArgumentParser(prog=prog, description=description)
    flags = add_config_flags(ap, options)
    add_config_flags(ap, ModelConfig, model_fields, defaults, flags)
    add_config_flags(ap, TrainConfig, train_fields, defaults, flags)
    add_config_flags(ap, RunOptions, defaults=defaults, flags=flags)
    return ap, flags


def values(args: argparse.Namespace, cls: type, fields: Sequence[str] | None = None, **changes: Any) -> dict[str, Any]:
    """The parsed values of ``cls``'s fields (lists back to tuples), for ``cls(**values(...))``."""
    names = fields if fields is not None else [f.name for f in dataclasses.fields(cls)]
    out = {n: tuple(v) if isinstance(v := getattr(args, n), list) else v for n in names}
    out.update(changes)
    return out


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """Flags every training command shares (not part of any config)."""

    threads: int | None = option(None, "torch CPU threads (default: torch's choice; 1 is fastest for small models)")
    force: bool = option(False, "replace what the output already holds")
    debug: bool = option(False, "show the traceback of an error")


def made_by(task: str, argv: Sequence[str]) -> str:
    """The command a checkpoint's card records: ``python -m helpers.train TASK`` and the flags as typed,
    less ``--force`` and ``--debug`` (they change what is written or shown, not the weights), with a
    path inside the course folder written relative to it (a card must not name one machine's folders)."""
    root = Path(__file__).resolve().parent.parent

    def shown(arg: str) -> str:
        path = Path(arg)
        if path.is_absolute() and path.resolve().is_relative_to(root):
            return str(path.resolve().relative_to(root))
        return arg

    return " ".join(["python -m helpers.train", task] + [shown(x) for x in argv if x not in ("--force", "--debug")])
