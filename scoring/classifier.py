"""Criterion classifiers: fit, evaluate, save and load the scikit-learn models behind the scorer.

Per criterion, one scikit-learn `Pipeline`:

    features   = FeatureUnion(MiniLM vector of the text, word 1-2-grams TF-IDF, guideline cues)
    classifier = CalibratedClassifierCV(LogisticRegression, sigmoid fitted on 5-fold out-of-fold scores)

(recipe s7; `make_features` also builds s3, the recipe before s4, for comparisons.)

The pipelines take a `Texts` batch (the texts and their MiniLM vectors, computed once per batch by the
embedder and shared by the four criteria). The feature step is fitted once on the train split and is the
same object in all four pipelines, so the scorer computes it once per batch too.

A reply meets empathy, ownership or follow-up if it does so anywhere: its raw score is the higher of the
whole reply's and its best sentence's (`reply_proba`); solution is judged on the whole reply (recipe s7,
`sentence_max`). A maximum over sentences runs high, so that raw score is calibrated once
more (`ReplyCalibration`: a sigmoid fitted on out-of-fold raw scores of the train split), which makes
the reported probability mean what it says. The decision threshold is then chosen on the validation
split (best macro-F1, every source weighing the same); the test split is only evaluated,
never tuned on. A trained model is a folder
`$DOJO_HOME/scorers/<version>/` with `model.joblib`, `card.json` and `card.md`; the file `ACTIVE` names
the version in use. `version` is derived from the rubric version, the recipe and a hash of the training
data, so the same data gives the same version.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise
from pathlib import Path

import joblib
import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import cohen_kappa_score, f1_score, precision_score, recall_score
from sklearn.pipeline import FeatureUnion, Pipeline

from scoring.cues import NAMES as CUE_NAMES
from scoring.cues import cue_matrix
from scoring.embeddings import DIM, Embedded
from scoring.rubric import LabeledReply, Rubric, data_hash
from simulator.reporting import Report, silent
from simulator.scenario import CRITERIA

# Bumped whenever training or the decision rule changes, so a model's version says how it was made.
# s3: MiniLM (one pass, sentence vectors by span pooling) + word and character n-grams.
# s4: MiniLM + word n-grams + the guideline cues (scoring/cues.py); thresholds chosen on validation with
#     every source weighing the same. Changing a cue pattern changes the recipe: bump it.
# s5: s4 with the cue `steps` reading "trying" and a cue against ownership, `blames` (deflecting blame).
# (s6, thresholds weighted towards the real writers, was tried and not shipped: README.)
# s7: s5 with solution scored on the whole reply, not the higher of the reply and its best sentence: the
#     classifiers learn from whole replies, and a sentence lifted out of one ("Let me check that.") reads as
#     a fix more often than the reply around it does. Held out, solution's kappa rose on eight of nine sources
#     and held on the ninth (real mean 0.39 -> 0.48); for ownership and follow-up the same change helped
#     some sources and hurt others, so they keep the maximum.
RECIPE = "s7"
# Per recipe, the criteria whose reply score is the higher of the whole reply's and its best sentence's; the
# others are scored on the whole reply alone (their evidence still cites the best sentence).
_SENTENCE_MAX = {"s7": frozenset({"empathy", "ownership", "follow_up"})}


def sentence_max(recipe: str = "") -> frozenset[str]:
    """The criteria that recipe scores by the higher of the whole reply and its best sentence."""
    return _SENTENCE_MAX.get(recipe or RECIPE, frozenset(CRITERIA))


class NoScorerError(RuntimeError):
    """No trained scorer is present. The message is one line with the fix."""


@dataclass(frozen=True)
class Texts:
    """A batch for the pipelines: texts and their sentence-embedding vectors, row for row."""

    texts: Sequence[str]
    vectors: np.ndarray

    def __len__(self) -> int:
        return len(self.texts)


class EmbeddingColumn(TransformerMixin, BaseEstimator):
    """The MiniLM vectors of a `Texts` batch, scaled (the n-gram blocks have unit norm each)."""

    def __init__(self, weight: float = 1.0):
        self.weight = weight

    def fit(self, X: Texts, y=None) -> EmbeddingColumn:
        return self

    def transform(self, X: Texts) -> np.ndarray:
        return np.asarray(X.vectors, dtype=np.float64) * self.weight


class TextColumn(TransformerMixin, BaseEstimator):
    """TF-IDF over the texts of a `Texts` batch."""

    def __init__(self, analyzer: str = "word", ngram_range: tuple[int, int] = (1, 2), min_df: int = 2):
        self.analyzer = analyzer
        self.ngram_range = ngram_range
        self.min_df = min_df

    def fit(self, X: Texts, y=None) -> TextColumn:
        self.vectorizer_ = TfidfVectorizer(analyzer=self.analyzer, ngram_range=self.ngram_range,
                                           min_df=self.min_df, sublinear_tf=True, lowercase=True)
        self.vectorizer_.fit(list(X.texts))
        return self

    def transform(self, X: Texts):
        return self.vectorizer_.transform(list(X.texts))


class CueColumn(TransformerMixin, BaseEstimator):
    """The guideline cues of a `Texts` batch (`scoring/cues.py`): one 0/1 column per move the reviewers'
    guideline names, scaled like the other blocks."""

    def __init__(self, weight: float = 1.0):
        self.weight = weight

    def fit(self, X: Texts, y=None) -> CueColumn:
        return self

    def transform(self, X: Texts) -> np.ndarray:
        return cue_matrix(X.texts) * self.weight


def make_features(recipe: str = "") -> FeatureUnion:
    """s3: MiniLM + word and character n-grams. s4 to s7: MiniLM + word n-grams + the guideline cues; character
    n-grams learned one author's spelling and punctuation more than the moves (held-out sources: no better
    with them, and they were the slowest block)."""
    if (recipe or RECIPE) == "s3":
        return FeatureUnion([("minilm", EmbeddingColumn()), ("words", TextColumn("word", (1, 2))),
                             ("chars", TextColumn("char_wb", (2, 5)))])
    return FeatureUnion([("minilm", EmbeddingColumn()), ("words", TextColumn("word", (1, 2))),
                         ("cues", CueColumn())])


def make_classifier(seed: int = 0) -> CalibratedClassifierCV:
    base = LogisticRegression(C=4.0, max_iter=3000, class_weight="balanced", random_state=seed)
    # ensemble=False: the sigmoid is fitted on 5-fold out-of-fold scores, then one model on all the train
    # split is kept, so scoring costs one logistic regression, not five.
    return CalibratedClassifierCV(base, method="sigmoid", cv=5, ensemble=False)


@dataclass(frozen=True)
class ReplyCalibration:
    """p = 1 / (1 + exp(-(slope * logit(raw) + intercept))), raw = max(whole reply, best sentence) or, for a
    criterion scored on the whole reply, the whole reply's score."""

    slope: float = 1.0
    intercept: float = 0.0

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        from scipy.special import expit, logit

        raw = np.clip(np.asarray(raw, dtype=float), 1e-6, 1 - 1e-6)
        return expit(self.slope * logit(raw) + self.intercept)

    @classmethod
    def fit(cls, raw: np.ndarray, y: np.ndarray) -> ReplyCalibration:
        from scipy.special import logit

        raw = np.clip(np.asarray(raw, dtype=float), 1e-6, 1 - 1e-6)
        lr = LogisticRegression(C=1e4).fit(logit(raw).reshape(-1, 1), y)
        return cls(float(lr.coef_[0, 0]), float(lr.intercept_[0]))


