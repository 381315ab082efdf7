"""helpers.progress: an early stop reads as a success; plain mode writes nothing to stderr."""

import pytest
import tqdm.auto
import tqdm.notebook

from helpers import grokking
from helpers.configs import TrainConfig
from helpers.grokking import GrokConfig
from helpers.progress import PROGRESS_ENV, Progress
from helpers.training import train


def test_early_stop_closes_the_bar_complete_and_says_why(monkeypatch, capsys):
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    bar = Progress(2000, desc="training")
    bar.update(425)
    bar.close(stopped="test accuracy 99.5% >= 99%")
    assert bar._bar.total == bar._bar.n == 425  # complete at the steps run, not 21%
    assert "stopped early: test accuracy 99.5%" in bar._bar.desc
    assert capsys.readouterr().out == ""  # live: the bar is the report, no extra line


def test_early_stop_in_a_notebook_is_a_green_bar_not_a_red_one(monkeypatch):
    pytest.importorskip("ipywidgets")
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    monkeypatch.setattr(tqdm.auto, "tqdm", tqdm.notebook.tqdm)  # what tqdm.auto picks in a kernel
    stopped = Progress(2000)
    stopped.update(425)
    stopped.close(stopped="test accuracy 99.5% >= 99%")
    _, widget, _ = stopped._bar.container.children
    assert widget.bar_style == "success" and widget.value == widget.max == 425
    cut = Progress(2000)  # a run that really ended short still shows it
    cut.update(425)
    cut.close()
    assert cut._bar.container.children[1].bar_style == "danger"


def test_plain_mode_prints_one_stdout_line_and_nothing_on_stderr(monkeypatch, capsys):
    monkeypatch.setenv(PROGRESS_ENV, "plain")
    bar = Progress(2000)
    for _ in range(425):
        bar.update(1)
    bar.set_postfix(test_acc="0.995")
    bar.close(stopped="test accuracy 99.5% >= 99%")
    bar.close()  # closing twice reports once
    out, err = capsys.readouterr()
    assert err == "" and bar._bar is None
    assert out == "training: 425 of 2000 steps, stopped early: test accuracy 99.5% >= 99% (test_acc=0.995)\n"
    done = Progress(10)
    done.update(10)
    done.close()
    assert capsys.readouterr().out == "training: 10 steps\n"
    transient = Progress(10, leave=False)  # a bar that vanishes live leaves nothing either
    transient.update(10)
    transient.close()
    assert capsys.readouterr() == ("", "")


def test_trainers_report_through_it(monkeypatch, capsys):
    monkeypatch.setenv(PROGRESS_ENV, "plain")
    cfg = GrokConfig(p=11, d_model=32, n_heads=4, d_mlp=64, eval_every=10, n_steps=400, stop_at_test_acc=0.05)
    _, hist = grokking.train_grokking(cfg, progress=True)
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith(f"training: {hist.n_steps_run} of 400 steps, stopped early: test accuracy ")
    assert hist.n_steps_run < 400
    import torch

    model = torch.nn.Linear(2, 1)
    train(model, torch.randn(8, 2), TrainConfig(n_steps=3, lr=1e-3), loss_fn=lambda m, b: m(b[0]).pow(2).mean())
    assert capsys.readouterr() == ("", "")
    assert Progress(5, enabled=False)._bar is None
