"""Every agreement statistic against its reference implementation, to 1e-9: scikit-learn's cohen_kappa_score,
statsmodels' fleiss_kappa and the krippendorff package; with missing data and the degenerate cases."""

from __future__ import annotations

import json
import math
import random
import re
import warnings

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

from dojo.cli.main import main as cli_main
from scoring import agreement as ag
from simulator.scenario import CRITERIA

TOL = 1e-9


def make(seed: int, raters: int, items: int, labels=(0, 1), missing: float = 0.0, agree: float = 0.7) -> dict:
    """Raters who copy a hidden truth with probability `agree`, else guess; some ratings missing."""
    rng = random.Random(seed)
    truth = {f"r{i}": rng.choice(labels) for i in range(items)}
    return {f"rater{j}": {item: (None if rng.random() < missing else
                                 (t if rng.random() < agree else rng.choice(labels)))
                          for item, t in truth.items()}
            for j in range(raters)}


def ref_cohen(a: dict, b: dict) -> float:
    both = [i for i in a if a[i] is not None and b.get(i) is not None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cohen_kappa_score([a[i] for i in both], [b[i] for i in both])


def ref_fleiss(ratings: dict) -> float:
    raters = list(ratings.values())
    items = [i for i in raters[0] if all(r.get(i) is not None for r in raters)]
    if not items:
        return math.nan  # statsmodels cannot take an empty table; undefined either way
    table, _ = aggregate_raters(np.array([[r[i] for r in raters] for i in items]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sm_fleiss(table)


def ref_alpha(ratings: dict) -> float:
    items = sorted({i for r in ratings.values() for i in r})
    data = [[np.nan if r.get(i) is None else float(r[i]) for i in items] for r in ratings.values()]
    return krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")


def same(ours: float | None, reference: float) -> bool:
    return (ours is None and math.isnan(reference)) or (ours is not None and abs(ours - reference) <= TOL)


CASES = [
    dict(seed=1, raters=2, items=40),
    dict(seed=2, raters=2, items=200, missing=0.2),
    dict(seed=3, raters=3, items=60, missing=0.1),
    dict(seed=4, raters=5, items=120, missing=0.3, agree=0.4),
    dict(seed=5, raters=4, items=80, labels=(0, 1, 2), missing=0.15),  # yes / no / not applicable
    dict(seed=6, raters=2, items=15, agree=0.0),  # chance raters: kappa near or below 0
    dict(seed=7, raters=3, items=50, agree=1.0),  # perfect agreement
    dict(seed=8, raters=6, items=30, missing=0.5),  # nobody-complete: Fleiss undefined
    dict(seed=9, raters=6, items=100, missing=0.03),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"seed{c['seed']}")
def test_cohen_kappa_matches_scikit_learn_for_every_pair(case):
    ratings = make(**case)
    for a, b in [(x, y) for i, x in enumerate(ratings) for y in list(ratings)[i + 1:]]:
        ours, n = ag.cohen_kappa(ratings[a], ratings[b])
        assert same(ours, ref_cohen(ratings[a], ratings[b])), (a, b, ours)
        assert n == sum(ratings[a][i] is not None and ratings[b][i] is not None for i in ratings[a])


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"seed{c['seed']}")
def test_fleiss_kappa_matches_statsmodels_on_the_items_everyone_rated(case):
    ratings = make(**case)
    ours, n = ag.fleiss_kappa(ratings)
    assert same(ours, ref_fleiss(ratings)), ours
    assert n == sum(all(r[i] is not None for r in ratings.values()) for i in next(iter(ratings.values())))


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"seed{c['seed']}")
def test_krippendorff_alpha_matches_the_krippendorff_package_with_missing_data(case):
    ratings = make(**case)
    ours, _ = ag.krippendorff_alpha(ratings)
    assert same(ours, ref_alpha(ratings)), ours


def test_the_textbook_example():
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", nominal example: alpha = 0.743.
    rows = [[1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
            [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None]]
    ratings = {f"c{j}": {f"u{i}": v for i, v in enumerate(row)} for j, row in enumerate(rows)}
    alpha, pairable = ag.krippendorff_alpha(ratings)
    assert round(alpha, 3) == 0.743 and pairable == 11  # unit 12 has one value: not pairable


def test_every_rater_giving_the_same_label_is_undefined_as_in_the_references():
    ratings = {"a": {"1": 1, "2": 1, "3": 1}, "b": {"1": 1, "2": 1, "3": None}}
    assert ag.cohen_kappa(ratings["a"], ratings["b"])[0] is None and math.isnan(ref_cohen(ratings["a"], ratings["b"]))
    assert ag.fleiss_kappa(ratings)[0] is None and math.isnan(ref_fleiss(ratings))
    assert ag.krippendorff_alpha(ratings)[0] is None
    with pytest.raises(ValueError, match="more than one value"):
        ref_alpha(ratings)  # the package refuses; we say "undefined"
    assert ag.percent_agreement(ratings) == (1.0, 2)
    assert "chance agreement is perfect" in ag.why_undefined(ratings)


def test_constant_raters_who_disagree_get_a_defined_kappa():
    ratings = {"a": {"1": 1, "2": 1}, "b": {"1": 0, "2": 0}}
    assert same(ag.cohen_kappa(ratings["a"], ratings["b"])[0], ref_cohen(ratings["a"], ratings["b"]))
    assert same(ag.fleiss_kappa(ratings)[0], ref_fleiss(ratings)) and ag.fleiss_kappa(ratings)[0] == -1.0
    assert same(ag.krippendorff_alpha(ratings)[0], ref_alpha(ratings))


def test_no_common_items_is_undefined_not_zero():
    ratings = {"a": {"1": 1, "2": 0}, "b": {"3": 1, "4": 0}}
    assert ag.cohen_kappa(ratings["a"], ratings["b"]) == (None, 0)
    assert ag.fleiss_kappa(ratings) == (None, 0)
    assert ag.krippendorff_alpha(ratings) == (None, 0)
    assert ag.percent_agreement(ratings) == (None, 0)
    summary = ag.agreement(ratings)
    assert summary.mean_cohen_kappa is None and summary.n == 0


def test_percent_agreement_counts_agreeing_pairs_per_item():
    ratings = {"a": {"1": 1, "2": 1, "3": 0}, "b": {"1": 1, "2": 0, "3": None}, "c": {"1": 1, "2": 0, "3": 0}}
    # item 1: 3/3 pairs agree; item 2: 1/3 (b and c); item 3: 1/1 (a and c)
    assert ag.percent_agreement(ratings) == pytest.approx(((1 + 1 / 3 + 1) / 3, 3))


def test_the_summary_has_every_pair_and_the_mean_of_the_defined_ones():
    ratings = make(seed=11, raters=3, items=50, missing=0.1)
    summary = ag.agreement(ratings)
    assert [(p.a, p.b) for p in summary.pairwise] == [("rater0", "rater1"), ("rater0", "rater2"), ("rater1", "rater2")]
    assert summary.mean_cohen_kappa == pytest.approx(sum(p.cohen_kappa for p in summary.pairwise) / 3, abs=TOL)
    assert set(summary.as_dict()) >= {"n", "percent_agreement", "pairwise", "mean_cohen_kappa", "fleiss_kappa",
                                      "krippendorff_alpha"}


# --- dojo agreement --------------------------------------------------------------------------------

def write_rater(path, rows: list[dict]):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def three_raters(tmp_path):
    ratings = {c: make(seed=20 + k, raters=3, items=60, missing=0.1) for k, c in enumerate(CRITERIA)}
    files = []
    for j in range(3):
        rows = [{"id": item, **{c: ratings[c][f"rater{j}"][item] for c in CRITERIA}}
                for item in ratings["empathy"]["rater0"]]
        files.append(write_rater(tmp_path / f"rater{j}.jsonl", rows))
    return ratings, files


def test_dojo_agreement_json_matches_the_references(tmp_path, capsys):
    ratings, files = three_raters(tmp_path)
    assert cli_main(["agreement", *map(str, files), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["raters"] == ["rater0", "rater1", "rater2"]
    for c in CRITERIA:
        got, r = out["criteria"][c], ratings[c]
        assert set(got) >= {"n", "percent_agreement", "pairwise", "mean_cohen_kappa", "fleiss_kappa",
                            "krippendorff_alpha"}
        assert same(got["fleiss_kappa"], ref_fleiss(r)) and same(got["krippendorff_alpha"], ref_alpha(r))
        for pair in got["pairwise"]:
            assert same(pair["cohen_kappa"], ref_cohen(r[pair["a"]], r[pair["b"]]))
        kappas = [p["cohen_kappa"] for p in got["pairwise"]]
        assert got["mean_cohen_kappa"] == pytest.approx(sum(kappas) / 3, abs=TOL)


def test_dojo_agreement_prints_a_table_and_says_why_a_statistic_is_undefined(tmp_path, capsys):
    a = write_rater(tmp_path / "ana.jsonl", [{"id": "1", "empathy": 1, "ownership": 0, "solution": 1, "follow_up": 1},
                                             {"id": "2", "empathy": 0, "ownership": 1, "solution": 1, "follow_up": 1}])
    b = write_rater(tmp_path / "ben.jsonl", [{"id": "1", "empathy": 1, "ownership": 1, "solution": 1},
                                             {"id": "2", "empathy": 0, "ownership": 1, "solution": None},
                                             {"id": "3", "empathy": 1}])
    assert cli_main(["agreement", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "2 raters: ana, ben" in out and "ana~ben" in out
    assert re.search(r"^empathy\s+2\s+2\s+100\.0%\s+1\.000\s+1\.000\s+1\.000$", out, re.M)
    assert "solution: undefined statistics: every rating is 'met'" in out
    assert re.search(r"^follow_up\s+0\s+0\s+undefined", out, re.M)  # ben gave no follow-up labels


def test_dojo_agreement_lists_every_bad_line_and_computes_nothing(tmp_path, capsys):
    good = write_rater(tmp_path / "ana.jsonl", [{"id": "1", "empathy": 1}])
    bad = tmp_path / "ben.jsonl"
    bad.write_text('{"id": "1", "empathy": 2}\nnot json\n{"id": "1", "empathy": 1}\n{"id": 5}\n'
                   '{"id": "9", "empathy": true, "tone": 1}\n', encoding="utf-8")
    assert cli_main(["agreement", str(good), str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"{bad}:1: empathy: 2 is not 0, 1 or null (id '1')",
        f"{bad}:2: not valid JSON (Expecting value)",
        f"{bad}:3: id: '1' appears twice in this file",
        f"{bad}:4: id: needs a non-empty string, got 5",
        f"{bad}:5: tone: unknown field; fields are id, empathy, ownership, solution, follow_up",
        f"{bad}:5: empathy: True is not 0, 1 or null (id '9')"]


def test_dojo_agreement_needs_two_raters_and_model_with_texts(tmp_path, capsys):
    one = write_rater(tmp_path / "ana.jsonl", [{"id": "1", "empathy": 1}])
    assert cli_main(["agreement", str(one)]) == 2
    assert "needs two raters or more" in capsys.readouterr().err
    assert cli_main(["agreement", str(one), "--model"]) == 2
    assert "--model and --texts go together" in capsys.readouterr().err
    assert cli_main(["agreement", str(tmp_path / "missing.jsonl"), str(one)]) == 2
    assert "missing.jsonl: cannot read" in capsys.readouterr().err


@pytest.mark.real_models
def test_dojo_agreement_adds_the_classifiers_as_a_rater(tmp_path, capsys):
    texts = tmp_path / "texts.jsonl"
    replies = {"1": "I'm so sorry about the wait. I've refunded the £40 now; you'll see it in 3 days, and I'll "
                    "email you once it lands.", "2": "Please see our website.", "3": "Sorry to hear that!"}
    texts.write_text("".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in replies.items()), encoding="utf-8")
    ana = write_rater(tmp_path / "ana.jsonl", [
        {"id": "1", "empathy": 1, "ownership": 1, "solution": 1, "follow_up": 1},
        {"id": "2", "empathy": 0, "ownership": 0, "solution": 0, "follow_up": 0},
        {"id": "3", "empathy": 1, "ownership": 0, "solution": 0, "follow_up": 0}])
    assert cli_main(["agreement", str(ana), "--model", "--texts", str(texts), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["raters"][0] == "ana" and out["raters"][1].startswith("model:r")
    assert out["criteria"]["solution"]["pairwise"][0]["n"] == 3