@dataclass
class CriterionModel:
    criterion: str
    pipeline: Pipeline
    threshold: float
    calibration: ReplyCalibration = field(default_factory=ReplyCalibration)
    # True: the reply's score is the higher of the whole reply's and its best sentence's; False: the whole
    # reply's. (Models pickled before this field was added read the class default.)
    sentences: bool = True

    def reply_score(self, whole: np.ndarray, sentences: np.ndarray, owners: np.ndarray) -> np.ndarray:
        """Calibrated reply probabilities from the whole replies' and their sentences' raw probabilities."""
        return self.calibration(reply_proba(whole, sentences, owners) if self.sentences else whole)

    def proba_from_features(self, features) -> np.ndarray:
        """Probabilities from the already computed feature step (shared by the four criteria)."""
        return self.pipeline[-1].predict_proba(features)[:, 1]


class LinearHeads:
    """The four criteria's calibrated logistic regressions as one matrix product per feature block.

    Each pipeline ends in `CalibratedClassifierCV(ensemble=False)`: one logistic regression and one
    sigmoid, p = 1 / (1 + exp(a * (w.x + b) + c)). Stacking the four `w` turns four scikit-learn calls
    into one product, and multiplying each feature block (MiniLM, words, characters) by its own rows of
    `w` skips building the joined sparse matrix: about 3 ms less per single reply. Equal to the
    pipelines' `predict_proba` (tested to 1e-9).
    """

    def __init__(self, models: dict[str, CriterionModel]):
        self.criteria = list(models)
        first = next(iter(models.values())).pipeline[0]
        self.blocks = [t for _, t in first.transformer_list]
        coefs, intercepts, slopes, offsets = [], [], [], []
        for m in models.values():
            clf = m.pipeline[-1]
            if len(clf.calibrated_classifiers_) != 1:
                raise ValueError("LinearHeads needs CalibratedClassifierCV(ensemble=False)")
            calibrated = clf.calibrated_classifiers_[0]
            coefs.append(calibrated.estimator.coef_[0])
            intercepts.append(calibrated.estimator.intercept_[0])
            slopes.append(calibrated.calibrators[0].a_)
            offsets.append(calibrated.calibrators[0].b_)
        coef = np.column_stack(coefs)
        widths = [_width(t) for t in self.blocks]
        if sum(widths) != coef.shape[0]:
            raise ValueError(f"feature blocks give {sum(widths)} columns; the classifiers expect {coef.shape[0]}")
        edges = np.cumsum([0, *widths])
        self.coef_blocks = [coef[a:b] for a, b in pairwise(edges)]
        self.intercept = np.array(intercepts)
        self.slope = np.array(slopes)
        self.offset = np.array(offsets)

    def __call__(self, batch: Texts) -> dict[str, np.ndarray]:
        from scipy.special import expit

        decision = self.intercept + sum(np.asarray(t.transform(batch) @ w)
                                        for t, w in zip(self.blocks, self.coef_blocks, strict=True))
        p = expit(-(self.slope * decision + self.offset))
        return {c: p[:, k] for k, c in enumerate(self.criteria)}


