"""The heads of the IOI circuit, scored one by one (notebook 12; Wang et al. 2022, "Interpretability in the Wild").

- ``IOIPositions``: the IO, S1, S2 and END positions and the two answers, one entry per row;
  from an ``ioi.IOIDataset`` (``IOIPositions.of``) or from ``gpt2_ioi_prompts``.
- ``head_catalogue``: for every head, where END and S2 attend, its direct logit attribution to
  ``logit[IO] - logit[S]`` (``helpers.dla``, the course's one DLA) and an OV copying score.
- ``classify_heads`` / ``catalogue_table``: the paper's head classes, under stated thresholds.
- ``name_ov`` and ``name_classes``: each head's OV circuit on the names; names as class ids 0-39 (for probes).
- ``load_gpt2_small`` and ``gpt2_ioi_prompts``: the same analysis on GPT-2 small when the hub
  is reachable (one line, and ``None``, when it is not), on the same templates as ``helpers.ioi``.
"""

from __future__ import annotations

import os
import random
import re
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import torch
from jaxtyping import Float, Int
from torch import Tensor
from transformer_lens.model_bridge import TransformerBridge

from helpers import dla, ioi
from helpers.configs import ModelConfig
from helpers.errors import ConfigError, ShapeError, one_line
from helpers.models import check_tokens, config_of

if TYPE_CHECKING:
    import pandas as pd

GPT2_NAME = "openai-community/gpt2"  # the official hub name ("gpt2" redirects there)
GPT2_EOS = 50256  # GPT-2's <|endoftext|>: its BOS, EOS and (for padding) pad token
SKIPPED = "GPT-2 small is not reachable offline ({why}): skipped. Run this section on Colab or with network access."
# The attention scores: name -> (query position, key position), fields of IOIPositions.
ATTENTION = {
    "duplicate": ("s2_pos", "s1_pos"),
    "s_inhibition": ("end_pos", "s2_pos"),
    "name_mover": ("end_pos", "io_pos"),
    "to_s1": ("end_pos", "s1_pos"),
}


@dataclass(frozen=True)
class IOIPositions:
    """Per-row positions (BOS is position 0) and answers: what ``head_catalogue`` needs to know."""

    io_pos: Int[Tensor, " batch"]
    s1_pos: Int[Tensor, " batch"]
    s2_pos: Int[Tensor, " batch"]
    end_pos: Int[Tensor, " batch"]  # each row's own END: rows may be padded after it
    io_token: Int[Tensor, " batch"]
    s_token: Int[Tensor, " batch"]

    def __post_init__(self) -> None:
        shapes = {f.name: tuple(getattr(self, f.name).shape) for f in fields(self)}
        if len(set(shapes.values())) != 1 or len(next(iter(shapes.values()))) != 1:
            raise ShapeError(f"IOIPositions fields must be 1-D with one entry per row, got shapes {shapes}.")

    @classmethod
    def of(cls, dataset: ioi.IOIDataset) -> IOIPositions:
        return cls(**{f.name: getattr(dataset, f.name) for f in fields(cls)})

    def __len__(self) -> int:
        return self.io_pos.shape[0]

    def to(self, device: torch.device | str) -> IOIPositions:
        return IOIPositions(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})


# --- the catalogue ---------------------------------------------------------------------------


def _hooks_needed(name: str) -> bool:
    """Patterns for the attention scores; what ``dla.residual_stack`` reads for the DLA."""
    return name in ("hook_embed", "hook_pos_embed", "ln_final.hook_scale") or name.endswith(
        ("attn.hook_pattern", "attn.hook_z", "hook_mlp_out")
    )


