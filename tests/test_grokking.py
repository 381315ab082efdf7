"""Tests for helpers.grokking: the fast trainer computes the TransformerLens model's function."""

import json

import pytest
import torch

from helpers import grokking
from helpers.errors import ConfigError, ShapeError
from helpers.grokking import FastGrokModel, GrokConfig
from helpers.models import build_model

SMALL = dict(p=11, d_model=32, n_heads=4, d_mlp=64, eval_every=10)


def perturbed_tl(cfg: GrokConfig, seed: int = 1):
    """A TL model with every weight (biases included) random, so no term is trivially zero."""
    model = build_model(cfg.model_config())
    gen = torch.Generator().manual_seed(seed)
    sd = {k: v + 0.1 * torch.randn(v.shape, generator=gen) for k, v in model.state_dict().items()}
    model.load_state_dict(sd)
    return model


def test_fast_model_gives_the_tl_models_logits():
    cfg = GrokConfig(**SMALL)
    tl = perturbed_tl(cfg)
    fast = FastGrokModel.from_tl(tl)
    tokens = grokking.all_pairs(cfg.p)
    tokens = torch.cat([tokens, torch.randint(0, cfg.p + 1, (50, 3))])  # '=' anywhere, too
    with torch.no_grad():
        want = tl(tokens)[:, -1]
        got = fast(tokens)
    assert got.shape == want.shape == (tokens.shape[0], cfg.p + 1)
    assert torch.allclose(got, want, atol=1e-5), (got - want).abs().max()


def test_fast_model_gives_the_tl_models_gradients():
    """The trainer is exact: one loss, the same gradient for every weight as the TL model's."""
    cfg = GrokConfig(**SMALL)
    tl = perturbed_tl(cfg)
    fast = FastGrokModel.from_tl(tl)
    tokens = torch.cat([grokking.all_pairs(cfg.p), torch.randint(0, cfg.p + 1, (50, 3))])
    labels = torch.randint(0, cfg.p, (tokens.shape[0],))
    torch.nn.functional.cross_entropy(tl(tokens)[:, -1], labels).backward()
    torch.nn.functional.cross_entropy(fast(tokens), labels).backward()
    # TransformerBridge names its parameters differently, but in the state dict's order.
    tl_params = [p for _, p in tl.named_parameters()]
    trained = [name for name in grokking.TL_NAMES.values() if name != "b_U"]
    assert len(tl_params) == len(trained)
    for name, tl_param in zip(trained, tl_params):
        mine = getattr(fast, name).grad
        assert mine is not None and mine.shape == tl_param.grad.shape, name
        assert torch.allclose(mine, tl_param.grad, atol=1e-6, rtol=1e-4), (name, (mine - tl_param.grad).abs().max())


def test_cached_pairs_follow_new_and_modified_token_tensors():
    cfg = GrokConfig(**SMALL)
    tl = perturbed_tl(cfg)
    fast = FastGrokModel.from_tl(tl)
    tokens = grokking.all_pairs(cfg.p)
    with torch.no_grad():
        fast(tokens)
        tokens[:, 0] = (tokens[:, 0] + 3) % cfg.p  # in place: the cache must notice
        assert torch.allclose(fast(tokens), tl(tokens)[:, -1], atol=1e-5)
        other = torch.randint(0, cfg.p + 1, (40, 3))  # a different tensor
        assert torch.allclose(fast(other), tl(other)[:, -1], atol=1e-5)


def test_weights_round_trip_to_a_tl_model():
    cfg = GrokConfig(**SMALL)
    fast = FastGrokModel.from_tl(perturbed_tl(cfg))
    tl = fast.to_tl()
    for k, v in fast.tl_state_dict().items():
        assert torch.equal(tl.state_dict()[k], v), k
    assert torch.allclose(grokking.grid_logits(tl, cfg.p), grokking.grid_logits(fast, cfg.p), atol=1e-5)


def test_fast_model_rejects_other_models_and_shapes():
    with pytest.raises(ConfigError):
        FastGrokModel(GrokConfig(**SMALL).model_config().replace(n_layers=2))
    fast = FastGrokModel(GrokConfig(**SMALL).model_config())
    with pytest.raises(ShapeError):
        fast(torch.zeros(4, 2, dtype=torch.long))


