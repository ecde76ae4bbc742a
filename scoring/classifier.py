"""Criterion classifiers: fit, evaluate, save and load the scikit-learn models behind the scorer.

One calibrated logistic regression per criterion over sentence embeddings. The decision threshold is
chosen on the validation split (best F1); the test split is only evaluated. A trained model is a
folder `$DOJO_HOME/scorers/<version>/` with `model.joblib` and `card.json`; the file `ACTIVE` names
the version in use. `version` is derived from the rubric version and a hash of the training data, so
the same data gives the same version.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_score, recall_score

from scoring.rubric import LabeledReply, Rubric, data_hash
from simulator.scenario import CRITERIA


class NoScorerError(RuntimeError):
    """No trained scorer is present. The message is one line with the fix."""


@dataclass
class CriterionModel:
    criterion: str
    estimator: CalibratedClassifierCV
    threshold: float

    def proba(self, features: np.ndarray) -> np.ndarray:
        return self.estimator.predict_proba(features)[:, 1]


@dataclass
class ScorerModel:
    version: str
    embedder: str
    models: dict[str, CriterionModel]
    card: dict = field(default_factory=dict)

    def save(self, scorers_dir: Path, activate: bool = True) -> Path:
        folder = scorers_dir / self.version
        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump({"version": self.version, "embedder": self.embedder, "models": self.models},
                    folder / "model.joblib")
        (folder / "card.json").write_text(json.dumps(self.card, indent=2))
        if activate:
            tmp = scorers_dir / "ACTIVE.tmp"
            tmp.write_text(self.version)
            tmp.replace(scorers_dir / "ACTIVE")
        return folder

    @classmethod
    def load_active(cls, scorers_dir: Path) -> ScorerModel:
        active = scorers_dir / "ACTIVE"
        if not active.is_file():
            raise NoScorerError(f"no trained scorer in {scorers_dir}: run `dojo train`")
        version = active.read_text().strip()
        path = scorers_dir / version / "model.joblib"
        try:
            blob = joblib.load(path)
        except (OSError, EOFError, ValueError, KeyError) as exc:
            raise NoScorerError(f"scorer {path} is missing or damaged ({type(exc).__name__}): "
                                f"run `dojo train`") from None
        card_path = scorers_dir / version / "card.json"
        card = json.loads(card_path.read_text()) if card_path.is_file() else {}
        return cls(blob["version"], blob["embedder"], blob["models"], card)


# Bumped whenever training or the decision rule changes, so a model's version says how it was made.
RECIPE = "s2"  # s2: thresholds and metrics on max(whole reply, best sentence)


def fit(rows: list[LabeledReply], embed, rubric: Rubric, embedder_name: str, seed: int = 0) -> ScorerModel:
    """Train one calibrated classifier per criterion. `embed(texts) -> ndarray` gives the features."""
    started = time.perf_counter()
    splits = {s: [r for r in rows if r.split == s] for s in ("train", "validation", "test")}
    feats = {s: embed([r.text for r in rs]) for s, rs in splits.items()}
    # Validation and test are scored as the Scorer scores a reply: the higher of the whole reply's
    # probability and its best sentence's. Thresholds and the model card follow that same rule.
    parts = {s: _sentence_features(splits[s], embed) for s in ("validation", "test")}
    models: dict[str, CriterionModel] = {}
    metrics: dict[str, dict] = {}
    for c in CRITERIA:
        y = {s: np.array([r.labels[c] for r in rs]) for s, rs in splits.items()}
        base = LogisticRegression(C=4.0, max_iter=2000, class_weight="balanced", random_state=seed)
        est = CalibratedClassifierCV(base, method="sigmoid", cv=5).fit(feats["train"], y["train"])
        model = CriterionModel(c, est, 0.5)
        val_p = reply_proba(model, feats["validation"], *parts["validation"])
        model = CriterionModel(c, est, _best_threshold(y["validation"], val_p))
        models[c] = model
        metrics[c] = evaluate(y["test"], reply_proba(model, feats["test"], *parts["test"]), model.threshold)
    version = f"r{rubric.version}-{RECIPE}-{data_hash(rows)[:10]}"
    card = {
        "version": version, "recipe": RECIPE, "rubric": f"{rubric.id}@{rubric.version}", "embedder": embedder_name,
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "train_seconds": round(time.perf_counter() - started, 2),
        "data": {s: len(rs) for s, rs in splits.items()},
        "sources": _count_sources(rows),
        "thresholds": {c: round(m.threshold, 3) for c, m in models.items()},
        "test_metrics": metrics,
    }
    return ScorerModel(version, embedder_name, models, card)


def _sentence_features(rows: list[LabeledReply], embed) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings of every sentence of every reply, and the index of the reply each belongs to."""
    from simulator.reply_acts import sentences

    owners, texts = [], []
    for i, r in enumerate(rows):
        for sentence in sentences(r.text) or [r.text]:
            owners.append(i)
            texts.append(sentence)
    return (embed(texts) if texts else np.zeros((0, 1))), np.array(owners, dtype=int)


def reply_proba(model: CriterionModel, whole: np.ndarray, sentence_feats: np.ndarray,
                owners: np.ndarray) -> np.ndarray:
    """Per reply: max(whole-reply probability, best sentence probability)."""
    p = model.proba(whole).copy()
    if len(owners):
        np.maximum.at(p, owners, model.proba(sentence_feats))
    return p


def evaluate(y: np.ndarray, p: np.ndarray, threshold: float) -> dict:
    pred = (p >= threshold).astype(int)
    return {
        "n": len(y), "positives": int(y.sum()),
        "precision": round(float(precision_score(y, pred, zero_division=0)), 4),
        "recall": round(float(recall_score(y, pred, zero_division=0)), 4),
        "f1": round(float(f1_score(y, pred, zero_division=0)), 4),
        "macro_f1": round(float(f1_score(y, pred, average="macro", zero_division=0)), 4),
        "ece": round(expected_calibration_error(y, p), 4),
    }


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            total += mask.mean() * abs(p[mask].mean() - y[mask].mean())
    return float(total)


def _best_threshold(y: np.ndarray, p: np.ndarray) -> float:
    candidates = np.linspace(0.2, 0.8, 25)
    scores = [f1_score(y, (p >= t).astype(int), average="macro", zero_division=0) for t in candidates]
    return float(candidates[int(np.argmax(scores))])


def _count_sources(rows: list[LabeledReply]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rows:
        out[r.source] = out.get(r.source, 0) + 1
    return out
