"""Exercises of notebook 02 (one layer of attention): references, hints and the mistakes their checks name."""

from __future__ import annotations

import torch

from helpers import circuits, dla, models
from helpers.configs import ModelConfig
from helpers.exercises import Exercise, Mistake


def head_logits(z: torch.Tensor, W_O: torch.Tensor, W_U: torch.Tensor, head: int) -> torch.Tensor:
    return z[:, :, head] @ W_O[head] @ W_U


def direct_path_logits(model: torch.nn.Module, cache: object) -> torch.Tensor:
    """[batch, pos, d_vocab]: what the embeddings and the attention bias add to the logits, plus b_U
    (component 0 of ``dla.direct_logit_attribution(...).direct_and_heads()``)."""
    with torch.no_grad():
        return dla.direct_logit_attribution(model, cache, pos=slice(None)).direct_and_heads()[0]


def attention_distance(pattern: torch.Tensor, q_from: int) -> torch.Tensor:
    """[n_heads]: mean over batch and queries i >= q_from of sum_j alpha_ij (i - j)."""
    pos = torch.arange(pattern.shape[-1])
    return (pattern * (pos[:, None] - pos[None, :]).clamp(min=0)).sum(-1)[:, :, q_from:].mean((0, 2))


def own_logit_zscore(M: torch.Tensor) -> torch.Tensor:
    """[n]: how many standard deviations M[b, b] stands above the mean of row b."""
    return (M.diagonal() - M.mean(1)) / M.std(1)


def own_logit_rank(M: torch.Tensor) -> torch.Tensor:
    """[n]: how many entries of row b exceed M[b, b] (0: the token's own logit tops its row)."""
    return (M > M.diagonal()[:, None]).sum(1)


def centred_qk_row(qk_a: torch.Tensor, qk_b: torch.Tensor, query: int) -> torch.Tensor:
    """[d_vocab]: the QK row of `query`, minus the mean row over all queries: (A[query] - mean_a A[a]) @ B."""
    return (qk_a[query] - qk_a.mean(0)) @ qk_b


# --- wrong variants the checks recognise ----------------------------------------------------


def _copying_abs_real(M: torch.Tensor) -> float:
    eig = torch.linalg.eigvals(M.detach().double())
    return float(eig.real.sum() / eig.real.abs().sum())


def _copying_abs_of_sum(M: torch.Tensor) -> float:
    eig = torch.linalg.eigvals(M.detach().double())
    return float(eig.sum().abs() / eig.abs().sum())


def _direct_without_pos(model: torch.nn.Module, cache: object) -> torch.Tensor:
    with torch.no_grad():
        return direct_path_logits(model, cache) - cache["hook_pos_embed"] @ model.W_U  # type: ignore[index]


def _direct_full_logits(model: torch.nn.Module, cache: object) -> torch.Tensor:
    with torch.no_grad():
        return dla.direct_logit_attribution(model, cache, pos=slice(None)).direct_and_heads().sum(0)


def _norms_of_v(pattern: torch.Tensor, v: torch.Tensor, W_O: torch.Tensor) -> torch.Tensor:
    return pattern * v.norm(dim=-1).permute(0, 2, 1).unsqueeze(2)


def _norms_of_query(pattern: torch.Tensor, v: torch.Tensor, W_O: torch.Tensor) -> torch.Tensor:
    fx = torch.einsum("bkhd,hdm->bhkm", v, W_O).norm(dim=-1)
    return pattern * fx.unsqueeze(-1)


# --- small seeded inputs for the unit tests --------------------------------------------------


def _head_inputs() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]]:
    g = torch.Generator().manual_seed(0)
    z, W_O, W_U = (
        torch.randn(2, 5, 4, 3, generator=g),
        torch.randn(4, 3, 8, generator=g),
        torch.randn(8, 11, generator=g),
    )
    return [(z, W_O, W_U, 0), (z, W_O, W_U, 3)]


def _tiny_cache() -> list[tuple[torch.nn.Module, object]]:
    model = models.build_model(ModelConfig(d_vocab=11, n_ctx=8, d_model=8, n_layers=1, n_heads=2, d_head=4, seed=0))
    tokens = torch.randint(0, 11, (3, 8), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens)
    return [(model, cache)]


def _square() -> list[tuple[torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    return [(torch.eye(3),), (torch.randn(6, 6, generator=g),), (-torch.eye(3) + 0.1 * torch.randn(3, 3, generator=g),)]


def _patterns() -> list[tuple[torch.Tensor, int]]:
    g = torch.Generator().manual_seed(0)
    n = 9
    scores = torch.randn(2, 3, n, n, generator=g).masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), float("-inf"))
    return [(scores.softmax(-1), 3)]


def _matrices() -> list[tuple[torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    return [(torch.randn(7, 7, generator=g),)]


def _qk_factors() -> list[tuple[torch.Tensor, torch.Tensor, int]]:
    g = torch.Generator().manual_seed(0)
    A, B = torch.randn(9, 3, generator=g), torch.randn(3, 9, generator=g)
    return [(A, B, 2), (A, B, 7)]


def _norm_inputs() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    n = 5
    scores = torch.randn(2, 3, n, n, generator=g).masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), float("-inf"))
    return [(scores.softmax(-1), torch.randn(2, n, 3, 4, generator=g), torch.randn(3, 4, 6, generator=g))]


