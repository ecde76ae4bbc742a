"""Benchmark of the simulated customer: latency, model acceptance, guards, diversity, outcomes per trainee style.

    python bench/customer.py [--seeds 2] [--scenarios ID ...] [--backend transformers] [--no-baseline] [--json F]
    python bench/customer.py --smoke     # seconds: scripted customer, hashing embedder, two scenarios, one seed

Plays every scenario with six scripted trainee styles and several seeds through the real practice loop (the
real scorer and fix judge decide the beats), once with the chosen backend and once with the scripted backend
as the baseline, and prints one table against the issue's targets. The styles:

- solving: sympathy, asks what the fix needs, offers the scenario's first accepted resolution, cites, follows up;
- neutral / dismissive: replies that never solve;
- wrong fix: offers the scenario's common wrong answers, confidently;
- over-promise: the right fix plus money beyond the policy (and a delivery before the earliest date);
- asks questions: asks the customer about themselves (postcode, item, what they tried ...), then solves.

Then how much the customer reads like a real person: a plain classifier (character n-grams + logistic regression,
5-fold cross-validated) told to tell the customer's short-channel turns (chat, public post, DM, bot hand-off) from
real customers' messages in public dialogue corpora (bench/data/real-customer-messages-v1.jsonl; 0.5 accuracy is
indistinguishable), the same classifier on the messages' shapes alone (letters masked, so topic cannot tell them
apart: what is left is style), the style statistics of both side by side, and how many distinct turns the seeds
give; for the personas as the scenarios draw them and for plain personas (no writing style, no uncooperative
behaviours, one wording per line, worded by the seed alone whatever the trainee wrote: the customer before
issue 17). Then the safety and public-data detectors'
precision and recall on bench/data/unsafe-requests-v1.jsonl, and the meaning guard's: on the embedded model's own
rewordings of every scenario line, judged by three blind labelers (bench/data/rewrite-pairs-v2.jsonl; half of the
scenarios held out while the guard was written), and on rewordings a writer wrote
(bench/data/rewrite-pairs-v1.jsonl), with the guard as it runs for the embedded model and as it runs for a free
rewriter (a chat model).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from dojo.practice import Practice, Run
from dojo.services import Services
from scoring import scorecard as scorecards
from scoring.channel_rules import check_reply, public_data_rule, secret_requests
from simulator.customer import AGENT_PHRASES, Customer, CustomerState
from simulator.fixes import FixJudge
from simulator.scenario import Scenario
from simulator.settings import Settings

STYLES = ("solving", "neutral", "dismissive", "wrong fix", "over-promise", "asks questions")
# One question per topic the customer can be asked about (simulator/questions.py), as a trainee would put it.
TOPIC_QUESTIONS = {
    "postcode": "What's the postcode there?", "delivery_address": "What's the delivery address?",
    "address": "Could you confirm your address?", "city": "Which city are you in?",
    "email": "What's the best email to reach you on?", "phone": "What's the best phone number for you?",
    "item": "Which item was it?", "order_date": "When did you place the order?",
    "payment": "How did you pay for it?", "tried": "What have you tried so far?",
    "device": "Which device are you using?", "account_age": "How long have you been with us?",
}
REQUESTS = Path(__file__).resolve().parent / "data" / "unsafe-requests-v1.jsonl"
FIXES = Path(__file__).resolve().parent / "data" / "trainee-fixes-v1.jsonl"
PAIRS = Path(__file__).resolve().parent / "data" / "rewrite-pairs-v1.jsonl"
MODEL_PAIRS = Path(__file__).resolve().parent / "data" / "rewrite-pairs-v2.jsonl"
REAL = Path(__file__).resolve().parent / "data" / "real-customer-messages-v1.jsonl"
SHORT = ("live_chat", "social_public", "social_dm", "bot_handoff")
NEUTRAL = ("Thanks for your message. Let me look into this for you.",
           "I've passed this on to the relevant team.",
           "Thanks for waiting. I'm still checking.",
           "Okay, noted.")
DISMISSIVE = ("That's our policy, there's nothing I can do.",
              "Please check the website, it's all explained there.",
              "You'll have to wait like everyone else.",
              "I can't help with that.")


def ask_for(what: str) -> str:
    """A question for a hidden fact; about a secret (recovery codes): whether they have it, never what it is."""
    question = f"Could you tell me {what}?"
    return f"Do you still have your {what.removesuffix('s')}s somewhere?" if secret_requests(question) else question


def solving_reply(scenario: Scenario, run: Run, turn: int, extra: str = "") -> str:
    """Empathy, ownership, the questions still open, the fix, its policy, a follow-up; within the channel's
    length limit (the app refuses a longer reply), so shorter phrasings where the full one does not fit."""
    state = run.session.state
    wanted = [f for f in scenario.facts if f.id not in state.revealed and f.id not in scenario.bot_collected]
    cites = " ".join(f"kb:{a}" for a in scenario.kb_articles)
    if scenario.resolutions:
        fix = scenario.resolutions[0]
        offer = fix.examples[turn % len(fix.examples)]
    else:
        offer = "I've sorted it for you today at no cost: the fix is done on your account now."
    versions = []
    for asking in (wanted[:2], wanted[:1], []):
        asks = " ".join(ask_for(f.asked_by[0]) for f in asking)
        versions += [f"I'm so sorry about this, I understand how frustrating it is, and it's our mistake. {asks} "
                     f"{offer} That's as set out in {cites}. I'll message you tomorrow morning to confirm it's all "
                     f"complete.{extra}",
                     f"So sorry, I know how frustrating this is. {asks} {offer} Per {cites}. I'll message you "
                     f"tomorrow to confirm.{extra}"]
    versions += [f"So sorry, I know how frustrating this is. {offer}{extra}",
                 f"Sorry, our mistake.{extra} Per {cites}."]
    limit = scenario.channel_spec.max_chars
    return next((v for v in versions if len(v) <= limit), versions[-1])


def over_promise(scenario: Scenario) -> str:
    """Something beyond the policy: money over every limit, or a delivery before the earliest date."""
    policy = scenario.policy
    limit = max(policy.refund_up_to or 0, policy.credit_up_to or 0)
    extra = (f" I've also added a {policy.currency}{limit * 10 + 150:.0f} credit to your account as a goodwill "
             "gesture.")
    if policy.deliver_from and policy.today and policy.deliver_from > policy.today:
        extra += " And I promise it will be delivered to you today."
    return extra


def asks_questions(scenario: Scenario, turn: int) -> tuple[str, list[str]]:
    """Questions about what the customer knows (their `customer_knows`, else the record) for the first turn."""
    topics = [k.about for k in scenario.customer_knows if k.about in TOPIC_QUESTIONS][:2]
    if scenario.customer_record.get("orders"):
        topics.append("item")
    topics = list(dict.fromkeys(topics))[:3]
    if scenario.channel_spec.public:  # in public, a pertinent question is about the problem, not personal data
        topics = [t for t in topics if t in ("item", "tried", "device", "order_date")] or ["tried"]
    return "Sorry to hear that, let me help. " + " ".join(TOPIC_QUESTIONS[t] for t in topics), topics


def trainee_reply(style: str, scenario: Scenario, run: Run, turn: int) -> tuple[str, list[str]]:
    """The reply, and the topics it asks the customer about (for the questions-answered share)."""
    if style == "neutral":
        return NEUTRAL[turn % len(NEUTRAL)], []
    if style == "dismissive":
        return DISMISSIVE[turn % len(DISMISSIVE)], []
    if style == "wrong fix" and scenario.wrong_answers:
        wrong = scenario.wrong_answers[turn % len(scenario.wrong_answers)]
        example = wrong.examples[turn % len(wrong.examples)]
        return f"I'm sorry about this. {example} Let me know if you need anything.", []
    if style == "over-promise":
        return solving_reply(scenario, run, turn, extra=over_promise(scenario)), []
    if style == "asks questions" and turn == 0:
        return asks_questions(scenario, turn)
    return solving_reply(scenario, run, turn), []


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    guards: Counter = field(default_factory=Counter)
    rejected: Counter = field(default_factory=Counter)
    swaps_sent: int = 0
    texts: dict[tuple, list[str]] = field(default_factory=dict)
    short: list[str] = field(default_factory=list)  # customer messages on the short channels, one per line sent
    behaviours: Counter = field(default_factory=Counter)
    outcomes: dict[str, Counter] = field(default_factory=lambda: {s: Counter() for s in STYLES})
    questions: int = 0  # pertinent questions asked (style "asks questions")
    answered: int = 0  # of which the customer answered in character
    over_promises: int = 0  # replies of the over-promise style
    over_flagged: int = 0  # of which flagged over_promise
    wall_s: float = 0.0

    def turns(self) -> int:
        return sum(self.guards.values())


def play(practice: Practice, scenarios: list[Scenario], seeds: int) -> Tally:
    tally = Tally()
    started = time.perf_counter()
    for scenario in scenarios:
        for style in STYLES:
            for seed in range(seeds):
                run = practice.start(scenario, seed=1000 + seed)
                turn = 0
                while not run.session.ended:
                    text, topics = trainee_reply(style, scenario, run, turn)
                    result = practice.reply(run, text, delay_s=30)
                    if topics:
                        tally.questions += len(topics)
                        got = {a.topic for a in result.customer.answers if a.topic != "unknown"}
                        tally.answered += sum(t in got or (t == "address" and "delivery_address" in got)
                                              for t in topics)
                    if style == "over-promise":
                        tally.over_promises += 1
                        tally.over_flagged += any(f.kind == "over_promise" for f in result.customer.fix.flags)
                    turn += 1
                customer = [m for m in run.session.messages if m.role == "customer"]
                for i, m in enumerate(customer):
                    tally.latencies.append(m.latency_ms or 0.0)
                    tally.guards[m.guard.split(":")[0] if m.guard else "?"] += 1
                    # The model's phrasing only: a scenario's own line may say "is there anything else you need".
                    tally.swaps_sent += bool(m.guard == "model" and AGENT_PHRASES.search(m.text))
                    tally.texts.setdefault((scenario.id, style, i), []).append(m.text)
                    tally.behaviours.update(m.behaviours)
                    if scenario.channel.value in SHORT:  # a chat turn on several lines is several messages
                        tally.short.extend(line for line in m.text.split("\n") if line.strip())
                for r in run.results:
                    tally.rejected.update(r.customer.rejected)
                outcome = run.session.outcome
                tally.outcomes[style]["resolved" if outcome == "resolved" else
                                      "escalated/abandoned" if outcome in ("escalated", "abandoned") else outcome] += 1
                tally.outcomes[style]["clean"] += scorecards.build(run).clean
    tally.wall_s = time.perf_counter() - started
    return tally


def distinct_2(tally: Tally) -> float:
    """Distinct bigrams / all bigrams of the customer turns at the same point of the same session across
    seeds, averaged: 0 when every seed reads the same, near 1 when they share no bigram."""
    values = []
    for texts in tally.texts.values():
        if len(texts) < 2:
            continue
        grams = [tuple(t.lower().split()[i:i + 2]) for t in texts for i in range(len(t.split()) - 1)]
        if grams:
            values.append(len(set(grams)) / len(grams))
    return statistics.mean(values) if values else 0.0


def distinct_turns(tally: Tally) -> tuple[int, int]:
    """(distinct customer turns, all customer turns) over every session and seed."""
    texts = [t for group in tally.texts.values() for t in group]
    return len(set(texts)), len(texts)


def seeds_differ(tally: Tally) -> float:
    """How often another seed gives the same turn (same scenario, trainee style and position) other words: per
    group, (distinct texts - 1) / (seeds - 1), averaged; 0 when every seed reads the same, 1 when none repeats."""
    values = [(len(set(g)) - 1) / (len(g) - 1) for g in tally.texts.values() if len(g) > 1]
    return statistics.mean(values) if values else 0.0


EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF]|[:;]-?[()DPp]")
CAPS = re.compile(r"\b[A-Z]{3,}\b")


def normalise(text: str) -> str:
    """Handles and links out of both sides: the classifier must tell people apart, not platforms."""
    return " ".join(re.sub(r"https?://\S+|www\.\S+|@\w+", " ", text).split())


def normalised(texts: list[str]) -> list[str]:
    return [t for t in map(normalise, texts) if t]


def style_stats(texts: list[str]) -> dict[str, str]:
    texts = normalised(texts)
    n = len(texts)
    return {"messages": str(n),
            "mean length, characters": f"{statistics.mean(len(t) for t in texts):.0f}" if n else "n/a",
            "no final punctuation": pct(sum(t[-1] not in ".!?" for t in texts), n),
            "exclamation mark": pct(sum("!" in t for t in texts), n),
            "emoji or emoticon": pct(sum(bool(EMOJI.search(t)) for t in texts), n),
            "all-caps word": pct(sum(bool(CAPS.search(t)) for t in texts), n),
            "all lower case": pct(sum(t == t.lower() for t in texts), n)}


def real_messages(path: Path = REAL) -> list[str]:
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def shape(text: str) -> str:
    """The message's shape without its words: each lower-case letter 'a', capital 'A', digit '0'; spaces,
    punctuation and emoji kept. What is left is style (length, case, punctuation, emoji), not topic."""
    return re.sub(r"\d", "0", re.sub(r"[A-Z]", "A", re.sub(r"[a-z]", "a", text)))


def tell_apart(simulated: list[str], real: list[str], seed: int = 0,
               view: Callable[[str], str] | None = None) -> tuple[float, float, int]:
    """(accuracy, AUC, messages per side) of char n-grams + logistic regression telling the two apart, 5-fold
    cross-validated on equal numbers of each (the larger side sampled down, seeded). `view` maps each message
    first (`shape`: style only)."""
    import random

    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline

    simulated, real = normalised(simulated), normalised(real)
    n = min(len(simulated), len(real))
    if n < 10:
        return float("nan"), float("nan"), n
    rng = random.Random(seed)
    texts = rng.sample(simulated, n) + rng.sample(real, n)
    if view is not None:
        texts = [view(t) for t in texts]
    y = [1] * n + [0] * n
    model = make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), min_df=2, sublinear_tf=True),
                          LogisticRegression(max_iter=2000))
    proba = cross_val_predict(model, texts, y, cv=StratifiedKFold(5, shuffle=True, random_state=seed),
                              method="predict_proba")[:, 1]
    accuracy = sum((p >= 0.5) == bool(t) for p, t in zip(proba, y, strict=True)) / len(y)
    return accuracy, float(roc_auc_score(y, proba)), n


def realism_rows(tallies: dict[str, Tally], real: list[str]) -> list[tuple[str, ...]]:
    """Per run: how well a classifier tells its customer from real customers, style statistics, distinct turns;
    the real messages' own statistics in the last column."""
    names = list(tallies)
    out: list[tuple[str, ...]] = []
    found = {name: tell_apart(t.short, real) for name, t in tallies.items()}
    out.append(("classifier accuracy, simulated vs real (0.5 = indistinguishable)", "<= 0.65",
                *(f"{found[n][0]:.2f}" for n in names), ""))
    out.append(("classifier AUC", "", *(f"{found[n][1]:.2f}" for n in names), ""))
    styled = {name: tell_apart(t.short, real, view=shape) for name, t in tallies.items()}
    out.append(("the same classifier on style alone (letters masked): accuracy", "",
                *(f"{styled[n][0]:.2f}" for n in names), ""))
    stats = {name: style_stats(t.short) for name, t in tallies.items()}
    real_stats = style_stats(real)
    for key in real_stats:
        out.append((key, "", *(stats[n][key] for n in names), real_stats[key]))
    distinct = {name: distinct_turns(tallies[name]) for name in names}
    out.append(("distinct customer turns (all channels)", ">= 2x plain",
                *(f"{distinct[n][0]} of {distinct[n][1]}" for n in names), ""))
    out.append(("the same turn on another seed reads differently", "",
                *(f"{100 * seeds_differ(tallies[n]):.0f} %" for n in names), ""))
    out.append(("uncooperative behaviours shown", "",
                *(", ".join(f"{b} {c}" for b, c in sorted(tallies[n].behaviours.items())) or "none" for n in names),
                ""))
    return out