def _width(block) -> int:
    if isinstance(block, TextColumn):
        return len(block.vectorizer_.vocabulary_)
    if isinstance(block, CueColumn):
        return len(CUE_NAMES)
    return DIM


@dataclass
class ScorerModel:
    version: str
    embedder: str
    models: dict[str, CriterionModel]
    card: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._heads = LinearHeads(self.models)

    @property
    def features(self) -> FeatureUnion:
        """The fitted feature step, the same object in every criterion's pipeline."""
        return next(iter(self.models.values())).pipeline[0]

    def probabilities(self, batch: Texts) -> dict[str, np.ndarray]:
        if not len(batch):
            return {c: np.zeros(0) for c in self.models}
        return self._heads(batch)

    def save(self, scorers_dir: Path, activate: bool = True) -> Path:
        folder = scorers_dir / self.version
        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump({"version": self.version, "embedder": self.embedder, "models": self.models},
                    folder / "model.joblib")
        self.write_card(scorers_dir)
        if activate:
            activate_version(scorers_dir, self.version)
        return folder

    def write_card(self, scorers_dir: Path) -> None:
        folder = scorers_dir / self.version
        (folder / "card.json").write_text(json.dumps(self.card, indent=2))
        (folder / "card.md").write_text(card_markdown(self.card))

    @classmethod
    def load_active(cls, scorers_dir: Path) -> ScorerModel:
        version = active_version(scorers_dir)
        if version is None:
            raise NoScorerError(f"no trained scorer in {scorers_dir}: run `dojo train`")
        return cls.load(scorers_dir, version)

    def with_thresholds(self, thresholds: dict[str, float], tuned_on: dict) -> ScorerModel:
        """The same classifiers with other decision thresholds: a new version (the card says on what they
        were tuned), which is activated only when someone accepts it."""
        models = {c: replace(m, threshold=float(thresholds.get(c, m.threshold))) for c, m in self.models.items()}
        tag = hashlib.sha256(json.dumps(sorted(thresholds.items())).encode()).hexdigest()[:6]
        version = f"{self.version.split('-t')[0]}-t{tag}"
        card = {**self.card, "version": version, "tuned_from": self.version, "tuned_on": tuned_on,
                "thresholds": {c: round(m.threshold, 3) for c, m in models.items()}}
        return ScorerModel(version, self.embedder, models, card)

    @classmethod
    def load(cls, scorers_dir: Path, version: str) -> ScorerModel:
        if not version or "/" in version or "\\" in version or version.startswith("."):
            raise NoScorerError(f"no scorer version {version!r}")
        path = scorers_dir / version / "model.joblib"
        try:
            blob = joblib.load(path)
        except Exception as exc:  # unpickling damaged bytes can raise almost anything (TypeError, UnpicklingError...)
            raise NoScorerError(f"scorer {path} is missing or damaged ({type(exc).__name__}): "
                                f"run `dojo train`") from None
        card_path = scorers_dir / version / "card.json"
        card = json.loads(card_path.read_text()) if card_path.is_file() else {}
        try:
            return cls(blob["version"], blob["embedder"], blob["models"], card)
        except (AttributeError, ValueError, IndexError, TypeError):
            raise NoScorerError(f"scorer {version} was made by an older training recipe: run `dojo train`") from None


