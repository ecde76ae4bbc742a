"""Chance-corrected agreement between raters (QA reviewers, and the classifiers as one more rater).

Ratings are nominal labels per item: `{rater: {item_id: label}}`, a label being any hashable value (0/1 for
"met"/"not met", or a third value such as "na" for not applicable) or None for missing. Each statistic
handles missing data as it is defined:

- **Cohen's kappa** (per pair of raters): over the items both rated. kappa = (p_o - p_e) / (1 - p_e).
- **Fleiss' kappa**: over the items every rater rated (a complete table), as Fleiss (1971) defines it.
- **Krippendorff's alpha** (nominal): over every item with at least two ratings (pairable values), from the
  coincidence matrix; missing ratings are simply absent.
- **Percent agreement**: over the items with at least two ratings, the share of rater pairs that agree,
  averaged over items (for two raters: the share of items they agree on). Not chance-corrected; shown
  because people expect it, next to the statistics that are.

A statistic that is undefined (no items, or every rating the same label so chance agreement is perfect:
0/0) is None, never a made-up 0 or 1; `why_undefined` says which. These match scikit-learn's
`cohen_kappa_score`, statsmodels' `fleiss_kappa` and the `krippendorff` package to 1e-9 (tests/test_agreement.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from itertools import combinations

Ratings = Mapping[str, Mapping[str, Hashable | None]]  # rater -> item id -> label (None = missing)


def _present(labels: Mapping[str, Hashable | None]) -> dict[str, Hashable]:
    return {item: label for item, label in labels.items() if label is not None}


def cohen_kappa(a: Mapping[str, Hashable | None], b: Mapping[str, Hashable | None]) -> tuple[float | None, int]:
    """Cohen's kappa of two raters over the items both rated, and how many items that is."""
    a, b = _present(a), _present(b)
    both = [item for item in a if item in b]
    n = len(both)
    if n == 0:
        return None, 0
    observed = sum(a[i] == b[i] for i in both) / n
    count_a, count_b = Counter(a[i] for i in both), Counter(b[i] for i in both)
    expected = sum(count_a[label] * count_b[label] for label in count_a) / (n * n)
    if expected == 1.0:
        return None, n
    return (observed - expected) / (1.0 - expected), n


def fleiss_kappa(ratings: Ratings) -> tuple[float | None, int]:
    """Fleiss' kappa over the items every rater rated, and how many items that is."""
    raters = [_present(r) for r in ratings.values()]
    m = len(raters)
    if m < 2:
        return None, 0
    items = sorted(set.intersection(*(set(r) for r in raters)))
    n = len(items)
    if n == 0:
        return None, 0
    per_item = [Counter(r[i] for r in raters) for i in items]
    p_items = [(sum(c * c for c in counts.values()) - m) / (m * (m - 1)) for counts in per_item]
    p_bar = sum(p_items) / n
    totals: Counter = Counter()
    for counts in per_item:
        totals.update(counts)
    p_e = sum((total / (n * m)) ** 2 for total in totals.values())
    if p_e == 1.0:
        return None, n
    return (p_bar - p_e) / (1.0 - p_e), n


def krippendorff_alpha(ratings: Ratings) -> tuple[float | None, int]:
    """Krippendorff's alpha for nominal data, and the number of pairable items (two or more ratings)."""
    raters = [_present(r) for r in ratings.values()]
    units: dict[str, list[Hashable]] = {}
    for r in raters:
        for item, label in r.items():
            units.setdefault(item, []).append(label)
    coincidences: Counter = Counter()
    pairable = 0
    for values in units.values():
        m = len(values)
        if m < 2:
            continue
        pairable += 1
        counts = Counter(values)
        for c, n_c in counts.items():
            for k, n_k in counts.items():
                pairs = n_c * (n_k - 1) if c == k else n_c * n_k
                coincidences[c, k] += pairs / (m - 1)
    marginals: Counter = Counter()
    for (c, _k), o in coincidences.items():
        marginals[c] += o
    n = sum(marginals.values())
    disagree_observed = sum(o for (c, k), o in coincidences.items() if c != k)
    disagree_expected = sum(marginals[c] * marginals[k] for c in marginals for k in marginals if c != k)
    if pairable == 0 or disagree_expected == 0:
        return None, pairable
    return 1.0 - (n - 1) * disagree_observed / disagree_expected, pairable


def percent_agreement(ratings: Ratings) -> tuple[float | None, int]:
    """Mean over items (with two or more ratings) of the share of rater pairs that agree."""
    raters = [_present(r) for r in ratings.values()]
    items = {item for r in raters for item in r}
    shares = []
    for item in items:
        values = [r[item] for r in raters if item in r]
        if len(values) < 2:
            continue
        pairs = list(combinations(values, 2))
        shares.append(sum(x == y for x, y in pairs) / len(pairs))
    return (sum(shares) / len(shares) if shares else None), len(shares)


@dataclass(frozen=True)
class PairKappa:
    a: str
    b: str
    cohen_kappa: float | None
    n: int


@dataclass(frozen=True)
class Agreement:
    """Every statistic for one criterion."""

    n: int  # items with at least two ratings
    n_complete: int  # items every rater rated (Fleiss' kappa uses these)
    percent_agreement: float | None
    pairwise: list[PairKappa] = field(default_factory=list)
    mean_cohen_kappa: float | None = None
    fleiss_kappa: float | None = None
    krippendorff_alpha: float | None = None

    def as_dict(self) -> dict:
        return {"n": self.n, "n_complete": self.n_complete, "percent_agreement": self.percent_agreement,
                "pairwise": [{"a": p.a, "b": p.b, "cohen_kappa": p.cohen_kappa, "n": p.n} for p in self.pairwise],
                "mean_cohen_kappa": self.mean_cohen_kappa, "fleiss_kappa": self.fleiss_kappa,
                "krippendorff_alpha": self.krippendorff_alpha}


def agreement(ratings: Ratings) -> Agreement:
    """All the statistics for one criterion's ratings."""
    pairwise = []
    for a, b in combinations(ratings, 2):
        kappa, n = cohen_kappa(ratings[a], ratings[b])
        pairwise.append(PairKappa(a, b, kappa, n))
    defined = [p.cohen_kappa for p in pairwise if p.cohen_kappa is not None]
    percent, n = percent_agreement(ratings)
    fleiss, n_complete = fleiss_kappa(ratings)
    alpha, _ = krippendorff_alpha(ratings)
    return Agreement(n=n, n_complete=n_complete, percent_agreement=percent, pairwise=pairwise,
                     mean_cohen_kappa=sum(defined) / len(defined) if defined else None,
                     fleiss_kappa=fleiss, krippendorff_alpha=alpha)


def why_undefined(ratings: Ratings, names: dict | None = None) -> str:
    """Why a statistic came out None, in words for the page and the CLI. `names`: each label in words
    (e.g. {1: "met", 0: "not met"}), so the reason reads "every rating is 'not met'", not "is 0"."""
    labels = {label for r in ratings.values() for label in _present(r).values()}
    if not labels:
        return "no ratings"
    if len(labels) == 1:
        label = next(iter(labels))
        shown = (names or {}).get(label, label)
        return (f"every rating is {shown!r}: with only one label in use, chance agreement is perfect, so kappa "
                "and alpha are 0/0 (undefined, not 0)")
    return "too few items rated by the raters compared"
