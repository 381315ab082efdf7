"""Progress bars that tell the truth, live and in stored notebooks (introduced in notebook 00).

Every trainer in the course reports progress through ``Progress``:

- live (a notebook or a terminal): a ``tqdm.auto`` bar. A run that stops early because it
  succeeded (e.g. notebook 06 reaches 99% test accuracy at step 425 of 2,000) is closed as
  complete, with the reason in its label, so it reads as a success (tqdm would leave a red bar
  stopped at 21%).
- ``COURSE_PROGRESS=plain`` (set by ``tools/nb.py run`` when it builds the committed notebooks):
  no widget, nothing on stderr (nbval compares stderr; tqdm writes there), only one plain line
  on stdout when the run ends. A stored widget would read ``training: 0%| 0/2000`` in an
  untrusted notebook, whatever the run did.

A bar made with ``leave=False`` disappears when it closes, so in plain mode it prints nothing.
"""

from __future__ import annotations

import os
from typing import Any

PROGRESS_ENV = "COURSE_PROGRESS"  # "plain": no widget, one stdout line per finished bar


def plain_mode() -> bool:
    """True when progress is reported as plain stdout lines (``COURSE_PROGRESS=plain``)."""
    return os.environ.get(PROGRESS_ENV, "").strip().lower() == "plain"


class Progress:
    """A step counter shown as a tqdm bar (live) or one stdout line (plain mode).

    ``update``, ``set_postfix`` and ``close(stopped=...)`` are all it offers; with
    ``enabled=False`` each does nothing, so a trainer needs no ``if bar is not None``."""

    def __init__(self, total: int, desc: str = "training", initial: int = 0, enabled: bool = True,
                 leave: bool = True, mininterval: float = 1.0) -> None:  # fmt: skip
        self.total, self.desc, self.n, self.leave = total, desc, initial, leave
        self.enabled, self.postfix, self.closed = enabled, "", False
        self._bar: Any = None
        if enabled and not plain_mode():
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, initial=initial, desc=desc, leave=leave, mininterval=mininterval)

    def update(self, n: int = 1) -> None:
        self.n += n
        if self._bar is not None:
            self._bar.update(n)

    def set_postfix(self, **values: object) -> None:
        """Numbers shown after the bar (and at the end of the plain line), e.g. ``test_acc``."""
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())
        if self._bar is not None:
            self._bar.set_postfix(values, refresh=False)

    def close(self, stopped: str | None = None) -> None:
        """Finish the bar. ``stopped`` says why a run ended before ``total`` (a success, e.g.
        "test accuracy 99.5%"): the bar is then closed as complete at the steps run, labelled
        "stopped early: <reason>"."""
        if self.closed or not self.enabled:
            return
        self.closed = True
        bar = self._bar
        if bar is not None:
            if stopped:
                bar.total = bar.n  # complete, not a red bar at 21%
                pbar = getattr(getattr(bar, "container", None), "children", [None, None])[1]
                if pbar is not None:  # the notebook widget keeps its own maximum
                    pbar.max = max(bar.n, 1)
                bar.set_description(f"{self.desc} (stopped early: {stopped})", refresh=False)
            bar.close()
        elif self.leave:
            of = f" of {self.total}" if self.n != self.total else ""
            why = f", stopped early: {stopped}" if stopped else ""
            print(f"{self.desc}: {self.n}{of} steps{why}" + (f" ({self.postfix})" if self.postfix else ""), flush=True)
