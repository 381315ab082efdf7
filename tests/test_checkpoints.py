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

    save_checkpoint(build_model(tiny_cfg), tmp_path / "m", metrics={"loss": 1.25}, notes="made by: python -m helpers.train lm --name m")
    (tmp_path / "other.json").write_text("{}")
    table = describe(tmp_path)
    assert "| `m` | 2L d_model=32 heads=4 attn-only | loss=1.25 | `python -m helpers.train lm --name m` |" in table
    assert "other" not in table
