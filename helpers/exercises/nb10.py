"""Exercises of notebook 10 (superposition and sparse autoencoders): references, hints and named mistakes.

Every reference is the ``helpers`` function the notebook uses afterwards (``helpers.superposition``,
``helpers.sae``): nothing is written twice."""

from __future__ import annotations

import torch

from helpers import sae, superposition
from helpers.exercises import Exercise, Mistake


def _g(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _toy_inputs() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    g = _g()
    x = superposition.sample_features(8, (0.0, 0.5, 0.9), 5, g)
    return [(torch.randn(3, 2, 5, generator=g), torch.randn(3, 5, generator=g) * 0.3, x)]


def _loss_inputs() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    W, b, x = _toy_inputs()[0]
    return [(superposition.toy_forward(W, b, x), x, superposition.importance(5, 0.8))]


def _weights() -> list[tuple[torch.Tensor, float]]:
    W = torch.randn(4, 3, 6, generator=_g()) * 0.5
    return [(W, 0.5), (W, 0.8)]


def _sae_params(seed: int = 0) -> tuple[torch.Tensor, ...]:
    g = _g(seed)
    x = torch.randn(16, 6, generator=g)
    return (
        x,
        torch.randn(6, 12, generator=g),
        torch.randn(12, generator=g),
        torch.randn(12, 6, generator=g),
        torch.randn(6, generator=g),
    )


def _sae_loss_inputs() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]]:
    x, *params = _sae_params()
    f, x_hat = sae.sae_forward(x, *params)
    return [(x, x_hat, f, 0.1), (x, x_hat, f, 0.0)]


def _decoders() -> list[tuple[torch.Tensor]]:
    g = _g()
    return [(torch.randn(12, 6, generator=g),), (torch.randn(4, 9, generator=g) * 3,)]


def _directions() -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = _g()
    true = torch.randn(8, 5, generator=g) * 2
    learned = torch.cat([true[:5] + 0.3 * torch.randn(5, 5, generator=g), torch.randn(7, 5, generator=g)])
    return [(true, learned), (true[:3], torch.randn(6, 5, generator=g))]


def _reconstructions() -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = _g()
    x = torch.randn(50, 4, generator=g) + torch.tensor([3.0, -2.0, 0.0, 1.0])  # an offset, like a residual stream
    return [(x, x + 0.5 * torch.randn(50, 4, generator=g))]


def _losses() -> list[tuple[float, float, float]]:
    return [(4.0, 4.5, 7.0), (3.2, 3.3, 5.1), (2.0, 2.0, 6.0)]


def _fve_uncentred(x: torch.Tensor, x_hat: torch.Tensor) -> float:
    return float(1 - ((x - x_hat) ** 2).sum() / (x**2).sum())