def active_version(scorers_dir: Path) -> str | None:
    """The version in use, or None when there is none. A version whose folder was deleted is none: else
    `dojo train` would keep the dead name active and then fail on it, telling the user to run `dojo train`."""
    active = scorers_dir / "ACTIVE"
    version = active.read_text().strip() if active.is_file() else ""
    return version if version and (scorers_dir / version / "model.joblib").is_file() else None


def activate_version(scorers_dir: Path, version: str) -> None:
    """Make a saved version the one in use (atomically: a reader sees the old or the new name)."""
    if not (scorers_dir / version / "model.joblib").is_file() or "/" in version:
        raise NoScorerError(f"no scorer version {version!r} in {scorers_dir}")
    tmp = scorers_dir / f"ACTIVE.{os.getpid()}.tmp"
    tmp.write_text(version)
    tmp.replace(scorers_dir / "ACTIVE")


def versions(scorers_dir: Path) -> list[dict]:
    """Every saved version's card (newest first), with `active` marking the one in use."""
    active = active_version(scorers_dir)
    out = []
    for card_path in scorers_dir.glob("*/card.json"):
        try:
            card = json.loads(card_path.read_text())
        except (OSError, ValueError):
            continue
        card["version"] = card_path.parent.name
        card["active"] = card["version"] == active
        out.append(card)
    return sorted(out, key=lambda c: (c.get("trained_at", ""), c["version"]), reverse=True)


EmbedFn = Callable[[Sequence[str]], Embedded]
SPLITS = ("train", "validation", "test")