@torch.no_grad()
def head_catalogue(
    model: TransformerBridge,
    tokens: Int[Tensor, "batch pos"],
    positions: IOIPositions,
    name_tokens: Sequence[int] | Tensor | None = None,
) -> dict[str, Float[Tensor, "n_layers n_heads"]]:
    """Every head's IOI scores, each ``[n_layers, n_heads]`` and averaged over the rows.

    - ``duplicate`` (S2 -> S1), ``s_inhibition`` (END -> S2), ``name_mover`` (END -> IO),
      ``to_s1`` (END -> S1): the attention probability from the first position to the second.
    - ``dla``: the head's direct effect on ``logit[IO] - logit[S]`` at END (``helpers.dla``: the
      final LayerNorm's scale, if the model has one, is frozen at its cached value, so the heads'
      DLAs plus the direct path add up to the logit difference, for GPT-2 as for our LN-free models).
    - ``copying``: the fraction of names ``n`` for which ``W_E[n] @ W_OV @ W_U``, restricted to the
      names' columns, is largest at ``n`` itself (1: the head copies every name; chance is
      ``1/len(names)``). Raw embeddings and no biases, for every model alike. ``name_tokens``
      defaults to the names that are answers in ``positions``.
    """
    if tokens.shape[0] != len(positions):
        raise ShapeError(f"tokens have {tokens.shape[0]} rows but positions has {len(positions)}: pass the same rows.")
    if int(positions.end_pos.max()) >= tokens.shape[1]:
        raise ShapeError(
            f"positions.end_pos reaches {int(positions.end_pos.max())}, past the {tokens.shape[1]} tokens."
        )
    check_tokens(tokens, config_of(model))
    device = model.W_E.device  # a GPT-2 on a GPU: indices must live where the cache does
    positions = positions.to(device)
    _, cache = model.run_with_cache(tokens.to(device), names_filter=_hooks_needed)
    rows, n_layers = torch.arange(len(positions), device=device), model.cfg.n_layers
    out = {}
    for score, (query, key) in ATTENTION.items():
        q, k = getattr(positions, query), getattr(positions, key)
        per_layer = [cache[f"blocks.{l}.attn.hook_pattern"][rows, :, q, k].mean(0) for l in range(n_layers)]
        out[score] = torch.stack(per_layer)  # each pattern[rows, :, q, k] is [batch, head]
    att = dla.direct_logit_attribution(model, cache, positions.io_token, positions.s_token, pos=positions.end_pos)
    out["dla"] = att.direct_and_heads()[1:].mean(1).view(n_layers, -1)  # row 0 is the direct path
    answers = torch.cat([positions.io_token, positions.s_token])
    names = (answers if name_tokens is None else torch.as_tensor(name_tokens, device=device)).unique()
    if len(names) < 2:
        raise ConfigError(f"name_tokens must hold at least 2 distinct token ids, got {names.tolist()}.")
    ov = name_ov(model, names)  # [layer, head, name, name]
    out["copying"] = (ov.argmax(-1) == torch.arange(len(names), device=device)).float().mean(-1)
    return {k: v.detach().float().cpu() for k, v in out.items()}


@torch.no_grad()
def name_ov(
    model: TransformerBridge, names: Int[Tensor, " n_names"]
) -> Float[Tensor, "n_layers n_heads n_names n_names"]:
    """Every head's OV circuit on the names, ``W_E[names] @ W_OV @ W_U[:, names]`` (notebook 12): entry
    ``[l, h, i, j]`` is what head ``l.h`` attending to name ``i`` adds to name ``j``'s logit (no biases)."""
    return (model.W_E[names] @ model.OV @ model.W_U[:, names]).AB


def name_classes(token_ids: Int[Tensor, " batch"]) -> Int[Tensor, " batch"]:
    """Each name token's index in ``ioi.NAMES`` (0-39): the class labels of notebook 12's probes."""
    stoi = ioi.IOIVocab().stoi
    table = torch.full((len(stoi),), -1, dtype=torch.long)
    table[[stoi[n] for n in ioi.NAMES]] = torch.arange(len(ioi.NAMES))
    found = table[token_ids.cpu()]
    if (found < 0).any():
        raise ConfigError("name_classes takes name tokens only (dataset.io_token, dataset.s_token): got other words.")
    return found


