import json

import pytest
import torch

from helpers.checkpoints import load_checkpoint, save_checkpoint
from helpers.configs import TrainConfig
from helpers.errors import CheckpointError, MissingDataError
from helpers.models import build_model


def test_roundtrip_gives_identical_logits(tiny_cfg, tmp_path):
    model = build_model(tiny_cfg)
    path = save_checkpoint(model, tmp_path / "m", TrainConfig(n_steps=3), {"loss": 1.5})
    assert path.suffix == ".safetensors" and (tmp_path / "m.json").exists()
    loaded, card = load_checkpoint(tmp_path / "m")
    tokens = torch.randint(0, 50, (2, 8), generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(loaded(tokens), model(tokens))
    assert card["metrics"] == {"loss": 1.5} and card["train_config"]["n_steps"] == 3


def test_card_that_does_not_match_weights_is_rejected(tiny_cfg, tmp_path):
    save_checkpoint(build_model(tiny_cfg), tmp_path / "m")
    card = json.loads((tmp_path / "m.json").read_text())
    card["model_config"]["d_model"], card["model_config"]["d_head"] = 64, 16
    (tmp_path / "m.json").write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match="do not match the config"):
        load_checkpoint(tmp_path / "m")


def test_missing_files_name_the_fix(tiny_cfg, tmp_path):
    with pytest.raises(MissingDataError, match="No checkpoint card"):
        load_checkpoint(tmp_path / "nothing")
    save_checkpoint(build_model(tiny_cfg), tmp_path / "m")
    (tmp_path / "m.safetensors").unlink()
    with pytest.raises(MissingDataError, match="weights"):
        load_checkpoint(tmp_path / "m")


def test_card_from_elsewhere_is_rejected(tmp_path):
    (tmp_path / "m.json").write_text(json.dumps({"hello": 1}))
    with pytest.raises(CheckpointError, match="no 'format' field"):
        load_checkpoint(tmp_path / "m")


def test_describe_lists_cards_with_their_command(tiny_cfg, tmp_path):
    from helpers.checkpoints import describe

    save_checkpoint(
        build_model(tiny_cfg),
        tmp_path / "m",
        metrics={"loss": 1.25},
        notes="made by: python -m helpers.train lm --name m",
    )
    (tmp_path / "other.json").write_text("{}")
    table = describe(tmp_path)
    assert "| `m` | 2L d_model=32 heads=4 attn-only | loss=1.25 | `python -m helpers.train lm --name m` |" in table
    assert "other" not in table


def test_a_dotted_name_is_its_own_checkpoint(tiny_cfg, tmp_path):
    """``with_suffix`` once cut ``wd0.1`` to ``wd0``: wd0.1 and wd0.3 overwrote each other."""
    save_checkpoint(build_model(tiny_cfg), tmp_path / "wd0.1", metrics={"wd": 0.1})
    save_checkpoint(build_model(tiny_cfg), tmp_path / "wd0.3", metrics={"wd": 0.3})
    assert load_checkpoint(tmp_path / "wd0.1")[1]["metrics"] == {"wd": 0.1}
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "wd0.1.json",
        "wd0.1.safetensors",
        "wd0.3.json",
        "wd0.3.safetensors",
    ]


def test_names_with_paths_are_rejected():
    from helpers.checkpoints import checkpoint_name
    from helpers.errors import ConfigError

    assert checkpoint_name("attn1l.v2") == "attn1l.v2"
    for bad in ("", "..", "a/b", "..\\x", "x.json", "-x"):
        with pytest.raises(ConfigError, match="--name"):
            checkpoint_name(bad)


def test_weights_from_another_save_are_detected_by_the_card_digest(tiny_cfg, tmp_path):
    save_checkpoint(build_model(tiny_cfg), tmp_path / "a")
    save_checkpoint(build_model(tiny_cfg.replace(seed=1)), tmp_path / "b")  # same shapes, other weights
    (tmp_path / "a.safetensors").write_bytes((tmp_path / "b.safetensors").read_bytes())
    with pytest.raises(CheckpointError, match="not the ones its card"):
        load_checkpoint(tmp_path / "a")


def test_truncated_files_name_their_path_and_the_remake_command(tiny_cfg, tmp_path):
    save_checkpoint(build_model(tiny_cfg), tmp_path / "m", notes="made by: python -m helpers.train lm --name m")
    weights = (tmp_path / "m.safetensors").read_bytes()
    card = json.loads((tmp_path / "m.json").read_text())
    del card["weights"]  # as an old card: only safetensors itself can notice the truncation
    (tmp_path / "m.json").write_text(json.dumps(card))
    (tmp_path / "m.safetensors").write_bytes(weights[: len(weights) // 2])
    with pytest.raises(CheckpointError, match=r"m\.safetensors.*python -m helpers.train lm --name m"):
        load_checkpoint(tmp_path / "m")
    (tmp_path / "m.json").write_text('{"format": "mechinterp')
    with pytest.raises(CheckpointError, match=r"m\.json is not valid JSON"):
        load_checkpoint(tmp_path / "m")


def test_an_interrupted_save_never_leaves_new_weights_under_an_old_card(tiny_cfg, tmp_path, monkeypatch):
    import helpers.checkpoints as ck

    save_checkpoint(build_model(tiny_cfg), tmp_path / "m")
    old = (tmp_path / "m.safetensors").read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ck, "write_atomic", crash)  # dies after the weights, before the card
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(build_model(tiny_cfg.replace(seed=1)), tmp_path / "m")
    assert (tmp_path / "m.safetensors").read_bytes() != old
    with pytest.raises(MissingDataError, match="No checkpoint card"):  # an error, not a silent mix
        load_checkpoint(tmp_path / "m")
    assert not list(tmp_path.glob(".*tmp"))


def test_committed_cards_still_load():
    from helpers.paths import data_dir

    _, card = load_checkpoint(data_dir() / "checkpoints" / "attn1l")
    assert card["model_config"]["n_layers"] == 1


def test_a_missing_committed_checkpoint_names_its_recipe(tmp_path, monkeypatch):
    """lm_checkpoint and ioi_checkpoint share helpers.checkpoints.committed_checkpoint: one message, the recipe."""
    from helpers import ioi_model, lm

    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    for load, name in ((lm.lm_checkpoint, "full2l"), (ioi_model.ioi_checkpoint, "ioi3l")):
        with pytest.raises(MissingDataError, match=rf"python -m helpers.train recipe {name}\b"):
            load(name)
