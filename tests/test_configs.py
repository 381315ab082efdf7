import dataclasses

import pytest

from helpers.configs import ModelConfig, TrainConfig
from helpers.errors import ConfigError


def test_valid_config_roundtrips_through_dict(tiny_cfg):
    assert ModelConfig.from_dict(tiny_cfg.to_dict()) == tiny_cfg
    t = TrainConfig(n_steps=10, betas=(0.9, 0.98))
    assert TrainConfig.from_dict(t.to_dict()) == t


def test_d_model_must_equal_heads_times_d_head():
    with pytest.raises(ConfigError, match=r"d_model \(100\) must equal n_heads \* d_head.*Fix"):
        ModelConfig(d_vocab=10, n_ctx=8, d_model=100, n_heads=4, d_head=32)


@pytest.mark.parametrize(
    "field,value,match",
    [
        ("d_vocab", 0, "d_vocab must be positive"),
        ("n_ctx", -1, "n_ctx must be positive"),
        ("n_layers", -1, "n_layers must be 0 or more"),
        ("d_mlp", 0, "d_mlp must be positive"),
        ("act_fn", "tanh", "act_fn must be one of"),
        ("normalization_type", "RMS", "normalization_type must be"),
    ],
)
def test_bad_model_fields_name_the_field(tiny_cfg, field, value, match):
    with pytest.raises(ConfigError, match=match):
        tiny_cfg.replace(**{field: value})


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"lr": 0}, "lr must be positive"),
        ({"weight_decay": -1}, "weight_decay"),
        ({"betas": (0.9, 1.0)}, "betas"),
        ({"batch_size": 0}, "batch_size"),
        ({"n_steps": 5, "warmup_steps": 6}, "warmup_steps"),
    ],
)
def test_bad_train_fields(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        TrainConfig(**kwargs)


def test_configs_are_frozen(tiny_cfg):
    with pytest.raises(dataclasses.FrozenInstanceError):
        tiny_cfg.d_model = 64  # type: ignore[misc]


def test_unknown_field_in_dict_is_rejected(tiny_cfg):
    with pytest.raises(ConfigError, match="no field"):
        ModelConfig.from_dict({**tiny_cfg.to_dict(), "d_modle": 3})