def fit(rows: list[LabeledReply], embed: EmbedFn, rubric: Rubric, embedder_name: str, seed: int = 0,
        split_of: Callable[[LabeledReply], str] | None = None, recipe: str = "",
        report: Report = silent) -> ScorerModel:
    """Train one calibrated pipeline per criterion. `embed(texts)` gives replies' and sentences' vectors.
    `split_of` puts each reply in train, validation or test (default: its fixed split by id); leaving a
    whole source out is one such choice. `report(fraction, what)` hears how far it is."""
    started = time.perf_counter()
    split_of = split_of or (lambda r: r.split)
    splits = {s: [r for r in rows if split_of(r) == s] for s in SPLITS}
    embedded = {}
    for i, (s, rs) in enumerate(splits.items()):  # embedding is about half the work
        report(0.45 * i / len(splits), f"embedding the {s} replies ({len(rs)}) with MiniLM")
        embedded[s] = embed([r.text for r in rs])
    report(0.45, "building the features")
    train = Texts([r.text for r in splits["train"]], embedded["train"].replies)
    recipe = recipe or RECIPE
    features = make_features(recipe).fit(train)
    train_feats = features.transform(train)
    train_sentences = features.transform(_batches(splits["train"], embedded["train"])[1])
    scored = {s: _batches(splits[s], embedded[s]) for s in ("validation", "test")}
    scored_feats = {s: (features.transform(w), features.transform(p)) for s, (w, p) in scored.items()}
    use_sentences = sentence_max(recipe)
    models: dict[str, CriterionModel] = {}
    metrics: dict[str, dict] = {}
    by_source: dict[str, dict[str, float]] = {}
    for k, c in enumerate(CRITERIA):
        report(0.5 + 0.5 * k / len(CRITERIA), f"fitting and calibrating {c.replace('_', '-')} "
                                               f"({k + 1} of {len(CRITERIA)})")
        y = {s: np.array([r.labels[c] for r in rs]) for s, rs in splits.items()}
        clf = make_classifier(seed).fit(train_feats, y["train"])
        calibration = ReplyCalibration.fit(
            _out_of_fold_raw(train_feats, train_sentences, embedded["train"].owners, y["train"], seed,
                             sentences_too=c in use_sentences), y["train"])
        model = CriterionModel(c, Pipeline([("features", features), ("classifier", clf)]), 0.5, calibration,
                               c in use_sentences)
        p = {s: model.reply_score(model.proba_from_features(w), model.proba_from_features(ps), embedded[s].owners)
             for s, (w, ps) in scored_feats.items()}
        model.threshold = best_threshold(y["validation"], p["validation"],
                                          [source_group(r.source) for r in splits["validation"]])
        models[c] = model
        metrics[c] = evaluate(y["test"], p["test"], model.threshold)
        for source in sorted({r.source for r in splits["test"]}):
            mask = np.array([r.source == source for r in splits["test"]])
            by_source.setdefault(source, {"n": int(mask.sum())})[c] = round(float(f1_score(
                y["test"][mask], p["test"][mask] >= model.threshold, average="macro", zero_division=0)), 4)
    report(1.0, "trained")
    version = f"r{rubric.version}-{recipe}-{data_hash(rows)[:10]}"
    card = {
        "version": version, "recipe": recipe, "rubric": f"{rubric.id}@{rubric.version}", "embedder": embedder_name,
        "data_hash": data_hash(rows),
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "train_seconds": round(time.perf_counter() - started, 2),
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "data": {s: len(rs) for s, rs in splits.items()},
        "positives": {s: {c: sum(r.labels[c] for r in rs) for c in CRITERIA} for s, rs in splits.items()},
        "sources": _count(r.source for r in rows),
        "channels": _count(r.channel or "unspecified" for r in rows),
        "thresholds": {c: round(m.threshold, 3) for c, m in models.items()},
        "reply_calibration": {c: {"slope": round(m.calibration.slope, 4),
                                  "intercept": round(m.calibration.intercept, 4)} for c, m in models.items()},
        "test_metrics": metrics,
        "test_macro_f1_by_source": by_source,
    }
    return ScorerModel(version, embedder_name, models, card)


