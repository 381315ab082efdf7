"""IOI head scores (helpers.ioi_heads): attention read at the right places, DLA that adds up, the classes,
GPT-2 prompts and positions, the GPT-2 loader offline, and a GPT-2-shaped model end to end. All offline."""

import re
import time

import pytest
import torch
from jaxtyping import TypeCheckError

from helpers import dla
from helpers import ioi_heads as H
from helpers.configs import ModelConfig
from helpers.errors import ConfigError, ShapeError
from helpers.ioi import (
    NAMES,
    OBJECTS,
    PLACES,
    TEMPLATES,
    IOIConfig,
    IOIVocab,
    ioi_dataset,
    ioi_n_ctx,
    ioi_words,
    logit_diff,
)
from helpers.models import build_model

VOCAB = IOIVocab()
SCORES = {"duplicate", "s_inhibition", "name_mover", "to_s1", "dla", "copying"}


def _ioi_model(seed: int = 0):
    """An attention-only, LayerNorm-free model sized like the course's IOI models, with non-zero biases."""
    cfg = ModelConfig(
        d_vocab=VOCAB.vocab_size, n_ctx=ioi_n_ctx(), d_model=32, n_layers=2, n_heads=4, d_head=8, seed=seed
    )
    m = build_model(cfg)
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for _, p in m.named_parameters():
            if p.dim() == 1:
                p.add_(0.3 * torch.randn(p.shape, generator=g))
    return m.eval()


# --- a fake GPT-2-style tokenizer: " word" pieces; names longer than 5 letters are two pieces ---

_WORDS = sorted({w for t in TEMPLATES for w in ioi_words(t) if not w.startswith("[")} | {*NAMES, *PLACES, *OBJECTS})
_LONG = {n for n in NAMES if len(n) > 5}  # e.g. " Martin" -> " Mar" + "tin": not a single token
_PIECES = ["<eos>", *_WORDS, *(" " + w for w in _WORDS if w not in _LONG)]
_PIECES += [p for n in sorted(_LONG) for p in (" " + n[:3], n[3:])]
FAKE_IDS = {p: i for i, p in enumerate(_PIECES)}


def fake_encode(text: str) -> list[int]:
    out = []
    for piece in re.findall(r" ?\w+|[^\w\s]", text):
        out += [FAKE_IDS[piece[:4]], FAKE_IDS[piece[4:]]] if piece.strip() in _LONG else [FAKE_IDS[piece]]
    return out


def _gpt2_shaped(n_ctx: int = 32):
    cfg = ModelConfig(
        d_vocab=len(_PIECES), n_ctx=n_ctx, d_model=32, n_layers=2, n_heads=4, d_head=8,
        d_mlp=128, act_fn="gelu", normalization_type="LN", seed=0,
    )  # fmt: skip
    return build_model(cfg).eval()