def test_training_memorises_a_small_task_and_is_deterministic():
    cfg = GrokConfig(**SMALL, train_frac=0.5, n_steps=150, lr=1e-2, weight_decay=0.1, snapshot_every=50)
    _, h1 = grokking.train_grokking(cfg)
    _, h2 = grokking.train_grokking(cfg)
    assert h1.steps[0] == 0 and h1.steps[-1] == 150
    assert h1.train_acc[0] < 0.3 and h1.train_acc[-1] == 1.0  # memorised
    assert h1.train_loss == h2.train_loss and h1.test_acc == h2.test_acc  # same seed, same run
    assert [s for s, _ in h1.snapshots] == [0, 50, 100, 150]
    assert h1.first_step("train_acc", 1.0) is not None and h1.first_step("train_acc", 2.0) is None
    assert h1.weight_norm[-1] != h1.weight_norm[0]


def test_grokfast_with_zero_lambda_is_plain_adamw_and_otherwise_differs():
    base = dict(**SMALL, n_steps=30, lr=1e-2)
    _, plain = grokking.train_grokking(GrokConfig(**base))
    _, zero = grokking.train_grokking(GrokConfig(**base, grokfast_alpha=0.9, grokfast_lambda=0.0))
    _, fast = grokking.train_grokking(GrokConfig(**base, grokfast_alpha=0.9, grokfast_lambda=2.0))
    assert zero.train_loss == plain.train_loss
    assert fast.train_loss[-1] != plain.train_loss[-1]


def test_loss_precision_changes_only_rounding_early_on():
    """float64 is the default (the paper's); early in training float32 gives nearly the same run."""
    base = dict(**SMALL, n_steps=20, lr=1e-2)
    assert GrokConfig(**SMALL).loss_dtype == "float64"
    _, f64 = grokking.train_grokking(GrokConfig(**base))
    _, f32 = grokking.train_grokking(GrokConfig(**base, loss_dtype="float32"))
    assert f64.train_loss != f32.train_loss  # the option does something...
    assert max(abs(a - b) for a, b in zip(f64.train_loss, f32.train_loss)) < 1e-3  # ...but only rounding


def test_stop_at_test_acc_ends_early():
    cfg = GrokConfig(**SMALL, n_steps=100, stop_at_test_acc=0.001)
    _, h = grokking.train_grokking(cfg)
    assert h.steps == [0] and h.n_steps_run == 0


@pytest.mark.parametrize(
    "bad",
    [dict(p=2), dict(op="mul"), dict(train_frac=1.0), dict(lr=0.0), dict(weight_decay=-1.0),
     dict(grokfast_alpha=1.0), dict(eval_every=10, snapshot_every=15), dict(d_model=30, n_heads=4),
     dict(loss_dtype="float16")],
)  # fmt: skip
def test_config_rejects_bad_values(bad):
    with pytest.raises(ConfigError):
        GrokConfig(**{**SMALL, **bad})


def test_cli_writes_snapshots_and_metrics(tmp_path, capsys):
    argv = ["--prime", "11", "--epochs", "20", "--eval-every", "10", "--checkpoint-every", "10", "--fp16",
            "--op", "sub", "--out", str(tmp_path)]  # fmt: skip
    assert grokking.cli_main(argv) == 0
    assert "done:" in capsys.readouterr().out
    record = json.loads((tmp_path / "metrics.json").read_text())
    assert record["config"]["op"] == "sub" and record["snapshot_steps"] == [0, 10, 20]
    cfg, hist, steps = grokking.load_run(tmp_path)
    assert cfg.p == 11 and hist.steps == [0, 10, 20] and steps == [0, 10, 20]
    model = grokking.load_snapshot(tmp_path, 20)
    assert model.state_dict()["embed.weight"].dtype == torch.float32
    assert grokking.grid_logits(model, 11).shape == (11, 11, 12)


@pytest.mark.parametrize(
    "argv, message",
    [(["--prime", "1"], "--prime (the modulus)"), (["--train-frac", "1.5"], "--train-frac"),
     (["--grokfast-alpha", "2"], "--grokfast-alpha"), (["--epochs", "10"], "--out"),
     (["--loss-dtype", "half"], "--loss-dtype"), (["--prime", "8"], "must be prime"),
     (["--prime", "7", "--train-frac", "0.01"], "0 training"), (["--lr", "inf"], "--lr"),
     (["--grokfast-lambda", "nan"], "--grokfast-lambda"), (["--weight-decay", "nan"], "--weight-decay")],
)  # fmt: skip
def test_cli_bad_arguments_get_a_clear_message(argv, message, tmp_path, capsys):
    if "--out" not in message:
        argv = argv + ["--out", str(tmp_path / "run")]
    assert grokking.cli_main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("error: ") and err.count("\n") == 1
    assert not (tmp_path / "run").exists()  # rejected before anything was made


