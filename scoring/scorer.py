"""The scorer: a reply in, four criterion scores out, each with its probability, verdict, evidence and tip.

Evidence is sentence-level: every sentence of the reply is scored by the same classifier (its vector
comes from the same model pass as the reply's); the probability of empathy, ownership and follow-up is
the higher of the whole reply's and its best sentence's, solution's is the whole reply's (recipe s7: a
sentence lifted out of its reply reads as a fix too easily). A met criterion cites the
sentence that earned it, a missed one cites the closest attempt (or says none came near). A number never
travels without its reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from scoring.classifier import ScorerModel, Texts
from scoring.embeddings import Embedded, SentenceEmbedder
from scoring.rubric import Rubric
from simulator.scenario import CRITERIA

NEAR_MISS = 0.25


@dataclass(frozen=True)
class CriterionScore:
    criterion: str
    probability: float
    verdict: bool
    evidence: str
    reason: str
    tip: str | None

    def as_dict(self) -> dict:
        return {"criterion": self.criterion, "probability": round(self.probability, 4), "verdict": self.verdict,
                "evidence": self.evidence, "reason": self.reason, "tip": self.tip}


@dataclass(frozen=True)
class ReplyScore:
    criteria: dict[str, CriterionScore]
    model_version: str
    rubric_version: str

    @property
    def probabilities(self) -> dict[str, float]:
        return {c: s.probability for c, s in self.criteria.items()}

    @property
    def verdicts(self) -> dict[str, bool]:
        return {c: s.verdict for c, s in self.criteria.items()}


class Scorer:
    def __init__(self, model: ScorerModel, embedder: SentenceEmbedder, rubric: Rubric):
        self.model = model
        self.embedder = embedder
        self.rubric = rubric

    @property
    def version(self) -> str:
        return self.model.version

    def __call__(self, reply: str) -> ReplyScore:
        return self.score_many([reply])[0]

    def score_many(self, replies: Sequence[str]) -> list[ReplyScore]:
        """Score a batch: one model pass gives every reply's and every sentence's vector."""
        replies = list(replies)
        return self._score(replies, self.embedder.embed_with_sentences(replies)) if replies else []

    def _score(self, replies: list[str], embedded: Embedded) -> list[ReplyScore]:
        n = len(replies)
        # Replies and sentences go through the classifiers as one batch: per-call overhead, not
        # arithmetic, dominates a single reply's latency.
        both = self.model.probabilities(Texts([*replies, *embedded.sentence_texts],
                                              np.vstack([embedded.replies, embedded.sentences])))
        whole = {c: p[:n] for c, p in both.items()}
        parts = {c: p[n:] for c, p in both.items()}
        # Empathy, ownership and follow-up are met if the reply does them anywhere: a long reply must not
        # dilute its one empathetic sentence. Solution is judged on the whole reply. Thresholds and the
        # model card are computed under the same rule.
        best = {c: self.model.models[c].reply_score(whole[c], parts[c], embedded.owners) for c in CRITERIA}
        rubric_version = f"{self.rubric.id}@{self.rubric.version}"
        out = []
        bounds = np.searchsorted(embedded.owners, np.arange(n + 1))  # sentences are grouped by reply
        for i in range(n):
            rows = np.arange(bounds[i], bounds[i + 1])
            ss = [embedded.sentence_texts[j] for j in rows]
            scores = {c: self._criterion(c, float(best[c][i]), ss, parts[c][rows]) for c in CRITERIA}
            out.append(ReplyScore(scores, self.model.version, rubric_version))
        return out

    def _criterion(self, c: str, p: float, ss: list[str], sp: np.ndarray) -> CriterionScore:
        crit = self.rubric.criteria[c]
        verdict = p >= self.model.models[c].threshold
        best = int(np.argmax(sp)) if len(sp) else 0
        evidence = ss[best] if ss else ""
        if verdict:
            reason = f"Met: \"{_short(evidence)}\" {_PHRASES[c][0]}."
        elif len(sp) and sp[best] >= NEAR_MISS:
            reason = f"Not met: the closest sentence, \"{_short(evidence)}\", does not quite {_PHRASES[c][1]}."
        else:
            evidence = ""
            reason = f"Not met: no sentence tries to {_PHRASES[c][1]}."
        return CriterionScore(c, p, verdict, evidence, reason, None if verdict else crit.tip)


def _short(text: str, limit: int = 140) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# criterion -> (what a met sentence does, what a missed one failed to do)
_PHRASES = {
    "empathy": ("acknowledges how the customer feels", "acknowledge the customer's feelings or the impact"),
    "ownership": ("owns the problem for the company", "own the problem or commit you to act"),
    "solution": ("gives a concrete fix or answer", "give a concrete fix, answer or next step"),
    "follow_up": ("keeps the conversation going", "keep the loop open (an update, a question, a private channel)"),
}


def overrule(score: ReplyScore, criterion: str, reason: str, tip: str) -> ReplyScore:
    """The score with one criterion set to not met by a rule (a wrong fix is no solution), with the reason."""
    old = score.criteria[criterion]
    new = replace(old, probability=min(old.probability, 0.1), verdict=False, reason=reason, tip=tip)
    return replace(score, criteria={**score.criteria, criterion: new})