@dataclass(frozen=True)
class HeadThresholds:
    """When a head counts as one of the paper's classes (see ``classify_heads``).

    Attention thresholds are probabilities: 0.3 is several times what a head spreading its
    attention evenly over a 15-20 token sentence would give (0.05-0.07). ``dla_frac`` is relative:
    a name mover's |DLA| must be at least this fraction of the largest |DLA| of any head, so the
    rule does not depend on the model's logit scale.
    """

    duplicate: float = 0.3
    s_inhibition: float = 0.3
    name_mover: float = 0.3
    dla_frac: float = 0.1

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not 0 <= value <= 1:
                raise ConfigError(f"{f.name} must be in [0, 1], got {value!r}. Fix: e.g. {f.name}={f.default}.")


def classify_heads(
    catalogue: dict[str, Tensor], thresholds: HeadThresholds | None = None
) -> list[tuple[int, int, str]]:
    """``(layer, head, class)`` for every head that passes a class's rule; a head may have several.

    - "duplicate-token": S2 attends to S1 (``duplicate >= thresholds.duplicate``).
    - "S-inhibition": END attends to S2 (``s_inhibition >= thresholds.s_inhibition``).
    - "name mover": END attends to IO (``name_mover >= thresholds.name_mover``) and its DLA is
      positive and large (``dla >= dla_frac * max |dla|``); "negative name mover": the same
      attention, with a DLA at most ``-dla_frac * max |dla|`` (it writes *against* the IO).
    """
    t = thresholds or HeadThresholds()
    missing = sorted({"duplicate", "s_inhibition", "name_mover", "dla"} - set(catalogue))
    if missing:
        raise ConfigError(f"catalogue lacks {missing}: pass the dict that head_catalogue returns.")
    dla_min = t.dla_frac * float(catalogue["dla"].abs().max())
    rules = {
        "duplicate-token": catalogue["duplicate"] >= t.duplicate,
        "S-inhibition": catalogue["s_inhibition"] >= t.s_inhibition,
        "name mover": (catalogue["name_mover"] >= t.name_mover) & (catalogue["dla"] >= dla_min),
        "negative name mover": (catalogue["name_mover"] >= t.name_mover) & (catalogue["dla"] <= -dla_min),
    }
    found = [(int(l), int(h), kind) for kind, mask in rules.items() for l, h in mask.nonzero().tolist()]
    return sorted(found, key=lambda x: (x[0], x[1], list(rules).index(x[2])))


def catalogue_table(catalogue: dict[str, Tensor], thresholds: HeadThresholds | None = None) -> pd.DataFrame:
    """One row per head (``layer``, ``head``, every score, ``classes``), as a pandas DataFrame."""
    import pandas as pd  # installed with ``datasets``; imported here because it is slow to import

    classes: dict[tuple[int, int], list[str]] = {}
    for l, h, kind in classify_heads(catalogue, thresholds):
        classes.setdefault((l, h), []).append(kind)
    grid = torch.cartesian_prod(*(torch.arange(n) for n in catalogue["dla"].shape))  # layer-major, as flatten()
    table = pd.DataFrame({"layer": grid[:, 0].numpy(), "head": grid[:, 1].numpy()})
    for k, v in catalogue.items():
        table[k] = v.flatten().numpy()
    table["classes"] = [", ".join(classes.get((l, h), [])) for l, h in grid.tolist()]
    return table


# --- GPT-2 small, when the hub is reachable ------------------------------------------------


def course_config_from_bridge(model: TransformerBridge) -> ModelConfig:
    """A ``ModelConfig`` describing a hub model, so ``helpers.dla`` (``config_of``) can read it."""
    c = model.cfg
    sizes = {k: getattr(c, k) for k in ("d_vocab", "n_ctx", "d_model", "n_layers", "n_heads", "d_head")}
    d_mlp = None if c.attn_only else c.d_mlp
    return ModelConfig(**sizes, d_mlp=d_mlp, act_fn=c.act_fn, normalization_type=c.normalization_type)


def _in_hub_cache() -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(GPT2_NAME, "config.json"), str)