def _out_of_fold_raw(whole, sentences, owners: np.ndarray, y: np.ndarray, seed: int, folds: int = 5,
                     *, sentences_too: bool = True) -> np.ndarray:
    """Raw reply scores (max of whole reply and best sentence, or the whole reply's alone) of the train
    split, each from a model that did not see that reply: what the reply calibration is fitted on."""
    from sklearn.model_selection import StratifiedKFold

    raw = np.zeros(len(y))
    for fit_rows, held in StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y):
        clf = make_classifier(seed).fit(whole[fit_rows], y[fit_rows])
        raw[held] = clf.predict_proba(whole[held])[:, 1]
        if sentences_too:
            mine = np.isin(owners, held)
            local = {reply: k for k, reply in enumerate(held)}
            raw[held] = reply_proba(raw[held], clf.predict_proba(sentences[mine])[:, 1],
                                    np.array([local[o] for o in owners[mine]], dtype=int))
    return raw


def _batches(rows: list[LabeledReply], embedded: Embedded) -> tuple[Texts, Texts]:
    """The replies and all their sentences, as pipeline batches."""
    return (Texts([r.text for r in rows], embedded.replies),
            Texts(embedded.sentence_texts, embedded.sentences))


def reply_proba(whole: np.ndarray, sentences: np.ndarray, owners: np.ndarray) -> np.ndarray:
    """Per reply: max(whole-reply probability, best sentence probability)."""
    p = np.array(whole, dtype=float, copy=True)
    if len(owners):
        np.maximum.at(p, owners, sentences)
    return p


def evaluate(y: np.ndarray, p: np.ndarray, threshold: float) -> dict:
    pred = (p >= threshold).astype(int)
    return {
        "n": len(y), "positives": int(y.sum()),
        "precision": round(float(precision_score(y, pred, zero_division=0)), 4),
        "recall": round(float(recall_score(y, pred, zero_division=0)), 4),
        "f1": round(float(f1_score(y, pred, zero_division=0)), 4),
        "macro_f1": round(float(f1_score(y, pred, average="macro", zero_division=0)), 4),
        "kappa": round(float(cohen_kappa_score(y, pred)), 4) if len(set(y)) > 1 else 0.0,
        "ece": round(expected_calibration_error(y, p), 4),
    }


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Mean |confidence - accuracy| over 10 equal-width probability bins, weighted by bin size."""
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            total += mask.mean() * abs(p[mask].mean() - y[mask].mean())
    return float(total)


def source_group(source: str) -> str:
    """The writer behind a source: versions of one author's data (handwritten-v1, -v2) are one group."""
    return source.rsplit("-v", 1)[0] if source.rsplit("-v", 1)[-1].isdigit() else source


def best_threshold(y: np.ndarray, p: np.ndarray, groups: Sequence[str] | None = None) -> float:
    """The threshold with the best macro-F1 on the validation replies, each source weighing the same in
    total whatever its size, so that the threshold suits writers unlike the biggest source too."""
    candidates = np.linspace(0.1, 0.9, 33)
    groups = np.array(groups if groups is not None else ["all"] * len(y))
    sizes = {g: int((groups == g).sum()) for g in set(groups)}
    weight = np.array([1.0 / sizes[g] for g in groups])
    scores = [f1_score(y, (p >= t).astype(int), average="macro", zero_division=0, sample_weight=weight)
              for t in candidates]
    return float(candidates[int(np.argmax(scores))])


def _count(values) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return dict(sorted(out.items()))


