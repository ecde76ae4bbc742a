"""How well the scorer generalises: trained on every source but one, tested on the one left out.

A test split written by the same hands as the training data flatters a model (0.95 there, 0.01-0.48 kappa
on real agents' replies). Here each fold holds a whole source out: the model is trained on the train splits
of all the other sources, its thresholds are chosen on their validation splits (each source weighing the same),
and it is tested on every reply of the held-out source. Per criterion the fold reports Cohen's kappa of the
verdicts against the raters' majority and the AUC of the probabilities, next to how well the raters agree
with each other on that source (Fleiss' kappa of the blind passes in `rubrics/passes/`).

Sources smaller than `MIN_FOLD` replies are held out together, so that no fold is a handful of replies.
A statistic with too little to measure (fewer than MIN_EACH replies of the fold meet the criterion, or miss
it) is None, never a made-up number.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scoring import agreement as ag
from scoring.classifier import fit, source_group
from scoring.embeddings import DIM, Embedded, SentenceEmbedder
from scoring.rubric import LabeledReply, Rubric
from simulator.scenario import CRITERIA

MIN_FOLD = 60
# Kappa on a criterion that fewer replies of the fold meet (or miss) than this is noise, not a measure: n/a.
MIN_EACH = 5
# Replies typed by real people in public corpora (rubrics/labeled-real-v1.jsonl): the folds that count.
REAL_SOURCES = ("star", "taskmaster", "abcd", "harper-valley-bank")


@dataclass(frozen=True)
class CriterionResult:
    positives: int
    predicted: int
    kappa: float | None
    auc: float | None
    raters_kappa: float | None = None
    # Kappa at the held-out source's own best threshold: what any threshold could reach with these
    # probabilities. It looks at the test labels, so it diagnoses (ranking or threshold?), never reports.
    best_kappa: float | None = None


@dataclass(frozen=True)
class FoldResult:
    fold: str
    sources: tuple[str, ...]
    n: int
    criteria: dict[str, CriterionResult]

    @property
    def real(self) -> bool:
        return all(s in REAL_SOURCES for s in self.sources)

    def as_dict(self) -> dict:
        return {"fold": self.fold, "sources": list(self.sources), "n": self.n, "real": self.real,
                "criteria": {c: vars(r) for c, r in self.criteria.items()}}


def folds(rows: Sequence[LabeledReply]) -> dict[str, tuple[str, ...]]:
    """Fold name -> the sources it holds out. A source group (one writer's versions are one group) is a
    fold of its own if it has MIN_FOLD replies or more; the smaller ones are held out together."""
    sizes: dict[str, int] = {}
    members: dict[str, set[str]] = {}
    for r in rows:
        g = source_group(r.source)
        sizes[g] = sizes.get(g, 0) + 1
        members.setdefault(g, set()).add(r.source)
    out = {g: tuple(sorted(members[g])) for g in sorted(sizes) if sizes[g] >= MIN_FOLD}
    small = sorted(g for g in sizes if sizes[g] < MIN_FOLD)
    if small:
        out[" + ".join(small)] = tuple(sorted(s for g in small for s in members[g]))
    return out


Predict = Callable[[Sequence[str]], tuple[dict[str, np.ndarray], dict[str, np.ndarray]]]
Train = Callable[[list[LabeledReply], Callable[[LabeledReply], str]], Predict]


class CachedEmbedder:
    """An embedder that embeds each text once: every fold trains and tests on the same replies."""

    def __init__(self, embedder: SentenceEmbedder):
        self.embedder, self.name = embedder, embedder.name
        self._cache: dict[str, tuple[np.ndarray, np.ndarray, list[str]]] = {}

    def embed_with_sentences(self, texts: Sequence[str]) -> Embedded:
        texts = list(texts)
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            fresh = self.embedder.embed_with_sentences(missing)
            for i, t in enumerate(missing):
                mine = fresh.owners == i
                self._cache[t] = (fresh.replies[i], fresh.sentences[mine],
                                  [s for s, keep in zip(fresh.sentence_texts, mine, strict=True) if keep])
        parts = [self._cache[t] for t in texts]
        return Embedded(np.stack([p[0] for p in parts]) if parts else np.zeros((0, DIM), dtype=np.float32),
                        np.concatenate([p[1] for p in parts]) if parts else np.zeros((0, DIM), dtype=np.float32),
                        np.array([i for i, p in enumerate(parts) for _ in p[2]], dtype=int),
                        [s for p in parts for s in p[2]])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_with_sentences(texts).replies


def scorer_trainer(embedder: SentenceEmbedder, rubric: Rubric, recipe: str = "") -> Train:
    """A `Train` for the product's scorer: `classifier.fit` on the fold's splits, then the scorer as the app
    runs it (whole reply and best sentence as the recipe combines them, calibrated, thresholded)."""
    from scoring.scorer import Scorer

    def train(rows: list[LabeledReply], split_of: Callable[[LabeledReply], str]) -> Predict:
        model = fit(rows, embedder.embed_with_sentences, rubric, embedder.name, split_of=split_of, recipe=recipe)
        scorer = Scorer(model, embedder, rubric)

        def predict(texts: Sequence[str]):
            scores = scorer.score_many(list(texts))
            return ({c: np.array([s.criteria[c].probability for s in scores]) for c in CRITERIA},
                    {c: np.array([s.criteria[c].verdict for s in scores], dtype=int) for c in CRITERIA})
        return predict
    return train


def leave_one_source_out(rows: list[LabeledReply], train: Train, raters: dict | None = None,
                         only: Sequence[str] | None = None) -> list[FoldResult]:
    """One FoldResult per fold (or per fold named in `only`). `raters`: per source group and criterion,
    the raters' own Fleiss' kappa (from `rater_agreement`), shown beside the model's."""
    from sklearn.metrics import cohen_kappa_score, roc_auc_score

    results = []
    for name, sources in folds(rows).items():
        if only and name not in only:
            continue
        held = set(sources)

        def split_of(r: LabeledReply, held=held) -> str:
            if r.source in held:
                return "test"
            return "validation" if r.split == "validation" else "train"

        test = [r for r in rows if r.source in held]
        probabilities, verdicts = train(rows, split_of)([r.text for r in test])
        fold_raters = _pooled(raters or {}, {source_group(s) for s in sources})
        criteria = {}
        for c in CRITERIA:
            y = np.array([r.labels[c] for r in test])
            v, p = verdicts[c], probabilities[c]
            measurable = MIN_EACH <= y.sum() <= len(y) - MIN_EACH
            criteria[c] = CriterionResult(int(y.sum()), int(v.sum()),
                                          float(cohen_kappa_score(y, v)) if measurable else None,
                                          float(roc_auc_score(y, p)) if measurable else None, fold_raters.get(c),
                                          best_threshold_kappa(y, p) if measurable else None)
        results.append(FoldResult(name, sources, len(test), criteria))
    return results


def best_threshold_kappa(y: np.ndarray, p: np.ndarray) -> float:
    """The highest Cohen's kappa any threshold on `p` gives against `y` (a threshold at every distinct score,
    "met" meaning p >= threshold), computed for all thresholds at once from cumulative counts."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    n, positives = len(y), y.sum()
    order = np.argsort(p)
    predicted = n - np.searchsorted(p[order], np.unique(p), side="left")  # replies with p >= each threshold
    below = np.concatenate([[0.0], np.cumsum(y[order])])  # positives among the k lowest scores
    tp = positives - below[n - predicted]
    fp, fn = predicted - tp, positives - tp
    tn = n - tp - fp - fn
    observed = (tp + tn) / n
    expected = (predicted * positives + (n - predicted) * (n - positives)) / n ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = np.where(expected < 1, (observed - expected) / (1 - expected), 0.0)
    return float(kappa.max())


def _pooled(raters: dict, groups: set[str]) -> dict[str, float | None]:
    """The raters' kappa for a fold: its source group's, or, for small groups held out together, the one
    `rater_agreement` computed over all their replies under the fold's name."""
    return raters.get(" + ".join(sorted(groups)), {})


def rater_agreement(passes_dir: Path, rows: Sequence[LabeledReply]) -> dict[str, dict[str, float | None]]:
    """Fleiss' kappa of the blind passes per source group and criterion (and for the small groups held out
    together, under that fold's name): how far the raters agree with each other, the ceiling to read a
    model's kappa against."""
    passes = read_passes(passes_dir)
    by_group: dict[str, list[str]] = {}
    for r in rows:
        by_group.setdefault(source_group(r.source), []).append(r.id)
    for name, sources in folds(rows).items():
        groups = {source_group(s) for s in sources}
        if len(groups) > 1:
            by_group[name] = [i for g in groups for i in by_group[g]]
    out: dict[str, dict[str, float | None]] = {}
    for group, ids in by_group.items():
        rated = [i for i in ids if i in passes]
        if not rated:
            continue
        out[group] = {}
        for c in CRITERIA:
            ratings = {rater: {i: passes[i][rater][c] for i in rated if rater in passes[i]}
                       for rater in sorted({k for i in rated for k in passes[i]})}
            out[group][c] = ag.fleiss_kappa(ratings)[0]
    return out


def read_passes(passes_dir: Path) -> dict[str, dict[str, dict[str, int]]]:
    """reply id -> rater -> criterion -> 0/1, from `passes/<set>/<rater>.jsonl`."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for path in sorted(passes_dir.glob("*/*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                out.setdefault(item["id"], {})[path.stem] = {c: int(item[c]) for c in CRITERIA}
    return out