def load_gpt2_small(offline_message: bool = True, device: str | torch.device | None = None) -> TransformerBridge | None:
    """GPT-2 small as a ``TransformerBridge`` (raw hub weights, LayerNorm unfolded), or ``None`` offline.

    Offline (``HF_HUB_OFFLINE`` set and the model not cached, no network, or any other OS or HTTP
    error while loading) it prints one line saying what was skipped (unless ``offline_message``
    is False) and returns ``None`` at once: with ``HF_HUB_OFFLINE`` set, nothing touches the network.
    """
    from helpers.data import hub_access

    def skipped(why: str) -> None:
        if offline_message:
            print(SKIPPED.format(why=why))

    if os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0") and not _in_hub_cache():
        return skipped("HF_HUB_OFFLINE is set and it is not cached")
    from huggingface_hub.errors import HTTPError  # the hub client's HTTP errors are not all OSErrors

    try:
        with hub_access():  # no network: offline mode, so an uncached model fails at once, not after retries
            model = _boot_gpt2(device)
    except (OSError, HTTPError) as e:
        return skipped(textwrap.shorten(one_line(f"{type(e).__name__}: {e}"), 100, placeholder="..."))
    model.course_config = course_config_from_bridge(model)  # helpers.dla reads the shapes from it
    model.eval()
    return model


def _boot_gpt2(device: str | torch.device | None) -> TransformerBridge:
    return TransformerBridge.boot_transformers(GPT2_NAME, device=device)


def gpt2_ioi_prompts(
    tokenizer_encode: Callable[[str], list[int]],
    n: int,
    seed: int = 0,
    bos_id: int = GPT2_EOS,
    pad_id: int | None = None,
) -> tuple[Int[Tensor, "batch pos"], IOIPositions]:
    """``n`` IOI sentences on ``helpers.ioi``'s templates and words, tokenised by ``tokenizer_encode``.

    Only names that are ONE token with a leading space (" Mary") are used, so IO, S1 and S2 are
    single positions. Each row is BOS, then the sentence, right-padded with ``pad_id`` (default:
    ``bos_id``); ``end_pos`` is each row's own last token. The sentence is tokenised piece by piece
    around the names, which for GPT-2 equals tokenising it whole (a name always starts a new word).
    Half the rows (rounded) are BABA, as in ``ioi.ioi_dataset``.
    """
    if n <= 0:
        raise ConfigError(f"n (the number of sentences) must be positive, got {n}.")
    names = [x for x in ioi.NAMES if len(tokenizer_encode(" " + x)) == 1]
    if len(names) < 2:
        raise ConfigError(
            f"only {len(names)} of helpers.ioi.NAMES is one token with a leading space under tokenizer_encode; "
            "IOI needs at least 2. Fix: pass the model's own tokenizer's encode."
        )
    rng = random.Random(seed)
    babas = set(rng.sample(range(n), n // 2))
    rows, cols = [], {f.name: [] for f in fields(IOIPositions)}
    for i in range(n):
        template = rng.choice(ioi.TEMPLATES)
        io, s = rng.sample(names, 2)
        slots = [s, io, s] if i in babas else [io, s, s]  # the names in the order they appear
        text = template.replace("[PLACE]", rng.choice(ioi.PLACES)).replace("[OBJECT]", rng.choice(ioi.OBJECTS))
        ids, at = [bos_id], []
        for piece in re.split(r"( \[[AB]\])", text):  # every name slot follows a space
            if piece in (" [A]", " [B]"):
                at.append(len(ids))
                ids.append(tokenizer_encode(" " + slots[len(at) - 1])[0])
            elif piece:
                ids.extend(tokenizer_encode(piece))
        io_pos, s1_pos = (at[1], at[0]) if i in babas else (at[0], at[1])
        rows.append(ids)
        found = dict(io_pos=io_pos, s1_pos=s1_pos, s2_pos=at[2], end_pos=len(ids) - 1)
        for key, value in (found | dict(io_token=ids[io_pos], s_token=ids[at[2]])).items():
            cols[key].append(value)
    tokens = torch.full((n, max(map(len, rows))), bos_id if pad_id is None else pad_id, dtype=torch.long)
    for i, ids in enumerate(rows):
        tokens[i, : len(ids)] = torch.tensor(ids)
    return tokens, IOIPositions(**{k: torch.tensor(v, dtype=torch.long) for k, v in cols.items()})