def plain(scenario: Scenario) -> Scenario:
    """The scenario's customer as before issue 17: no writing style, no uncooperative behaviours, one wording
    per line (and, with `plain_practice`, worded by the seed alone)."""
    return replace(scenario, persona=replace(scenario.persona, style=(), behaviours=()), opening_also_says=(),
                   beats=tuple(replace(b, also_says=()) for b in scenario.beats))


def plain_practice(services: Services) -> Practice:
    """The same backend and scorer with the customer's wording drawn by the seed alone, not by the reply too."""
    customer = services.customer
    return Practice(Customer(customer.backend, customer.embedder, replace(customer.config,
                                                                          wording_follows_reply=False)),
                    services.practice.scorer)


def pct(n: float, d: float) -> str:
    return f"{100 * n / d:.0f} %" if d else "n/a"


def rows(tally: Tally, scenarios: int) -> dict[str, str]:
    lat = sorted(tally.latencies)
    n = tally.turns()
    accepted = tally.guards["model"] + tally.guards["model_verbatim"]

    def share(style: str, key: str) -> str:
        c = tally.outcomes[style]
        return pct(c[key], sum(v for k, v in c.items() if k != "clean"))

    return {
        "customer turns": str(n),
        "turn latency p50": f"{statistics.median(lat) / 1000:.2f} s" if lat else "n/a",
        "turn latency p95": f"{lat[max(0, int(0.95 * len(lat)) - 1)] / 1000:.2f} s" if lat else "n/a",
        "model candidate accepted": pct(accepted, n),
        "  of which reworded (not verbatim)": pct(tally.guards["model"], n),
        "fallback to the scenario line": pct(tally.guards["fallback"], n),
        "role swaps caught by the guards": str(tally.rejected["role_swap"]),
        "role swaps that reached the trainee": str(tally.swaps_sent),
        "distinct-2 across seeds": f"{distinct_2(tally):.2f}",
        "solving style resolves": share("solving", "resolved"),
        "solving style resolves clean": share("solving", "clean"),
        "dismissive style resolves": share("dismissive", "resolved"),
        "dismissive style escalates/abandons": share("dismissive", "escalated/abandoned"),
        "neutral style resolves": share("neutral", "resolved"),
        "wrong-fix style resolves": share("wrong fix", "resolved"),
        "wrong-fix style resolved and clean": share("wrong fix", "clean"),
        "over-promise style resolves": share("over-promise", "resolved"),
        "over-promise style resolved and clean": share("over-promise", "clean"),
        "over-promises flagged": pct(tally.over_flagged, tally.over_promises),
        "pertinent questions answered": pct(tally.answered, tally.questions),
        "questions style resolves": share("asks questions", "resolved"),
        "wall time": f"{tally.wall_s:.0f} s",
    }


