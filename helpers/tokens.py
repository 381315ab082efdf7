"""Token ids shown as text, for printing and figure labels (notebooks 00, 02-04).

The course tokenizers (``helpers.data``) map one id to a display string with ``id_to_str``
(BOS shown as ``<|bos|>``); these helpers apply it to a row of ids or to the top of a score vector.
"""

from __future__ import annotations

from collections.abc import Sequence

from jaxtyping import Float, Int
from torch import Tensor


def to_str_tokens(tokenizer: object, tokens: Int[Tensor, " pos"] | Sequence[int]) -> list[str]:
    """Token ids as display strings (BOS shown as ``<|bos|>``), using the course tokenizer."""
    ids = tokens.tolist() if isinstance(tokens, Tensor) else list(tokens)
    return [tokenizer.id_to_str(i) for i in ids]  # type: ignore[attr-defined]


def top_k_tokens(
    scores: Float[Tensor, " d_vocab"], tokenizer: object, k: int = 10, largest: bool = True
) -> list[tuple[str, float]]:
    """The ``k`` highest (or lowest) scoring tokens with their scores."""
    vals, idx = scores.topk(k, largest=largest)
    return [(tokenizer.id_to_str(int(i)), float(v)) for v, i in zip(vals, idx)]  # type: ignore[attr-defined]
