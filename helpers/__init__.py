"""Helpers for the course *Mechanistic interpretability of small transformers, from scratch*.

A thin, typed package. Each module has one job; each function's docstring names the notebook
that introduces the idea. Importing ``helpers`` does nothing but define things: import the
modules you need, e.g. ``from helpers import configs, models, training``.

Modules
-------
- ``configs``       frozen, validated dataclass configs for models and training (notebook 00)
- ``models``        TransformerLens models built from those configs (notebook 00)
- ``checkpoints``   safetensors checkpoints with a JSON card, checked on load (notebook 00)
- ``paths``         where the course keeps the files it makes (data/, or ``COURSE_DATA``)
- ``errors``        the course's error types, each message naming the fix; one-line CLI errors
- ``data``          the offline corpus, hub corpora when online, the course's BPE, token rows (notebooks 00, 01)
- ``tokenization``  every tokenizer: characters, the course's BPE, GPT-2's (tiktoken) (notebooks 00, 01, 05)
- ``wordpiece``     a BERT-style WordPiece tokenizer trained offline (notebook 05)
- ``tokens``        token ids shown as strings, top-scoring tokens (notebooks 00, 02-04)
- ``tasks``         synthetic tasks: repeated tokens, modular arithmetic, min/median (03, 06, 08, 09)
- ``training``      a small training loop with history and snapshots (notebook 00)
- ``interventions`` ablate (zero / mean) and patch activations at hooks, heads, neurons, positions (00, 03, 04, 09)
- ``heads``         attention-head detectors: previous-token, induction, duplicate, first-token (03, 04)
- ``lm``            notebooks 01-04, a package: ``trainer`` (the recipe), ``saved`` (committed checkpoints), ``cli``
- ``bigram``        count-based bigram tables and the 0-layer model's bigram (notebook 01)
- ``circuits``      logit decomposition, QK/OV circuits (``FactoredMatrix``), copying scores, composition (02, 03)
- ``dla``           direct logit attribution (the one implementation), logit lens (02, 04, 09)
- ``neurons``       MLP neurons: top contexts, direct effect, ablation (notebook 04)
- ``stats``         entropy, KL divergence, Spearman rank correlation (01, 05, 08, 09)
- ``sentiment``     notebook 05, a package: ``reviews`` (data), ``classifier`` (model, training),
                    ``attribution`` (baselines, per-token DLA)
- ``sweep``         small local hyperparameter sweeps, optional wandb (notebook 05)
- ``grokking``      notebooks 06, 07, a package: ``config``, ``model`` (the fast exact model), ``trainer``,
                    ``runs`` (a run on disk, resume), ``cli``, ``trends`` (grids of runs)
- ``fourier``       the Fourier view of modular arithmetic: key frequencies, restricted loss (06)
- ``algorithmic``   find-min / find-median: training and token-circuit tables (notebooks 08, 09)
- ``superposition`` toy models of superposition: many small models trained at once (notebook 10)
- ``sae``           sparse autoencoders: train one, measure it, splice it into a model (notebook 10)
- ``attribution``   attribution patching, path patching, edge attribution patching, exact circuit runs (notebook 11)
- ``ioi``           indirect object identification sentences: word-level vocabulary, held-out splits, ABC, logit diff (12)
- ``ioi_model``     a small attention-only model trained on IOI sentences with their answers; its scores (12)
- ``ioi_heads``     the IOI circuit's heads scored one by one (attention, DLA, copying); GPT-2 small when online (12)
- ``probes``        linear probes on the residual stream, control tasks (selectivity), steering along a probe (12)
- ``report``        regenerates Documentation/Report.md from the notebooks' outputs
- ``train``         the training command line: ``python -m helpers.train TASK`` (and ``recipe NAME``)
- ``cli``           command-line flags generated from the config dataclasses (one name per field)
- ``recipes``       one named recipe per committed checkpoint; writes Documentation/checkpoints.md's table
- ``plots``         plotly figures; re-exports the circuitsvis views (notebook 00)
- ``attention_views`` circuitsvis views that render offline, with a static picture (notebook 00)
- ``progress``      progress bars that tell the truth: live tqdm, or one plain line for stored notebooks
- ``exercises``     a package: each notebook's exercise references and the mistakes its checks name (``nb00`` ...)
- ``checks``        exercise self-checks and claim assertions (notebook 00)
- ``runtime``       device choice, seeding and notebook set-up (notebook 00)
"""

__version__ = "0.1.0"