TARGETS = {"turn latency p50": "<= 1.50 s", "turn latency p95": "<= 3.00 s", "model candidate accepted": ">= 80 %",
           "role swaps that reached the trainee": "0", "solving style resolves": ">= 90 %",
           "dismissive style resolves": "0 %", "dismissive style escalates/abandons": ">= 80 %",
           "wrong-fix style resolved and clean": "0 %", "over-promise style resolved and clean": "0 %",
           "over-promises flagged": ">= 95 %", "pertinent questions answered": ">= 90 %"}


def fix_rows(services: Services, path: Path = FIXES) -> list[tuple[str, ...]]:
    """The fix judge on trainee replies written by others: per kind of reply, how often it is judged right and how
    often it would end a session as a clean success (an accepted fix, no fault, no unsafe request)."""
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    judge = FixJudge(services.embedder)
    kinds = {"correct fix": [], "wrong answer": [], "over-promise": [], "no fix": []}
    for item in items:
        scenario = services.library.get(item["scenario"])
        fix = judge.judge(item["text"], scenario, revealed=[f.id for f in scenario.facts])
        unsafe = any(not r.passed for r in check_reply(item["text"], scenario.channel))
        faults = unsafe or any(f.kind in ("over_promise", "wrong_fix") for f in fix.flags)
        clean = fix.resolution is not None and not faults
        kind = ("over-promise" if item["over_promise"] else "wrong answer" if item["wrong"] else
                "correct fix" if item["offers"] else "no fix")
        right = {"correct fix": fix.offered == item["offers"] and clean, "wrong answer": fix.wrong == item["wrong"],
                 "over-promise": any(f.kind == "over_promise" for f in fix.flags), "no fix": not clean}[kind]
        kinds[kind].append((item["set"], right, clean))
    said = {"correct fix": "the right fix, clean", "wrong answer": "flagged as that wrong answer",
            "over-promise": "flagged over_promise", "no fix": "not a clean success"}
    out = []
    for kind, rows in kinds.items():
        for which in (1, 2):
            got = [r for r in rows if r[0] == which]
            if got:
                out.append((kind, f"set {which}{' (held out)' if which == 2 else ''}", str(len(got)), said[kind],
                            pct(sum(r[1] for r in got), len(got)), pct(sum(r[2] for r in got), len(got))))
    return out