EXERCISES = (
    Exercise(
        name="head_logits",
        notebook="02",
        reference=head_logits,
        hint="select the head on axis 2 of z, then multiply by that head's W_O and by W_U.",
        mistakes=(
            Mistake(
                "the sum over all heads instead of the one head",
                "Select the head first: z[:, :, head] @ W_O[head], not an einsum that contracts the head axis.",
                lambda z, W_O, W_U, head: torch.einsum("bphd,hdm->bpm", z, W_O) @ W_U,
            ),
        ),
        examples=_head_inputs,
    ),
    Exercise(
        name="direct_path_logits",
        notebook="02",
        reference=direct_path_logits,
        hint="(cache['hook_embed'] + cache['hook_pos_embed'] + model.b_O[0]) @ model.W_U + model.b_U: every residual term that "
        "is not a head's output.",
        mistakes=(
            Mistake(
                "a missing positional embedding (hook_pos_embed)",
                "The residual stream starts as hook_embed + hook_pos_embed: both are on the direct path.",
                _direct_without_pos,
            ),
            Mistake(
                "the full logits (the head terms included)",
                "Leave out every z_h W_O^h: the direct path is what reaches the logits without any head.",
                _direct_full_logits,
            ),
        ),
        examples=_tiny_cache,
    ),
    Exercise(
        name="copying_score",
        notebook="02",
        reference=circuits.copying_score,
        hint="use the real part of the sum of the eigenvalues, and the sum of their absolute values (complex modulus).",
        mistakes=(
            Mistake(
                "|Re(eigenvalue)| in the denominator instead of the complex modulus |eigenvalue|",
                "Divide by eig.abs().sum(): the modulus of each complex eigenvalue, not of its real part.",
                _copying_abs_real,
            ),
            Mistake(
                "the modulus of the sum in the numerator (which loses the sign)",
                "Take the real part of the sum, eig.sum().real: a suppressing head must score below 0.",
                _copying_abs_of_sum,
            ),
        ),
        examples=_square,
    ),
    Exercise(
        name="attention_distance",
        notebook="02",
        reference=attention_distance,
        hint="pos = torch.arange(n); (pos[:, None] - pos[None, :]) is [query, key] distances i - j; weight them by the "
        "pattern, sum over keys, keep queries from q_from on, average over batch and queries.",
        mistakes=(
            Mistake(
                "every query averaged, not only those from q_from on",
                "Slice the queries [:, :, q_from:] before the mean: the first queries have few keys to choose from.",
                lambda pattern, q_from: attention_distance(pattern, 0),
            ),
            Mistake(
                "a negative distance (key - query instead of query - key)",
                "A key j before query i is i - j tokens back: pos[:, None] - pos[None, :] on [query, key].",
                lambda pattern, q_from: -attention_distance(pattern, q_from),
            ),
        ),
        examples=_patterns,
    ),
    Exercise(
        name="own_logit_zscore",
        notebook="02",
        reference=own_logit_zscore,
        hint="M.diagonal() is each row's own entry; compare it with that row's M.mean(1) and M.std(1).",
        mistakes=(
            Mistake(
                "column statistics (mean(0), std(0)) instead of row statistics",
                "Row b is what attending to b adds to every logit: compare M[b, b] with row b, M.mean(1), M.std(1).",
                lambda M: (M.diagonal() - M.mean(0)) / M.std(0),
            ),
            Mistake(
                "a missing division by the row's standard deviation",
                "A z-score divides the distance from the mean by the row's spread: / M.std(1).",
                lambda M: M.diagonal() - M.mean(1),
            ),
        ),
        examples=_matrices,
    ),
    Exercise(
        name="own_logit_rank",
        notebook="02",
        reference=own_logit_rank,
        hint="(M > M.diagonal()[:, None]) compares every entry of row b with M[b, b]; sum over the row.",
        mistakes=(
            Mistake(
                "each entry compared with its column's diagonal entry (diagonal()[None, :], a missing transpose)",
                "Compare row b with M[b, b]: M.diagonal()[:, None] broadcasts along the row.",
                lambda M: (M > M.diagonal()[None, :]).sum(1),
            ),
        ),
        examples=_matrices,
    ),
    Exercise(
        name="centred_qk_row",
        notebook="02",
        reference=centred_qk_row,
        hint="(qk_a[query] - qk_a.mean(0)) @ qk_b: subtract the mean query row before multiplying by the key side.",
        mistakes=(
            Mistake(
                "a row that is not centred over queries",
                "Subtract qk_a.mean(0), the average query, so that keys every query likes do not dominate.",
                lambda qk_a, qk_b, query: qk_a[query] @ qk_b,
            ),
            Mistake(
                "a column (the token as a key) instead of a row (the token as a query)",
                "The query side is qk_a (rows); index qk_a[query], not qk_b[:, query].",
                lambda qk_a, qk_b, query: (qk_a - qk_a.mean(0)) @ qk_b[:, query],
            ),
        ),
        examples=_qk_factors,
    ),
    Exercise(
        name="weighted_value_norms",
        notebook="02",
        reference=circuits.weighted_value_norms,
        hint="f(x_j) = v_j W_O per head: einsum('bkhd,hdm->bhkm', v, W_O).norm(dim=-1) is [batch, head, key]; "
        "multiply the pattern by it broadcast over the query axis (unsqueeze(2)).",
        mistakes=(
            Mistake(
                "the norm of the value v_j instead of f(x_j) = v_j W_O",
                "Map v_j through the head's W_O first: the residual stream only sees v_j W_O.",
                _norms_of_v,
            ),
            Mistake(
                "the query's ||f(x_i)|| instead of the key's ||f(x_j)||",
                "The vector moved from key j is alpha_ij f(x_j): broadcast the norms over the query axis, unsqueeze(2).",
                _norms_of_query,
            ),
        ),
        examples=_norm_inputs,
    ),
)