def test_load_run_names_the_command_when_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m helpers.train grokking"):
        grokking.load_run(tmp_path / "nothing")


def test_phases_split_a_run_at_memorisation_test_loss_halving_and_generalisation():
    h = grokking.GrokHistory(
        steps=[0, 10, 20, 30, 40, 50], train_acc=[0.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        test_acc=[0.0, 0.0, 0.0, 0.3, 0.995, 1.0], test_loss=[4.0, 9.0, 10.0, 4.0, 0.1, 0.01],
        train_loss=[4.0] * 6, weight_norm=[1.0] * 6,
    )  # fmt: skip
    assert grokking.phases(h) == {"memorisation": (0, 10), "circuit formation": (10, 30), "cleanup": (30, 40)}
    h.test_acc = [0.0] * 6  # never generalised: no phases to draw
    assert grokking.phases(h) is None


TINY = ["--prime", "13", "--epochs", "200", "--eval-every", "10", "--checkpoint-every", "50", "--threads", "1",
        "--lr", "3e-3", "--grokfast-alpha", "0.9"]  # fmt: skip
CURVES = ("steps", "train_loss", "train_acc", "test_loss", "test_acc", "weight_norm")


def test_paper_spelling_of_the_flags_is_accepted(tmp_path):
    argv = [
        "--prime",
        "13",
        "--train_frac",
        "0.3",
        "--epochs",
        "20",
        "--eval_every",
        "10",
        "--threads",
        "1",
        "--out",
        str(tmp_path),
    ]
    assert grokking.cli_main(argv) == 0
    cfg, _, _ = grokking.load_run(tmp_path)
    assert cfg.train_frac == 0.3 and cfg.n_steps == 20


def test_a_diverging_run_stops_with_one_line_and_valid_json(tmp_path, capsys):
    argv = [
        "--prime",
        "13",
        "--lr",
        "1000",
        "--epochs",
        "100",
        "--eval-every",
        "10",
        "--threads",
        "1",
        "--out",
        str(tmp_path),
    ]
    assert grokking.cli_main(argv) == 2
    err = capsys.readouterr().err
    assert "diverged" in err and "at step" in err and "smaller --lr" in err and err.count("\n") == 1
    record = json.loads(
        (tmp_path / "metrics.json").read_text(), parse_constant=lambda c: pytest.fail(f"{c} in metrics.json")
    )
    assert record["status"] == "diverged"


def test_trainer_rejects_a_nan_loss():
    from helpers.errors import DivergedError

    with pytest.raises(DivergedError, match="at step"):
        grokking.train_grokking(GrokConfig(**SMALL, lr=1e4, n_steps=200))


def test_a_run_is_never_overwritten_or_mixed_without_force(tmp_path, capsys):
    first = [
        "--prime",
        "13",
        "--epochs",
        "20",
        "--eval-every",
        "10",
        "--checkpoint-every",
        "10",
        "--threads",
        "1",
        "--out",
        str(tmp_path),
    ]
    assert grokking.cli_main(first) == 0
    before = (tmp_path / "metrics.json").read_text()
    second = [
        "--prime",
        "11",
        "--epochs",
        "10",
        "--eval-every",
        "10",
        "--checkpoint-every",
        "10",
        "--threads",
        "1",
        "--out",
        str(tmp_path),
    ]
    assert grokking.cli_main(second) == 2
    assert "--force" in capsys.readouterr().err and (tmp_path / "metrics.json").read_text() == before
    assert grokking.cli_main(second + ["--force"]) == 0
    cfg, _, steps = grokking.load_run(tmp_path)
    assert cfg.p == 11 and steps == [0, 10] and not (tmp_path / "step_000020.json").exists()  # no stale snapshot
    assert grokking.load_snapshot(tmp_path, 10).cfg.d_vocab == 12


def test_a_snapshot_from_another_run_is_detected(tmp_path):
    from helpers.errors import CheckpointError

    for sub, p in (("a", "11"), ("b", "13")):
        assert grokking.cli_main(["--prime", p, "--epochs", "10", "--eval-every", "10", "--checkpoint-every", "10",
                                  "--threads", "1", "--out", str(tmp_path / sub)]) == 0  # fmt: skip
    for suffix in (".json", ".safetensors"):  # copied by hand from another run
        (tmp_path / "a" / f"step_000010{suffix}").write_bytes((tmp_path / "b" / f"step_000010{suffix}").read_bytes())
    with pytest.raises(CheckpointError, match="not from the run"):
        grokking.load_snapshot(tmp_path / "a", 10)


def test_truncated_run_files_name_their_path(tmp_path):
    from helpers.errors import CheckpointError

    assert grokking.cli_main(["--prime", "11", "--epochs", "10", "--eval-every", "10", "--checkpoint-every", "10",
                              "--threads", "1", "--out", str(tmp_path)]) == 0  # fmt: skip
    (tmp_path / "metrics.json").write_text('{"config": {"p": 11')
    with pytest.raises(CheckpointError, match="metrics.json"):
        grokking.load_run(tmp_path)


def _interrupt_at_eval(monkeypatch, n: int) -> None:
    """Press Ctrl-C (a real SIGINT) during the n-th evaluation of the next run."""
    import signal

    calls = {"n": 0}
    real = grokking.weight_norm

    def weight_norm(model):
        calls["n"] += 1
        if calls["n"] == n:
            signal.raise_signal(signal.SIGINT)
        return real(model)

    monkeypatch.setattr(grokking.trainer, "weight_norm", weight_norm)  # where train_grokking looks it up


def test_ctrl_c_then_resume_gives_exactly_the_uninterrupted_run(tmp_path, monkeypatch, capsys):
    """Snapshots include AdamW and Grokfast state, so a resumed run is bit-identical (same seed)."""
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    assert grokking.cli_main(TINY + ["--out", str(whole)]) == 0
    with monkeypatch.context() as m:
        _interrupt_at_eval(m, 8)  # at step 70: between two saves and two snapshots
        assert grokking.cli_main(TINY + ["--out", str(parts)]) == 130
    record = json.loads((parts / "metrics.json").read_text())
    assert record["status"] == "interrupted" and 70 <= record["next_step"] < 200
    assert "--resume" in capsys.readouterr().err
    assert grokking.cli_main(TINY + ["--out", str(parts), "--resume"]) == 0
    a, b = (json.loads((d / "metrics.json").read_text()) for d in (whole, parts))
    assert all(a["metrics"][k] == b["metrics"][k] for k in CURVES)
    assert a["snapshot_steps"] == b["snapshot_steps"] == [0, 50, 100, 150, 200] and b["status"] == "finished"
    for step in a["snapshot_steps"]:
        x, y = grokking.load_snapshot(whole, step).state_dict(), grokking.load_snapshot(parts, step).state_dict()
        assert all(torch.equal(x[k], y[k]) for k in x), step


def test_resume_refuses_other_settings_and_finished_runs(tmp_path, monkeypatch, capsys):
    with monkeypatch.context() as m:
        _interrupt_at_eval(m, 3)
        assert grokking.cli_main(TINY + ["--out", str(tmp_path)]) == 130
    other = [a if a != "3e-3" else "1e-2" for a in TINY]
    assert grokking.cli_main(other + ["--out", str(tmp_path), "--resume"]) == 2
    assert "--lr" in capsys.readouterr().err
    assert grokking.cli_main(TINY + ["--out", str(tmp_path), "--resume"]) == 0
    assert grokking.cli_main(TINY + ["--out", str(tmp_path), "--resume"]) == 2
    assert "finished" in capsys.readouterr().err


def test_library_resume_continues_a_stopped_run_exactly(tmp_path):
    cfg = GrokConfig(**SMALL, n_steps=60, lr=1e-2, grokfast_alpha=0.9)
    _, whole = grokking.train_grokking(cfg)
    states = []
    calls = iter(range(1000))
    grokking.train_grokking(cfg, on_save=states.append, stop=lambda: next(calls) == 33)
    grokking.save_state(tmp_path, states[-1], cfg)
    state = grokking.load_state(tmp_path, cfg)
    assert state.next_step == 33
    _, resumed = grokking.train_grokking(cfg, resume=state)
    assert all(getattr(whole, k) == getattr(resumed, k) for k in CURVES)
