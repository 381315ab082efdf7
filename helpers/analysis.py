"""Kept only for the notebooks until they migrate: the functions that lived here moved.

- ``to_str_tokens``, ``top_k_tokens``   -> ``helpers.tokens``
- ``entropy``, ``kl_divergence``, ``rank_correlation``  -> ``helpers.stats``

New code imports them from their modules; this one only re-exports them.
"""

from helpers.stats import entropy, kl_divergence, rank_correlation
from helpers.tokens import to_str_tokens, top_k_tokens

__all__ = ["entropy", "kl_divergence", "rank_correlation", "to_str_tokens", "top_k_tokens"]
