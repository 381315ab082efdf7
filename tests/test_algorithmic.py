"""helpers.algorithmic: token-circuit tables, DLA, one-element corruption and patching."""

import pytest
import torch

from helpers import algorithmic, paths
from helpers.checkpoints import load_checkpoint
from helpers.configs import ModelConfig, TrainConfig
from helpers.errors import ConfigError, ShapeError
from helpers.models import build_model
from helpers.tasks import select_task

N, V = 4, 10


@pytest.fixture(scope="module")
def model():
    m = build_model(ModelConfig(d_vocab=V + 1, n_ctx=N + 1, d_model=16, n_layers=1, n_heads=2, d_head=8, seed=3))
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():  # non-zero biases, so the tables must include them to match
        for name, p in m.named_parameters():
            if name.endswith("bias"):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
    return m


@pytest.fixture(scope="module")
def tokens():
    return select_task("min", n=N, vocab=V, n_train=20, n_test=5, seed=0).train_tokens


def test_qk_by_value_matches_the_models_attention_scores(model, tokens):
    _, cache = model.run_with_cache(tokens)
    q, k = cache["blocks.0.attn.hook_q"], cache["blocks.0.attn.hook_k"]  # [batch, pos, head, d_head]
    scores = torch.einsum("bhd,bkhd->bhk", q[:, -1], k) / 8**0.5  # SEP's query against every key
    for head in range(2):
        table = algorithmic.qk_by_value(model, head=head)
        assert table.shape == (N, V)
        want = scores[:, head, :-1]
        got = table[torch.arange(N), tokens[:, :-1]]
        assert torch.allclose(got, want, atol=1e-4)


def test_ov_by_value_is_the_embedding_through_ov_and_unembed(model):
    ov = algorithmic.ov_by_value(model, head=1)
    want = model.W_E[3] @ model.W_V[0, 1] @ model.W_O[0, 1] @ model.W_U
    assert ov.shape == (V, V + 1)
    assert torch.allclose(ov[3], want, atol=1e-5)


def test_diagonal_dominance_hand_cases():
    assert algorithmic.diagonal_dominance(torch.eye(4)) == 1.0
    m = torch.eye(4)
    m[0, 1] = 2.0  # row 0 now peaks off the diagonal
    assert algorithmic.diagonal_dominance(m) == 0.75
    assert algorithmic.diagonal_dominance(torch.eye(3)[:, [1, 2, 0]]) == 0.0
    with pytest.raises(ShapeError):
        algorithmic.diagonal_dominance(torch.ones(4, 3))


def test_tables_on_the_committed_median_model_equal_the_old_products():
    # ov_by_value now goes through the bridge's FactoredMatrix model.OV; notebook 09's figures must not move
    m, _ = load_checkpoint(paths.data_dir() / "checkpoints" / "select_median")
    v = m.W_E.shape[0] - 1
    with torch.no_grad():
        for head in range(m.cfg.n_heads):
            old = m.W_E[:v] @ m.W_V[0, head] @ m.W_O[0, head] @ m.W_U
            new = algorithmic.ov_by_value(m, head)
            assert torch.allclose(new, old, atol=1e-3, rtol=1e-5) and torch.equal(new.argmax(-1), old.argmax(-1))


@pytest.mark.parametrize("kind", ["min", "median"])
def test_change_one_element_changes_exactly_one_value_and_the_answer(kind):
    d = select_task(kind, n=5, vocab=30, n_train=200, n_test=10, seed=0)
    corrupt, where = algorithmic.change_one_element(d.train_tokens, 30, kind, seed=1)
    diff = d.train_tokens != corrupt
    assert (diff.sum(1) == 1).all()
    assert torch.equal(diff.float().argmax(1), where)
    assert (corrupt[:, -1] == 30).all()
    for row, label in zip(corrupt[:, :-1].tolist(), d.train_labels.tolist()):
        assert len(set(row)) == 5
        new = min(row) if kind == "min" else sorted(row)[2]
        assert new != label
    with pytest.raises(ConfigError):
        algorithmic.change_one_element(d.train_tokens, 30, "max")


def test_median_corruption_moves_the_median_to_a_neighbour():
    tokens = torch.tensor([[1, 5, 9, 3, 7, 20]])  # sorted 1 3 5 7 9, median 5
    corrupt, _ = algorithmic.change_one_element(tokens, 20, "median", seed=0)
    new = sorted(corrupt[0, :-1].tolist())[2]
    assert new in (3, 7)


def test_patch_activation_identity_and_full_swap(model, tokens):
    corrupt, _ = algorithmic.change_one_element(tokens, V, "min", seed=0)
    clean_logits = model(tokens)[:, -1]
    corrupt_logits = model(corrupt)[:, -1]
    same = algorithmic.patch_activation(model, tokens, tokens, "blocks.0.hook_resid_pre")
    assert torch.allclose(same, clean_logits, atol=1e-5)
    full = algorithmic.patch_activation(model, tokens, corrupt, "blocks.0.hook_resid_pre")
    assert torch.allclose(full, corrupt_logits, atol=1e-5)
    # patching only the SEP position of the head output changes the logits to those of corrupt z there
    one = algorithmic.patch_activation(model, tokens, corrupt, "blocks.0.attn.hook_z", pos=-1)
    assert torch.allclose(one, corrupt_logits, atol=1e-4)
    # one head at SEP: the same as a hand-written hook that copies it from corrupt's cache
    _, cache = model.run_with_cache(corrupt)

    def hook(z, hook):
        z = z.clone()
        z[:, -1, 1] = cache["blocks.0.attn.hook_z"][:, -1, 1]
        return z

    want = model.run_with_hooks(tokens, fwd_hooks=[("blocks.0.attn.hook_z", hook)])[:, -1]
    assert torch.equal(
        algorithmic.patch_activation(model, tokens, corrupt, "blocks.0.attn.hook_z", pos=-1, head=1), want
    )
    with pytest.raises(ConfigError):
        algorithmic.patch_activation(model, tokens, corrupt, "blocks.0.attn.hook_nope")
    with pytest.raises(ShapeError):
        algorithmic.patch_activation(model, tokens, corrupt[:, :3], "blocks.0.attn.hook_z")


def test_train_select_learns_min_quickly():
    cfg = ModelConfig(d_vocab=13, n_ctx=4, d_model=32, n_heads=1, d_head=32)
    run = algorithmic.train_select(
        "min",
        cfg,
        TrainConfig(n_steps=150, lr=3e-3, batch_size=128),
        n=3,
        vocab=12,
        n_train=200,
        n_test=50,
        seed=0,
        progress=False,
    )
    assert run.test_acc > 0.8
    assert run.model.course_config.seed == 0 and run.history.steps[-1] == 149


def test_cli_trains_and_saves(tmp_path, capsys):
    out = tmp_path / "sel"
    rc = algorithmic.cli_main(
        [
            "--kind",
            "min",
            "--n",
            "3",
            "--vocab",
            "8",
            "--n-train",
            "100",
            "--n-test",
            "20",
            "--steps",
            "5",
            "--d-model",
            "16",
            "--out",
            str(out),
            "--json",
            str(tmp_path / "r.jsonl"),
        ]
    )
    assert rc == 0 and out.with_suffix(".safetensors").exists() and out.with_suffix(".json").exists()
    assert "test_acc" in (tmp_path / "r.jsonl").read_text()
    assert algorithmic.cli_main(["--kind", "min", "--d-model", "30", "--heads", "4"]) == 2  # one line, no traceback
    assert "divisible" in capsys.readouterr().err
