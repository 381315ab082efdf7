"""The training command line: ``python -m helpers.train TASK [options]``.

Each task lives in its own module, which provides ``cli_main(argv) -> int``:

- ``lm``        language models on the course corpus (helpers.lm; notebooks 01-05)
- ``grokking``  modular arithmetic (helpers.grokking; notebooks 06-07)
- ``select``    find-min / find-median (helpers.algorithmic; notebooks 08-09)
- ``ioi``       indirect object identification (helpers.ioi_model; notebook 12)
- ``recipe``    reproduce a committed checkpoint by name (helpers.recipes): ``recipe attn2l [--out DIR] [--dry-run]``

Flags are generated from the config fields (helpers.cli): ``--n-steps`` for ``n_steps`` in every
task; older spellings (``--steps``, ``--epochs``, ``--layers``, ``--prime`` ...) still work.

``python -m helpers.train TASK --help`` lists a task's options.
"""

from __future__ import annotations

import importlib
import sys

TASKS = {
    "lm": "helpers.lm",
    "grokking": "helpers.grokking",
    "select": "helpers.algorithmic",
    "ioi": "helpers.ioi_model",
    "recipe": "helpers.recipes",
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in TASKS:
        print(__doc__)
        if argv and argv[0] not in ("-h", "--help"):
            print(f"error: unknown task {argv[0]!r}; choose one of {sorted(TASKS)}.", file=sys.stderr)
            return 2
        return 0
    module = importlib.import_module(TASKS[argv[0]])
    return int(module.cli_main(argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