EXERCISES = (
    Exercise(
        name="toy_forward",
        notebook="10",
        reference=superposition.toy_forward,
        hint='h = einsum("imf,bif->bim", W, x); then einsum("imf,bim->bif", W, h) + b, then torch.relu.',
        mistakes=(
            Mistake(
                "the read-out without the ReLU",
                "The toy model's output is ReLU(W^T W x + b): the ReLU is what lets it filter interference.",
                lambda W, b, x: torch.einsum("imf,bim->bif", W, torch.einsum("imf,bif->bim", W, x)) + b,
            ),
            Mistake(
                "the read-out without the bias b",
                "Add b[inst] before the ReLU: a negative bias is how the model clips small interference.",
                lambda W, b, x: torch.relu(torch.einsum("imf,bim->bif", W, torch.einsum("imf,bif->bim", W, x))),
            ),
            Mistake(
                "the ReLU applied before adding the bias",
                "The bias goes inside: ReLU(W^T W x + b), not ReLU(W^T W x) + b.",
                lambda W, b, x: torch.relu(torch.einsum("imf,bim->bif", W, torch.einsum("imf,bif->bim", W, x))) + b,
            ),
        ),
        examples=_toy_inputs,
    ),
    Exercise(
        name="importance_weighted_loss",
        notebook="10",
        reference=superposition.importance_weighted_loss,
        hint="(weights * (x - out) ** 2).sum(-1).mean(0): sum over features, mean over the batch, one loss per instance.",
        mistakes=(
            Mistake(
                "the squared error without the importance weights",
                "Multiply each feature's squared error by weights[i] before summing over features.",
                lambda out, x, w: ((x - out) ** 2).sum(-1).mean(0),
            ),
            Mistake(
                "a mean over the features instead of a sum",
                "Sum the weighted errors over the features (dim=-1), then average over the batch only.",
                lambda out, x, w: (w * (x - out) ** 2).mean(-1).mean(0),
            ),
            Mistake(
                "one number for all instances (a mean over the instance axis too)",
                "Each instance is its own model: keep the instance axis and return [inst].",
                lambda out, x, w: (w * (x - out) ** 2).sum(-1).mean(),
            ),
        ),
        examples=_loss_inputs,
    ),
    Exercise(
        name="features_represented",
        notebook="10",
        reference=superposition.features_represented,
        hint="W.norm(dim=1) is [inst, n_features]: the norm of each feature's column over the hidden axis.",
        mistakes=(
            Mistake(
                "norms of the rows of W (over the feature axis) instead of its columns",
                "Feature i's direction is the column W[:, :, i]: take the norm over dim=1 (the hidden axis).",
                lambda W, t: (W.norm(dim=2) > t).sum(-1),
            ),
            Mistake(
                "the largest entry of each column instead of its norm",
                "A feature spread over several hidden dimensions can have small entries and a large norm: use .norm(dim=1).",
                lambda W, t: (W.abs().amax(dim=1) > t).sum(-1),
            ),
        ),
        examples=_weights,
    ),
    Exercise(
        name="sae_forward",
        notebook="10",
        reference=sae.sae_forward,
        hint="f = relu((x - b_dec) @ W_enc + b_enc); x_hat = f @ W_dec + b_dec; return (f, x_hat).",
        mistakes=(
            Mistake(
                "the code f without the ReLU",
                "Latents are non-negative: f = torch.relu((x - b_dec) @ W_enc + b_enc).",
                lambda x, We, be, Wd, bd: ((x - bd) @ We + be, ((x - bd) @ We + be) @ Wd + bd),
            ),
            Mistake(
                "an encoder that does not subtract b_dec first",
                "Centre the input on the decoder's bias: encode x - b_dec, then add b_dec back after decoding.",
                lambda x, We, be, Wd, bd: (torch.relu(x @ We + be), torch.relu(x @ We + be) @ Wd + bd),
            ),
        ),
        examples=lambda: [_sae_params(0), _sae_params(1)],
    ),
    Exercise(
        name="sae_loss",
        notebook="10",
        reference=sae.sae_loss,
        hint="((x - x_hat) ** 2).sum(-1).mean() + l1_coeff * f.abs().sum(-1).mean(): sum within a token, mean over tokens.",
        mistakes=(
            Mistake(
                "the L1 penalty summed over the batch instead of averaged",
                "Average the L1 term over tokens like the error term (.sum(-1).mean()), or l1_coeff depends on the batch size.",
                lambda x, xh, f, c: ((x - xh) ** 2).sum(-1).mean() + c * f.abs().sum(),
            ),
            Mistake(
                "the squared error averaged over d_in instead of summed",
                "Per token, sum the squared error over the d_in dimensions: ||x - x_hat||², then average over tokens.",
                lambda x, xh, f, c: ((x - xh) ** 2).mean() + c * f.abs().sum(-1).mean(),
            ),
            Mistake(
                "an L2 penalty (f squared) instead of L1",
                "Sparsity comes from the L1 norm: sum |f|, not f².",
                lambda x, xh, f, c: ((x - xh) ** 2).sum(-1).mean() + c * (f**2).sum(-1).mean(),
            ),
        ),
        examples=_sae_loss_inputs,
    ),
    Exercise(
        name="normalise_decoder",
        notebook="10",
        reference=sae.normalise_decoder,
        hint="W_dec / W_dec.norm(dim=-1, keepdim=True): each row (one latent's direction) gets norm 1.",
        mistakes=(
            Mistake(
                "the columns normalised instead of the rows",
                "W_dec is [d_sae, d_in]: a latent's direction is a row, so take the norm over dim=-1.",
                lambda W: W / W.norm(dim=0, keepdim=True),
            ),
            Mistake(
                "the whole matrix divided by one norm",
                "Each latent gets its own norm: W_dec.norm(dim=-1, keepdim=True), one number per row.",
                lambda W: W / W.norm(),
            ),
        ),
        examples=_decoders,
    ),
    Exercise(
        name="max_cosine",
        notebook="10",
        reference=sae.max_cosine,
        hint="normalise the rows of both, then (a @ b.T).max(dim=1).values: the best learned match for each true direction.",
        mistakes=(
            Mistake(
                "dot products without normalising the directions",
                "Cosine similarity divides by both norms: normalise the rows of true_dirs and learned_dirs first.",
                lambda a, b: (a @ b.T).max(dim=1).values,
            ),
            Mistake(
                "the absolute cosine (a direction pointing the opposite way counted as a match)",
                "Latents are non-negative, so a decoder direction has a sign: take the max of the signed cosine.",
                lambda a, b: (sae.normalise_decoder(a) @ sae.normalise_decoder(b).T).abs().max(dim=1).values,
            ),
        ),
        examples=_directions,
    ),
    Exercise(
        name="fraction_variance_explained",
        notebook="10",
        reference=sae.fraction_variance_explained,
        hint="1 - ((x - x_hat) ** 2).sum() / ((x - x.mean(0)) ** 2).sum(), as a float.",
        mistakes=(
            Mistake(
                "the variance without centring (sum of x² instead of squared deviations from the mean)",
                "Subtract x.mean(0) in the denominator: a constant offset is not variance the SAE explains.",
                _fve_uncentred,
            ),
            Mistake(
                "the fraction of variance unexplained",
                "That is SSE / variance; the fraction explained is 1 minus it.",
                lambda x, xh: float(((x - xh) ** 2).sum() / ((x - x.mean(0)) ** 2).sum()),
            ),
        ),
        examples=_reconstructions,
    ),
    Exercise(
        name="loss_recovered",
        notebook="10",
        reference=sae.loss_recovered,
        hint="(ablated - spliced) / (ablated - clean).",
        mistakes=(
            Mistake(
                "the fraction of the loss lost, (spliced - clean) / (ablated - clean)",
                "Loss recovered is 1 minus that: (ablated - spliced) / (ablated - clean).",
                lambda c, s, a: (s - c) / (a - c),
            ),
            Mistake(
                "the ratio of the losses, clean / spliced",
                "Compare with the ablation: the SAE's loss is judged on the scale from clean (1) to ablated (0).",
                lambda c, s, a: c / s,
            ),
        ),
        examples=_losses,
    ),
)