def card_markdown(card: dict) -> str:
    """The model card as Markdown: what it was trained on and how it does on the test split."""
    m = card["test_metrics"]
    lines = [
        f"# Model card: reply scorer `{card['version']}`",
        "",
        "Generated by `dojo train`; do not edit by hand. The scorer's four criterion classifiers "
        "(see `scoring/classifier.py`), trained on the labeled replies in `rubrics/`.",
        "",
        f"- Rubric: `{card['rubric']}`; training recipe `{card['recipe']}`; embedder `{card['embedder']}`",
        f"- Data hash: `{card['data_hash']}`",
        f"- Trained {card['trained_at']} in {card['train_seconds']} s ({card['machine']})",
        "",
        "## Data",
        "",
        "| split | replies | empathy + | ownership + | solution + | follow_up + |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for s in SPLITS:
        pos = card["positives"][s]
        lines.append(f"| {s} | {card['data'][s]} | " + " | ".join(str(pos[c]) for c in CRITERIA) + " |")
    lines += ["", "Sources: " + ", ".join(f"{k} {v}" for k, v in card["sources"].items()) + ".",
              "Channels: " + ", ".join(f"{k} {v}" for k, v in card["channels"].items()) + ".",
              "", "The split is fixed by a hash of each reply's id (70 / 15 / 15). Thresholds are chosen on "
              "validation; the test split is never tuned on.", "",
              "## Test split", "",
              "| criterion | threshold | precision | recall | F1 | macro-F1 | ECE | Cohen's kappa |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for c in CRITERIA:
        x = m[c]
        lines.append(f"| {c} | {card['thresholds'][c]:.3f} | {x['precision']:.3f} | {x['recall']:.3f} | "
                     f"{x['f1']:.3f} | {x['macro_f1']:.3f} | {x['ece']:.3f} | {x['kappa']:.3f} |")
    lines += ["", "Cohen's kappa: agreement of the verdicts with the labels, corrected for chance.",
              "", "ECE: expected calibration error, 10 equal-width bins, of the probability the scorer reports "
              "(for solution the whole reply's score, for the others the higher of the whole reply's and its best "
              "sentence's, calibrated on out-of-fold train scores).", "",
              "Macro-F1 on the test split by source:", "",
              "| source | n | " + " | ".join(CRITERIA) + " |", "|---|---:|" + "---:|" * len(CRITERIA)]
    for source, row in card["test_macro_f1_by_source"].items():
        lines.append(f"| {source} | {row['n']} | " + " | ".join(f"{row[c]:.3f}" for c in CRITERIA) + " |")
    if card.get("held_out"):
        lines += held_out_markdown(card["held_out"])
    lines += ["", "## Limits", "",
              "Labels are the majority of three blind labeling passes (five for the task-bot turns relabeled "
              "together) that followed the QA reviewers' guideline (`rubrics/README.md`); the passes are "
              "labeling sessions, not a team of human reviewers. Replies are in English. The classifiers see "
              "the reply only, not the customer's message it answers, which matters most for solution (an "
              "answer is a solution only to the question it answers).", ""]
    return "\n".join(lines)


def held_out_markdown(folds: list[dict]) -> list[str]:
    """The leave-one-source-out table: per held-out source, the verdicts' kappa against the raters'
    majority and the AUC, next to the raters' own agreement (Fleiss' kappa of the blind passes)."""

    def num(value) -> str:
        return "n/a" if value is None else f"{value:.2f}"

    lines = ["", "## Held-out sources", "",
             "Trained on every source but one (train splits; thresholds on the others' validation splits, each "
             "source weighing the same), tested on every reply of the source left out. Per criterion: Cohen's kappa "
             "of the verdicts against the raters' majority / AUC of the probability / the raters' Fleiss' kappa "
             "on that source; `+` is how many of its replies the raters say meet it. n/a: too little to measure "
             "(fewer than 5 of its replies meet the criterion, or miss it). Sources marked real are replies "
             "typed by people in public corpora.", "",
             "| held out | real | n | " + " | ".join(CRITERIA) + " |", "|---|---|---:|" + "---|" * len(CRITERIA)]
    for f in folds:
        cells = [f"{num(r['kappa'])} / {num(r['auc'])} / {num(r['raters_kappa'])} (+{r['positives']})"
                 for r in (f["criteria"][c] for c in CRITERIA)]
        lines.append(f"| {f['fold']} | {'yes' if f['real'] else ''} | {f['n']} | " + " | ".join(cells) + " |")
    real = [f for f in folds if f["real"]]
    for label, chosen in (("real sources", real), ("all sources", folds)):
        means = []
        for c in CRITERIA:
            values = [f["criteria"][c]["kappa"] for f in chosen if f["criteria"][c]["kappa"] is not None]
            means.append(num(float(np.mean(values))) if values else "n/a")
        lines.append(f"| mean kappa, {label} | | | " + " | ".join(means) + " |")
    return lines
