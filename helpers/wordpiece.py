"""A BERT-style WordPiece tokenizer, trained here offline with the ``tokenizers`` library (notebook 05).

BERT lower-cases, splits text into words and punctuation, then cuts each word greedily into the
longest pieces in its vocabulary: the first piece as is, the others with a ``##`` prefix
(``"unwatchable"`` -> ``["un", "##watch", "##able"]``); a word it cannot cut becomes ``[UNK]``.
``train_wordpiece`` learns such a vocabulary from some texts in seconds; ``WordPieceTokenizer``
has the four members of ``helpers.tokenization.Tokenizer``, so the classifier of notebook 05 can
read its ids like those of the other tokenizers. Id 0 is ``[PAD]``, as in BERT (no BOS: the
classifier adds its own specials).
"""

from __future__ import annotations

from collections.abc import Sequence

from helpers.errors import ConfigError

SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")  # BERT's, in BERT's order of importance
PREFIX = "##"


class WordPieceTokenizer:
    """A trained ``tokenizers`` WordPiece tokenizer behind the course's ``Tokenizer`` protocol."""

    def __init__(self, tok: "tokenizers.Tokenizer"):  # type: ignore[name-defined]  # noqa: F821
        self.tok = tok

    @property
    def vocab_size(self) -> int:
        return self.tok.get_vocab_size()

    @property
    def vocab(self) -> dict[str, int]:
        """Piece -> id (continuation pieces start with ``##``)."""
        return self.tok.get_vocab()

    def encode(self, text: str) -> list[int]:
        return self.tok.encode(text, add_special_tokens=False).ids

    def pieces(self, text: str) -> list[str]:
        """The pieces ``text`` becomes, e.g. ``['the', 'film', 'is', 'un', '##watch', '##able']``."""
        return self.tok.encode(text, add_special_tokens=False).tokens

    def decode(self, ids: Sequence[int]) -> str:
        return self.tok.decode(list(ids))

    def id_to_str(self, i: int) -> str:
        return self.tok.id_to_token(i)


def train_wordpiece(texts: Sequence[str], vocab_size: int = 4096, min_frequency: int = 2) -> WordPieceTokenizer:
    """Train a lower-casing WordPiece tokenizer on ``texts`` (about a second for 10,000 reviews).

    Deterministic given the texts. ``vocab_size`` counts the specials and the single characters.
    """
    if vocab_size < 100:
        raise ConfigError(f"vocab_size must be at least 100 (specials, characters and some words), got {vocab_size}.")
    if not texts:
        raise ConfigError("train_wordpiece needs some texts to learn from.")
    from tokenizers import Tokenizer as HFTokenizer
    from tokenizers import decoders, models, normalizers, pre_tokenizers, trainers

    tok = HFTokenizer(models.WordPiece(unk_token="[UNK]", continuing_subword_prefix=PREFIX))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix=PREFIX)
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=list(SPECIALS),
        continuing_subword_prefix=PREFIX, show_progress=False,
    )  # fmt: skip
    tok.train_from_iterator(list(texts), trainer=trainer)
    return WordPieceTokenizer(tok)
