"""helpers.sae: the sparse autoencoder, its training, metrics, and splicing into a model (notebook 10)."""

import pytest
import torch

from helpers import sae
from helpers.configs import ModelConfig
from helpers.errors import ConfigError
from helpers.models import build_model


@pytest.fixture(autouse=True)
def _one_thread():
    """Small tensors: a second thread only adds synchronisation (and stalls on a busy machine)."""
    torch.set_num_threads(1)
    yield


def _planted(n: int = 4_000, seed: int = 7) -> tuple[torch.Tensor, torch.Tensor]:
    """Sparse non-negative combinations of 12 planted unit directions in 8 dims (about 1 active at a time)."""
    g = torch.Generator().manual_seed(seed)
    dirs = sae.normalise_decoder(torch.randn(12, 8, generator=g))
    codes = torch.rand(n, 12, generator=g) * (torch.rand(n, 12, generator=g) < 0.08)
    return codes @ dirs, dirs


def test_forward_shapes_and_reconstruct_keeps_leading_axes():
    model = sae.SAE(sae.SAEConfig(d_in=8, expansion=3), seed=0)
    f, x_hat = model(torch.randn(5, 8))
    assert f.shape == (5, 24) and x_hat.shape == (5, 8) and (f >= 0).all()
    assert model.reconstruct(torch.randn(2, 3, 8)).shape == (2, 3, 8)


def test_decoder_rows_have_norm_one_after_training_steps():
    x, _ = _planted(500)
    model, hist = sae.train_sae(x, sae.SAEConfig(d_in=8, expansion=2, n_steps=5, batch_size=64), seed=0)
    assert torch.allclose(model.W_dec.norm(dim=-1), torch.ones(16), atol=1e-5)
    assert len(hist.loss) == len(hist.l0) == 2  # step 0 and the last step


def test_the_sae_recovers_planted_features_and_an_untrained_one_does_not():
    x, dirs = _planted()
    cfg = sae.SAEConfig(d_in=8, expansion=2, l1_coeff=0.2, n_steps=800, batch_size=256, lr=3e-3)
    model, _ = sae.train_sae(x, cfg, seed=0)
    recovered = sae.max_cosine(dirs, model.W_dec.detach())
    untrained = sae.max_cosine(dirs, sae.SAE(cfg, seed=0).W_dec.detach())
    assert recovered.mean() > 0.9 and untrained.mean() < 0.8
    with torch.no_grad():
        f, x_hat = model(x)
    assert sae.fraction_variance_explained(x, x_hat) > 0.8 and sae.l0(f) < 4


def test_training_is_seeded():
    x, _ = _planted(300)
    cfg = sae.SAEConfig(d_in=8, expansion=2, n_steps=10, batch_size=32)
    assert torch.equal(sae.train_sae(x, cfg, seed=1)[0].W_enc, sae.train_sae(x, cfg, seed=1)[0].W_enc)
    assert not torch.equal(sae.train_sae(x, cfg, seed=1)[0].W_enc, sae.train_sae(x, cfg, seed=2)[0].W_enc)


def test_metrics_on_hand_made_cases():
    f = torch.tensor([[0.0, 2.0, 0.0], [1.0, 1.0, 0.0]])
    assert sae.l0(f) == 1.5
    assert sae.dead_latents(f).tolist() == [False, False, True]
    x = torch.tensor([[1.0, 10.0], [3.0, 10.0]])
    assert sae.fraction_variance_explained(x, x) == 1.0
    assert abs(sae.fraction_variance_explained(x, x.mean(0).expand_as(x))) < 1e-6  # the mean explains nothing
    assert sae.loss_recovered(clean=2.0, spliced=3.0, ablated=6.0) == 0.75
    assert sae.sae_loss(x, x, f, 0.5).item() == pytest.approx(0.5 * 2.0)  # (2 + 2) / 2 tokens, times 0.5


def test_top_token_share_and_next_token_mass():
    f = torch.tensor([[3.0, 0.0], [2.0, 1.0], [1.0, 0.0], [0.0, 2.0]])
    toks = torch.tensor([7, 7, 5, 9])
    share = sae.top_token_share(f, toks, k=2)
    assert share.tolist() == [1.0, 0.5]
    assert torch.isnan(sae.top_token_share(f, toks, k=3)[1])  # fires on 2 tokens < k
    probs = torch.tensor([[0.5, 0.3, 0.2, 0.0]])
    assert sae.next_token_mass(torch.tensor([[0.0, 5.0, 4.0, 9.0]]), probs, k=2).item() == pytest.approx(0.3)


@pytest.fixture(scope="module")
def tiny_lm():
    return build_model(
        ModelConfig(d_vocab=50, n_ctx=16, d_model=32, n_layers=2, n_heads=4, d_head=8, d_mlp=None, seed=0)
    )


class _IdentitySAE(sae.SAE):
    """A perfect reconstruction, to test the splicing itself."""

    def reconstruct(self, x):
        return x


def test_splicing_a_perfect_reconstruction_gives_the_clean_loss(tiny_lm):
    tokens = torch.randint(0, 50, (4, 16), generator=torch.Generator().manual_seed(0))
    perfect = _IdentitySAE(sae.SAEConfig(d_in=32, expansion=2), seed=0)
    losses = sae.splice_losses(tiny_lm, tokens, perfect, "blocks.0.hook_resid_post")
    assert losses.spliced == pytest.approx(losses.clean, abs=1e-5)
    assert losses.zero != pytest.approx(losses.clean, abs=1e-3) and losses.mean != pytest.approx(losses.clean, abs=1e-3)
    assert sae.loss_recovered(losses.clean, losses.spliced, losses.zero) == pytest.approx(1.0, abs=1e-4)


def test_splicing_a_constant_reconstruction_is_mean_or_zero_ablation(tiny_lm):
    tokens = torch.randint(0, 50, (4, 16), generator=torch.Generator().manual_seed(0))
    model = sae.SAE(sae.SAEConfig(d_in=32, expansion=2), seed=0)
    with torch.no_grad():
        model.W_dec.zero_()  # x_hat = b_dec = 0 for every token
    losses = sae.splice_losses(tiny_lm, tokens, model, "blocks.0.hook_resid_post")
    assert losses.spliced == pytest.approx(losses.zero, abs=1e-5)


def test_bad_input_gives_one_line_naming_the_fix():
    for kwargs, field in [
        (dict(d_in=0), "d_in"),
        (dict(d_in=4, l1_coeff=-1.0), "l1_coeff"),
        (dict(d_in=4, lr=0.0), "lr"),
    ]:
        with pytest.raises(ConfigError) as err:
            sae.SAEConfig(**kwargs)
        assert field in str(err.value) and "Fix:" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="flatten"):
        sae.train_sae(torch.randn(10, 5), sae.SAEConfig(d_in=4))