def _guard_figures(customer, lines, pairs) -> tuple[int, int, int, int]:
    """(true positives, false positives, false negatives, true negatives) of refusing the meaning changers."""
    tp = fp = fn = tn = 0
    for pair in pairs:
        scenario = lines[pair["line"]]
        state = CustomerState(frustration=0.3, revealed=tuple(f.id for f in scenario.facts))
        refused = customer.guard(scenario, state, pair["line"], [pair["rewording"]])[0] is not None
        changed = not pair["keeps_meaning"]
        tp, fp = tp + (refused and changed), fp + (refused and not changed)
        fn, tn = fn + (changed and not refused), tn + (not changed and not refused)
    return tp, fp, fn, tn


def _ratio(a: int, b: int) -> str:
    return f"{a / b:.3f}" if b else "n/a"


def guard_rows(services: Services, path: Path = PAIRS, model_path: Path = MODEL_PAIRS) -> list[tuple[str, ...]]:
    """The customer's guards on labeled rewordings of scenario lines: does a rewording that changes the meaning get
    refused (recall), and is a refused one really one that changes it (precision)? First on the embedded model's own
    rewordings (three blind labels each; the development half was read while the guard was written, the held-out
    half's scenarios were not), then on a writer's pairs, per kind of change (development data: the guards were
    written while reading their errors), with the guard as it runs for the embedded model and for a free rewriter."""
    lines = {}
    for scenario in services.library:
        for text in (scenario.opening, *(b.says for b in scenario.beats), *(f.says for f in scenario.facts)):
            lines.setdefault(text, scenario)
    customer = services.customer
    # as Services sets it up for a chat model: no word-level guard but on near-copies, a quarter of the words kept
    free = Customer(customer.backend, customer.embedder,
                    replace(customer.config, strict_edits=False, min_coverage=0.25))
    out = []
    model = [json.loads(line) for line in model_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for part in ("development", "held-out"):
        chosen = [p for p in model if p["part"] == part]
        tp, fp, fn, tn = _guard_figures(customer, lines, chosen)
        out.append((f"meaning guard, the model's rewordings, {part}", str(len(chosen)), _ratio(tp, tp + fp),
                    _ratio(tp, tp + fn), ">= 0.90 / >= 0.90" if part == "held-out" else ""))
        out.append(("  sent to the trainee (not refused): how many / share that keep the meaning", str(tn + fn), "",
                    _ratio(tn, tn + fn), ""))
    pairs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for name, guard in (("the embedded model's guard", customer), ("a free rewriter's guard", free)):
        tp, fp, fn, _ = _guard_figures(guard, lines, pairs)
        out.append((f"meaning guard, a writer's pairs, {name}", str(len(pairs)), _ratio(tp, tp + fp),
                    _ratio(tp, tp + fn), ""))
    kinds: dict[str, list[int]] = {}
    for pair in pairs:
        if not pair["keeps_meaning"]:
            tp, *_ = _guard_figures(free, lines, [pair])
            got = kinds.setdefault(pair["change"], [0, 0])
            got[0], got[1] = got[0] + tp, got[1] + 1
    for kind, (caught, n) in sorted(kinds.items()):
        out.append((f"  a free rewriter's guard refuses: {kind}", str(n), "", f"{caught / n:.3f}", ""))
    return out


def detector_rows(path: Path = REQUESTS) -> list[tuple[str, str, str, str, str]]:
    """(detector, items, precision, recall, target) on the labeled requests, all writers and each one."""
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    out = []
    for name, label, predict in (
            ("secrets asked for (any channel)", "secret", lambda i: bool(secret_requests(i["text"]))),
            ("personal data in public", "personal_public",
             lambda i: i["channel"] == "public" and not public_data_rule(i["text"]).passed)):
        for writer in ("all", *sorted({i["writer"] for i in items})):
            subset = [i for i in items if writer == "all" or i["writer"] == writer]
            tp = sum(predict(i) and i[label] for i in subset)
            fp = sum(predict(i) and not i[label] for i in subset)
            fn = sum(not predict(i) and i[label] for i in subset)
            out.append((f"{name}, {'all writers' if writer == 'all' else 'writer ' + writer}", str(len(subset)),
                        f"{tp / (tp + fp):.3f}" if tp + fp else "n/a", f"{tp / (tp + fn):.3f}" if tp + fn else "n/a",
                        ">= 0.95 / >= 0.95" if writer == "all" else ""))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--scenarios", nargs="*", help="scenario ids (default: the whole library)")
    parser.add_argument("--backend", default=None, help="customer backend (default: DOJO_CUSTOMER_BACKEND)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the scripted-backend baseline run")
    parser.add_argument("--no-plain", action="store_true",
                        help="skip the run with plain personas (no writing style, no uncooperative behaviours)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    parser.add_argument("--smoke", action="store_true",
                        help="check that the benchmark runs, in seconds: scripted customer, hashing embedder, "
                             "two scenarios, one seed, no baseline (CI runs this)")
    args = parser.parse_args(argv)
    embedder = ""
    if args.smoke:
        args.backend, args.seeds, args.no_baseline, embedder = "scripted", 1, True, "hashing"

    settings = Settings.from_env(customer_backend=args.backend, embedder=embedder or None)
    services = Services.from_settings(settings)
    if not services.has_scorer():
        services.train()
    library = services.library
    scenarios = [library.get(i) for i in args.scenarios] if args.scenarios else list(library)
    if args.smoke and not args.scenarios:
        scenarios = scenarios[:2]
    runs = {settings.customer_backend: (services.practice, scenarios)}
    if not args.no_plain:
        runs["plain personas"] = (plain_practice(services), [plain(s) for s in scenarios])
    if not args.no_baseline and settings.customer_backend != "scripted":
        runs["scripted (baseline)"] = (Services.from_settings(Settings.from_env(customer_backend="scripted",
                                                                                embedder=embedder or None)).practice,
                                       scenarios)
    tallies = {name: play(practice, chosen, args.seeds) for name, (practice, chosen) in runs.items()}
    results = {name: rows(tally, len(scenarios)) for name, tally in tallies.items()}

    names = list(results)
    print(f"\nCustomer benchmark: {len(scenarios)} scenarios x {len(STYLES)} trainee styles x {args.seeds} seeds; "
          f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}\n")
    width = max(len(k) for k in next(iter(results.values())))
    print(f"| {'metric':<{width}} | target     | " + " | ".join(f"{n:<20}" for n in names) + " |")
    print(f"|{'-' * (width + 2)}|------------|" + "|".join("-" * 22 for _ in names) + "|")
    for key in next(iter(results.values())):
        print(f"| {key:<{width}} | {TARGETS.get(key, ''):<10} | "
              + " | ".join(f"{results[n][key]:<20}" for n in names) + " |")
    real = real_messages()
    realism = realism_rows(tallies, real)
    print(f"\nDoes the customer read like a real person? Customer messages on the short channels (a chat turn on "
          f"several lines counts as several messages) against {len(real)} real customers' messages "
          f"({REAL.name}: STAR, BANKING77/NLU++, DSTC11 NatCS, Taskmaster, ABCD, Harper Valley)\n")
    print("| measure | target | " + " | ".join(names) + " | real customers |\n|---|---|"
          + "---|" * len(names) + "---|")
    for row in realism:
        print("| " + " | ".join(row) + " |")
    fixes = fix_rows(services)
    print(f"\nThe fix judge on {len(fixes) and sum(int(r[2]) for r in fixes)} trainee replies written by others "
          f"({FIXES.name}; embedder {services.embedder.name}; set 2 was first measured after tuning on set 1)\n")
    print("| replies | set | n | judged right means | judged right | clean success |\n|---|---|---|---|---|---|")
    for row in fixes:
        print("| " + " | ".join(row) + " |")
    detectors = detector_rows() + guard_rows(services)
    print(f"\nDetectors on {REQUESTS.name} (development data: see bench/data/README.md for the first-look figures on "
          f"unseen writers), and the customer's meaning guard on {MODEL_PAIRS.name} and {PAIRS.name}\n")
    print("| detector | items | precision | recall | target (P / R) |\n|---|---|---|---|---|")
    for row in detectors:
        print("| " + " | ".join(row) + " |")
    if args.json:
        args.json.write_text(json.dumps({"customer": results, "realism": realism, "fixes": fixes,
                                         "detectors": detectors}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