def _hf_gpt2_bridge(n_ctx: int = 32):
    """A tiny randomly initialised HF GPT-2 booted the way load_gpt2_small boots the real one (offline)."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    torch.manual_seed(0)
    hf = GPT2LMHeadModel(GPT2Config(vocab_size=len(_PIECES), n_positions=n_ctx, n_embd=32, n_layer=2, n_head=4))
    tok = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer(WordLevel({"<eos>": 0}, unk_token="<eos>")),
        bos_token="<eos>", eos_token="<eos>", name_or_path="fake", add_bos_token=True,
    )  # fmt: skip
    return H.TransformerBridge.boot_transformers(H.GPT2_NAME, hf_model=hf, tokenizer=tok, device="cpu").eval()


# --- (a) attention scores are the pattern at the right places --------------------------------


def test_attention_scores_read_the_pattern_at_the_right_positions():
    model, d = _ioi_model(), ioi_dataset(IOIConfig(), 12, "train", seed=0)
    with torch.no_grad():  # layer 0's queries all zero: every head attends uniformly, 1 / (q + 1)
        for name, p in model.named_parameters():
            if name.startswith("layers.0.") and ".q." in name:
                p.zero_()
    cat = H.head_catalogue(model, d.tokens, H.IOIPositions.of(d))
    assert set(cat) == SCORES and all(v.shape == (2, 4) for v in cat.values())
    uniform = {"duplicate": d.s2_pos, "s_inhibition": d.end_pos, "name_mover": d.end_pos, "to_s1": d.end_pos}
    for score, query in uniform.items():
        want = (1.0 / (query + 1).float()).mean().expand(4)
        assert torch.allclose(cat[score][0], want, atol=1e-6), f"{score}: a uniform head should score mean 1/(q+1)"
    _, cache = model.run_with_cache(d.tokens)
    p1 = cache["blocks.1.attn.hook_pattern"]
    places = {"duplicate": (d.s2_pos, d.s1_pos), "s_inhibition": (d.end_pos, d.s2_pos)}
    places |= {"name_mover": (d.end_pos, d.io_pos), "to_s1": (d.end_pos, d.s1_pos)}
    for score, (q, k) in places.items():
        want = torch.stack([p1[i, :, q[i], k[i]] for i in range(len(d))]).mean(0)
        assert torch.allclose(cat[score][1], want, atol=1e-6), f"{score} is not pattern[query, key] averaged over rows"


# --- (b) the heads' DLA plus the direct path is the logit difference -------------------------


def test_dla_per_head_adds_up_to_the_logit_difference():
    model, d = _ioi_model(seed=1), ioi_dataset(IOIConfig(), 16, "test", seed=1)
    cat = H.head_catalogue(model, d.tokens, H.IOIPositions.of(d))
    logits, cache = model.run_with_cache(d.tokens)
    rows, u = torch.arange(len(d)), model.W_U[:, d.io_token] - model.W_U[:, d.s_token]  # [d_model, batch]
    # The direct path, by hand: embeddings at END plus every attention bias, then the unembedding and its bias.
    resid = model.W_E[d.tokens[rows, d.end_pos]] + model.W_pos[d.end_pos] + model.b_O.sum(0)
    direct = (resid * u.T).sum(-1) + model.b_U[d.io_token] - model.b_U[d.s_token]
    want = logit_diff(logits, d).mean()
    assert torch.allclose(cat["dla"].sum() + direct.mean(), want, atol=1e-4), "heads + direct path != logit diff"
    z = cache["blocks.1.attn.hook_z"][rows, d.end_pos, 2]  # one head, by hand
    assert torch.allclose(cat["dla"][1, 2], ((z @ model.W_O[1, 2]) * u.T).sum(-1).mean(), atol=1e-5)


def test_dla_on_a_gpt2_shaped_hub_bridge_uses_the_final_layernorm_scale():
    model = _hf_gpt2_bridge()
    model.course_config = H.course_config_from_bridge(model)
    tokens, pos = H.gpt2_ioi_prompts(fake_encode, 8, seed=0, bos_id=0)
    cat = H.head_catalogue(model, tokens, pos)
    logits, cache = model.run_with_cache(tokens)
    assert "ln_final.hook_scale" in cache.keys(), "the GPT-2 bridge should cache the final LayerNorm's scale"
    rows, u = torch.arange(len(pos)), model.W_U[:, pos.io_token] - model.W_U[:, pos.s_token]
    out = cache["blocks.1.attn.hook_z"][rows, pos.end_pos, 3] @ model.W_O[1, 3]
    normed = (out - out.mean(-1, keepdim=True)) / cache["ln_final.hook_scale"][rows, pos.end_pos]
    want = (normed * model.ln_final.weight * u.T).sum(-1).mean()
    assert torch.allclose(cat["dla"][1, 3], want, atol=1e-5), "DLA must centre, divide by the cached scale, apply w_ln"
    end = logits[rows, pos.end_pos]
    want_diff = (end[rows, pos.io_token] - end[rows, pos.s_token]).mean()
    direct = dla.direct_logit_attribution(model, cache, pos.io_token, pos.s_token, pos.end_pos).direct_and_heads()[0]
    assert torch.allclose(cat["dla"].sum() + direct.mean(), want_diff, atol=1e-4), "heads + direct path != logit diff"


def test_copying_score_is_one_for_a_copying_head_and_zero_for_its_negation():
    model, d = _ioi_model(), ioi_dataset(IOIConfig(), 4, "train")
    names = torch.tensor([VOCAB.stoi[n] for n in NAMES])
    params = dict(model.named_parameters())
    v, o = (
        params[f"layers.1._original_component.attn._original_component.{x}._original_component.weight"] for x in "vo"
    )
    with torch.no_grad():  # names: unit vectors in the first 8 dimensions, read out by W_U = W_E^T
        e = torch.randn(len(names), 8, generator=torch.Generator().manual_seed(0))
        params["tok_embed._original_component.weight"][names] = 0.0
        params["tok_embed._original_component.weight"][names, :8] = e / e.norm(dim=1, keepdim=True)
        params["head._original_component.weight"][names] = model.W_E[names]
        v[8:24, :8] = torch.eye(8).repeat(2, 1)  # heads 1 and 2 read the first 8 dimensions...
        o[:8, 8:16], o[:8, 16:24] = torch.eye(8), -torch.eye(8)  # ...head 1 writes them back, head 2 negated
    cat = H.head_catalogue(model, d.tokens, H.IOIPositions.of(d), name_tokens=names)
    assert cat["copying"][1, 1] == 1.0, "a head whose OV circuit is W_E W_E^T on the names copies every name"
    assert cat["copying"][1, 2] == 0.0, "its negation never ranks a name's own logit first"


# --- (c) classes ------------------------------------------------------------------------------


def test_classify_heads_on_a_synthetic_catalogue():
    cat = {k: torch.zeros(3, 2) for k in SCORES}
    cat["duplicate"][0, 1] = 0.8
    cat["s_inhibition"][1, 0] = 0.5
    cat["name_mover"][2, 0], cat["dla"][2, 0] = 0.6, 2.0
    cat["name_mover"][2, 1], cat["dla"][2, 1] = 0.6, -1.0
    cat["name_mover"][1, 1], cat["dla"][1, 1] = 0.6, 0.1  # attends to IO but writes little: no class
    cat["dla"][0, 0] = 3.0  # a large DLA without the attention: no class either
    want = [(0, 1, "duplicate-token"), (1, 0, "S-inhibition"), (2, 0, "name mover"), (2, 1, "negative name mover")]
    assert H.classify_heads(cat) == want
    assert (1, 1, "name mover") in H.classify_heads(cat, H.HeadThresholds(dla_frac=0.01))
    assert H.classify_heads(cat, H.HeadThresholds(duplicate=0.9, s_inhibition=0.9, name_mover=0.9)) == []
    table = H.catalogue_table(cat)
    assert len(table) == 6 and list(table[["layer", "head"]].iloc[3]) == [1, 1]
    assert table.set_index(["layer", "head"]).loc[(2, 1), "classes"] == "negative name mover"
    with pytest.raises(ConfigError, match="dla_frac"):
        H.HeadThresholds(dla_frac=1.5)
    with pytest.raises(ConfigError, match="lacks \\['dla'\\]"):
        H.classify_heads({k: v for k, v in cat.items() if k != "dla"})


# --- GPT-2 prompts ------------------------------------------------------------------------------


def _check_prompts(tokens, pos, encode, decode, bos, n):
    rows = torch.arange(n)
    assert tokens.shape[0] == n and (tokens[:, 0] == bos).all(), "rows start with BOS"
    assert torch.equal(tokens[rows, pos.io_pos], pos.io_token) and torch.equal(tokens[rows, pos.s1_pos], pos.s_token)
    assert torch.equal(tokens[rows, pos.s2_pos], pos.s_token) and (pos.io_token != pos.s_token).all()
    assert (tokens[rows, pos.end_pos] == encode(" to")[0]).all(), "END is ' to'"
    assert (pos.s2_pos > torch.maximum(pos.io_pos, pos.s1_pos)).all()
    assert int((pos.io_pos > pos.s1_pos).sum()) == n // 2, "half the rows are BABA"
    for i in range(n):
        ids = tokens[i, : int(pos.end_pos[i]) + 1].tolist()
        assert (tokens[i, len(ids) :] == bos).all(), "padding after END"
        assert encode(decode(ids[1:])) == ids[1:], "piecewise tokenisation must equal tokenising the sentence whole"


def test_gpt2_prompts_with_a_fake_tokenizer_skip_multi_token_names():
    tokens, pos = H.gpt2_ioi_prompts(fake_encode, 64, seed=3, bos_id=0)
    _check_prompts(tokens, pos, fake_encode, lambda ids: "".join(_PIECES[i] for i in ids), 0, 64)
    used = {_PIECES[i].strip() for i in torch.cat([pos.io_token, pos.s_token]).tolist()}
    assert used and not used & _LONG, f"names that are two tokens must not be used: {used & _LONG}"
    assert len(pos.end_pos.unique()) > 1, "rows of different lengths keep their own END"
    again = H.gpt2_ioi_prompts(fake_encode, 64, seed=3, bos_id=0)
    assert torch.equal(again[0], tokens) and not torch.equal(H.gpt2_ioi_prompts(fake_encode, 64, 4, 0)[0], tokens)


def test_gpt2_prompts_with_gpt2s_own_tokenizer():
    from helpers.errors import MissingDataError
    from helpers.tokenization import GPT2Tokenizer

    try:
        tok = GPT2Tokenizer()
    except MissingDataError:
        pytest.skip("GPT-2's BPE ranks are not installed")
    tokens, pos = H.gpt2_ioi_prompts(tok.encode, 48, seed=0)
    _check_prompts(tokens, pos, tok.encode, tok.decode, H.GPT2_EOS, 48)


def test_bad_prompt_and_catalogue_input_says_the_fix():
    with pytest.raises(ConfigError, match="n \\(the number"):
        H.gpt2_ioi_prompts(fake_encode, 0)
    with pytest.raises(ConfigError, match="one token with a leading space"):
        H.gpt2_ioi_prompts(lambda s: list(s.encode()), 4)  # bytes: no name is one token
    d = ioi_dataset(IOIConfig(), 4, "train")
    with pytest.raises(ShapeError, match="same rows"):
        H.head_catalogue(_ioi_model(), d.tokens[:3], H.IOIPositions.of(d))
    with pytest.raises((ShapeError, TypeCheckError)):
        H.IOIPositions(d.io_pos[:3], d.s1_pos, d.s2_pos, d.end_pos, d.io_token, d.s_token)


# --- (d) the GPT-2 loader offline ---------------------------------------------------------------


def _must_not_boot(device):
    raise AssertionError("load_gpt2_small must not try to load anything offline")


def test_load_gpt2_small_offline_returns_none_at_once_with_one_line(monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(H, "_in_hub_cache", lambda: False)
    monkeypatch.setattr(H, "_boot_gpt2", _must_not_boot)
    start = time.perf_counter()
    assert H.load_gpt2_small() is None
    assert time.perf_counter() - start < 1.0, "offline must return at once"
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and "skipped" in lines[0] and "Colab" in lines[0], lines
    assert H.load_gpt2_small(offline_message=False) is None and capsys.readouterr().out == ""


@pytest.mark.parametrize("error", [OSError("We couldn't connect to 'https://huggingface.co'"), "http"])
def test_load_gpt2_small_turns_a_loading_error_into_one_line(monkeypatch, capsys, error):
    from huggingface_hub.errors import HTTPError

    exc = HTTPError("connect timeout\nretrying") if error == "http" else error

    def boot(device):
        raise exc

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr("helpers.data.network_problem", lambda *a, **k: None)  # no real socket in the tests
    monkeypatch.setattr(H, "_boot_gpt2", boot)
    assert H.load_gpt2_small() is None
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and type(exc).__name__ in lines[0] and "skipped" in lines[0], lines


def test_load_gpt2_small_online_gives_a_model_the_helpers_can_read(monkeypatch, capsys):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr("helpers.data.network_problem", lambda *a, **k: None)
    monkeypatch.setattr(H, "_boot_gpt2", lambda device: _hf_gpt2_bridge())
    model = H.load_gpt2_small()
    assert model is not None and capsys.readouterr().out == ""
    cfg = model.course_config
    assert (cfg.n_layers, cfg.n_heads, cfg.d_mlp, cfg.normalization_type) == (2, 4, 128, "LN")


# --- (e) a GPT-2-shaped model end to end --------------------------------------------------------


def test_catalogue_on_a_tiny_gpt2_shaped_model():
    tokens, pos = H.gpt2_ioi_prompts(fake_encode, 24, seed=0, bos_id=0)
    model = _gpt2_shaped()
    names = [FAKE_IDS[" " + n] for n in NAMES if n not in _LONG]
    cat = H.head_catalogue(model, tokens, pos, name_tokens=names)
    assert set(cat) == SCORES
    for k, v in cat.items():
        assert v.shape == (2, 4) and torch.isfinite(v).all(), k
    for k in ("duplicate", "s_inhibition", "name_mover", "to_s1", "copying"):
        assert ((cat[k] >= 0) & (cat[k] <= 1)).all(), f"{k} must lie in [0, 1]"
    assert len(H.catalogue_table(cat)) == 8


def test_name_ov_is_the_catalogues_copying_circuit_and_name_classes_index_names():
    model, d = _ioi_model(), ioi_dataset(IOIConfig(), 8, "train")
    names = torch.tensor([VOCAB.stoi[n] for n in NAMES])
    ov = H.name_ov(model, names)
    assert ov.shape == (2, 4, len(NAMES), len(NAMES))
    l, h, i, j = 1, 2, 5, 9  # one entry by hand: name i's embedding through head 1.2's OV, read by name j's unembedding
    by_hand = model.W_E[names[i]] @ model.W_V[l, h] @ model.W_O[l, h] @ model.W_U[:, names[j]]
    assert torch.allclose(ov[l, h, i, j], by_hand, atol=1e-5)
    cat = H.head_catalogue(model, d.tokens, H.IOIPositions.of(d), name_tokens=names)
    assert torch.equal(cat["copying"], (ov.argmax(-1) == torch.arange(len(NAMES))).float().mean(-1))
    classes = H.name_classes(d.io_token)
    assert [NAMES[c] for c in classes.tolist()] == [VOCAB.id_to_str(int(t)) for t in d.io_token]
    with pytest.raises(ConfigError, match="name tokens only"):
        H.name_classes(d.tokens[:, 0])  # the first word of each row is no name
