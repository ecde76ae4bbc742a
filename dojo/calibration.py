"""QA calibration: what a finished round says, consensus labels as training data, and the before/after
comparison a lead accepts a retrained model on.

- `round_report`: per criterion, the reviewers' agreement (pairwise Cohen's kappa, Fleiss' kappa,
  Krippendorff's alpha, percent agreement; "not applicable" is a label of its own), the classifiers' kappa
  against the consensus, and the replies the reviewers split on, to discuss.
- `consensus_rows`: consensus labels as `LabeledReply` rows with their provenance (round and lead). A reply
  whose consensus says "not applicable" for any criterion is left out: the classifiers have no such answer.
- `compare`: two model versions on the fixed gold set (the test split of the rubric's labeled files, which
  consensus labels never change), kappa and macro-F1 per criterion.
- `tune_thresholds`: per criterion, the decision threshold that agrees best (Cohen's kappa) with the consensus.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.metrics import cohen_kappa_score, f1_score

from dojo.store import LABELS, NA, Consensus, PracticeSession, Turn
from scoring import agreement as ag
from scoring.rubric import LabeledReply
from scoring.scorer import Scorer
from simulator.scenario import CRITERIA


class CalibrationError(ValueError):
    """A calibration step that cannot be taken yet (one line, says what is missing)."""


@dataclass(frozen=True)
class Split:
    """A reply the reviewers did not agree on, for the discussion."""

    turn_id: int
    criterion: str
    labels: dict[str, int]  # reviewer -> label


@dataclass
class RoundReport:
    raters: list[str]
    items: list[int]
    agreement: dict[str, ag.Agreement] = field(default_factory=dict)
    model_kappa: dict[str, float | None] = field(default_factory=dict)  # classifiers vs consensus
    model_n: dict[str, int] = field(default_factory=dict)
    splits: list[Split] = field(default_factory=list)
    undefined: dict[str, str] = field(default_factory=dict)  # criterion -> why a statistic is undefined


def round_report(ratings: dict[str, dict[str, dict[int, int]]], raters: list[str], items: list[int],
                 model_verdicts: dict[int, dict[str, bool]], consensus: dict[int, dict[str, Consensus]]) -> RoundReport:
    report = RoundReport(raters, items)
    for c in CRITERIA:
        per = {r: {str(t): label for t, label in ratings.get(c, {}).get(r, {}).items()} for r in raters}
        report.agreement[c] = result = ag.agreement(per)
        if None in (result.fleiss_kappa, result.krippendorff_alpha):
            report.undefined[c] = ag.why_undefined(per, LABELS)
        for t in items:
            labels = {r: per[r][str(t)] for r in raters if str(t) in per[r]}
            if len(set(labels.values())) > 1:
                report.splits.append(Split(t, c, labels))
        agreed = {t: row[c].label for t, row in consensus.items() if c in row and row[c].label != NA
                  and t in model_verdicts}
        model = {t: int(model_verdicts[t][c]) for t in agreed}
        kappa, n = ag.cohen_kappa({str(t): v for t, v in agreed.items()}, {str(t): v for t, v in model.items()})
        report.model_kappa[c], report.model_n[c] = kappa, n
    return report


def consensus_rows(replies: list[tuple[Turn, PracticeSession, dict[str, Consensus]]],
                   known_texts: set[str]) -> list[LabeledReply]:
    """Training rows from consensus labels: every criterion decided, none "not applicable", and a text not
    already in the labeled files (the same text twice could sit in train and test)."""
    rows = []
    for turn, session, labels in replies:
        if set(labels) != set(CRITERIA) or any(row.label == NA for row in labels.values()):
            continue
        text = turn.text.strip()
        if text in known_texts:
            continue
        known_texts.add(text)
        rounds = sorted({row.round_id for row in labels.values() if row.round_id is not None})
        source = "consensus:" + (",".join(f"round-{r}" for r in rounds) if rounds else "review")
        rows.append(LabeledReply(id=f"consensus-{turn.id}", text=text, labels={c: labels[c].label for c in CRITERIA},
                                 source=source, channel=session.channel))
    return rows


@dataclass(frozen=True)
class CriterionComparison:
    kappa_before: float | None
    kappa_after: float
    f1_before: float | None
    f1_after: float


@dataclass
class Comparison:
    before: str | None
    after: str
    n: int
    criteria: dict[str, CriterionComparison]

    @property
    def better(self) -> bool:
        """The new version agrees at least as well on average (kappa over the criteria)."""
        before = [c.kappa_before for c in self.criteria.values() if c.kappa_before is not None]
        after = [c.kappa_after for c in self.criteria.values()]
        return not before or sum(after) / len(after) >= sum(before) / len(before)


def _metrics(scorer: Scorer, gold: list[LabeledReply]) -> dict[str, tuple[float, float]]:
    scores = scorer.score_many([r.text for r in gold])
    out = {}
    for c in CRITERIA:
        y = np.array([r.labels[c] for r in gold])
        pred = np.array([int(s.criteria[c].verdict) for s in scores])
        out[c] = (float(cohen_kappa_score(y, pred)), float(f1_score(y, pred, average="macro", zero_division=0)))
    return out


def compare(before: Scorer | None, after: Scorer, gold: list[LabeledReply]) -> Comparison:
    old = _metrics(before, gold) if before is not None else {}
    new = _metrics(after, gold)
    return Comparison(before.version if before else None, after.version, len(gold), {
        c: CriterionComparison(old[c][0] if old else None, new[c][0], old[c][1] if old else None, new[c][1])
        for c in CRITERIA})


GRID = np.linspace(0.05, 0.95, 37)


def tune_thresholds(probabilities: dict[str, np.ndarray], labels: dict[str, np.ndarray],
                    current: dict[str, float]) -> tuple[dict[str, float], dict[str, tuple[float | None, float | None]]]:
    """Per criterion, the threshold with the best Cohen's kappa against the consensus (ties: the one closest
    to the current threshold). A criterion whose consensus has only one label keeps its threshold.
    Returns the thresholds and, per criterion, (kappa at the current threshold, kappa at the new one)."""
    thresholds, gains = {}, {}
    for c in CRITERIA:
        y, p = labels[c], probabilities[c]
        if len(set(y.tolist())) < 2:
            thresholds[c] = current[c]
            continue

        def kappa(t: float, y=y, p=p) -> float:
            return float(cohen_kappa_score(y, (p >= t).astype(int))) if len(set((p >= t).tolist())) > 1 else 0.0

        def shown(t: float, y=y, p=p) -> float | None:  # a verdict that never changes: kappa is 0/0, undefined
            return kappa(t) if len(set((p >= t).tolist())) > 1 else None

        best = max(GRID, key=lambda t: (round(kappa(t), 9), -abs(t - current[c])))
        thresholds[c] = float(best)
        gains[c] = (shown(current[c]), shown(float(best)))
    return thresholds, gains
