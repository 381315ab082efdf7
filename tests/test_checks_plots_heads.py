import pytest
import torch

from helpers import checks, exercises, heads, plots, stats, tokens
from helpers.errors import ShapeError


def test_check_exercise_paths(capsys, monkeypatch):
    ref = lambda x: x * 2  # noqa: E731
    wrong_by_one = exercises.Mistake("adding one instead of doubling", "Multiply by two.", lambda x: x + 1)
    double = exercises.Exercise("double", "00", ref, hint="multiply", mistakes=(wrong_by_one,))
    monkeypatch.setattr(exercises, "get", lambda name: double)
    assert checks.check_exercise("double", lambda x: None, [(1,)]) is ref
    assert "not attempted" in capsys.readouterr().out
    good = lambda x: x + x  # noqa: E731
    assert checks.check_exercise("double", good, [(1,), (torch.ones(2),)]) is good
    with pytest.raises(checks.ExerciseError, match="this looks like adding one instead of doubling. Multiply by two."):
        checks.check_exercise("double", lambda x: x + 1, [(3,)])
    with pytest.raises(checks.ExerciseError, match="Hint: multiply"):
        checks.check_exercise("double", lambda x: x + 3, [(5,)])
    with pytest.raises(checks.ExerciseError, match="wrong shape"):
        checks.check_exercise("double", lambda x: x.sum(), [(torch.ones(2),)])
    # a None answer that the reference also gives ("never") is an answer, not an unattempted stub
    never = exercises.Exercise("never", "00", lambda x: None, hint="h")
    monkeypatch.setattr(exercises, "get", lambda name: never)
    good_none = lambda x: None  # noqa: E731
    assert checks.check_exercise("never", good_none, [(1,)]) is good_none


def test_claim_raises_with_evidence(capsys):
    checks.claim("one is less than two", 1 < 2, "1 < 2")
    assert "✔ one is less than two" in capsys.readouterr().out
    with pytest.raises(checks.ClaimError, match="Evidence: 3 > 2"):
        checks.claim("three is less than two", 3 < 2, "3 > 2")


def _hand_made(P: int) -> torch.Tensor:
    T = 1 + 2 * P
    p = torch.zeros(1, 3, T, T)
    for i in range(T):
        p[0, 0, i, i - P + 1 if i >= P + 1 else 0] = 1  # induction head
        p[0, 1, i, max(i - 1, 0)] = 1  # previous-token head
        p[0, 2, i, 0] = 1  # first-token head
    return p


def test_head_detectors_score_perfect_heads_exactly_one():
    p = _hand_made(5)
    assert heads.induction_score(p, 5).tolist() == [1.0, 0.0, 0.0]
    assert heads.previous_token_score(p)[1] == 1.0
    assert heads.first_token_score(p)[2] == 1.0
    dup = torch.zeros(1, 1, 11, 11)
    for i in range(11):
        dup[0, 0, i, i - 5 if i >= 6 else 0] = 1
    assert heads.duplicate_token_score(dup, 5).item() == 1.0
    with pytest.raises(ShapeError):
        heads.induction_score(torch.zeros(2, 3, 4), 2)


def test_all_scores_from_a_cache():
    p = _hand_made(4)
    scores = heads.all_scores({"blocks.0.attn.hook_pattern": p}, n_layers=1, period=4)
    assert scores["induction"].shape == (1, 3) and scores["induction"][0, 0] == 1.0


def test_stats_tools():
    assert stats.rank_correlation(torch.tensor([1.0, 2, 3]), torch.tensor([10.0, 20, 30])) == pytest.approx(1.0)
    assert stats.rank_correlation(torch.tensor([1.0, 2, 3]), torch.tensor([3.0, 2, 1])) == pytest.approx(-1.0)
    # ties share their mean rank (scipy's spearmanr): ranks 1, 2.5, 2.5, 4 against 1, 2, 3, 4
    assert stats.rank_correlation([1.0, 2, 2, 3], [1.0, 2, 3, 4]) == pytest.approx(4.5 / 22.5**0.5)
    uniform = torch.full((4,), 0.25)
    assert stats.entropy(uniform).item() == pytest.approx(torch.log(torch.tensor(4.0)).item())
    assert stats.kl_divergence(uniform.log(), uniform.log()).item() == pytest.approx(0.0)


class _Tok:
    def id_to_str(self, i):
        return "<|bos|>" if i == 0 else chr(96 + i)


def test_token_strings_and_top_tokens():
    assert tokens.to_str_tokens(_Tok(), torch.tensor([0, 1, 2])) == ["<|bos|>", "a", "b"]
    assert tokens.to_str_tokens(_Tok(), [3]) == ["c"]
    assert tokens.top_k_tokens(torch.tensor([0.0, 3.0, 1.0, 2.0]), _Tok(), k=2) == [("a", 3.0), ("c", 2.0)]
    assert tokens.top_k_tokens(torch.tensor([0.0, 3.0, 1.0, 2.0]), _Tok(), k=1, largest=False) == [("<|bos|>", 0.0)]


def test_plots_build_figures_and_circuitsvis_never_probes(monkeypatch):
    import circuitsvis.utils.render as render

    monkeypatch.setattr(render, "internet_on", lambda: pytest.fail("must not probe the network"))
    fig = plots.imshow(torch.randn(3, 4), x=list("abcd"), y=list("xyz"), title="t")
    assert fig.data[0].z.shape == (3, 4)
    assert len(plots.line({"a": [1, 2], "b": [2, 3]}).data) == 2
    pattern = torch.rand(2, 3, 3).softmax(-1)
    assert len(plots.attention_heatmaps(pattern, list("abc")).data) == 2
    inline = plots.attention_heads(pattern, list("abc"), inline=True)._repr_html_()
    assert "unpkg.com" not in inline and len(inline) > 100_000  # circuitsvis's own JavaScript, offline
    later = plots.attention_heads(pattern, list("abc"), inline=False)._repr_html_()
    assert "unpkg.com" not in later and len(later) < 20_000  # reuses the JavaScript an earlier view loaded


def test_bands_put_labels_where_the_shapes_are_on_log_axes():
    from helpers import plots

    fig = plots.line([1.0, 2.0, 3.0], x=[1, 10, 100], log_x=True)
    plots.band(fig, 10, 100, "late")
    plots.band(fig, 1, 100, "span")
    assert (fig.layout.shapes[0].x0, fig.layout.shapes[0].x1) == (10, 100)  # shapes: data units
    assert fig.layout.annotations[0].x == 1.5  # annotations on a log axis: log10 units
    assert fig.layout.annotations[1].x == 1.0  # the middle of [10^0, 10^2] on screen
    lin = plots.band(plots.line([1.0, 2.0], x=[0, 10]), 2, 6, "span")
    assert lin.layout.annotations[0].x == 4
