"""The fix a reply offers, judged against the scenario: its accepted resolutions, wrong answers and policy.

`FixJudge.judge(reply, scenario, revealed, cited)` finds, sentence by sentence, the scenario fix (accepted
resolution or common wrong answer) a reply offers, by meaning: a sentence offers fix F when its closest
example, among every fix's examples and a set of sentences that offer nothing (sympathy, questions,
hand-offs), is one of F's, and close enough. A sentence that says the fix cannot be done ("I can't refund
you") offers nothing. Then rules, each with the sentence as evidence:

- over_promise: an amount beyond the policy (a refund over `refund_up_to`, a credit over `credit_up_to`),
  or a delivery or visit promised before `deliver_from`. Flagged even when the customer accepts it.
- wrong_fact: a reference shaped like the record's (ORD-..., BK-...) that is not in it, or an amount given as
  what the customer paid or was charged that the record does not hold. The customer corrects it.
- wrong_fix: the reply offers one of the scenario's wrong answers (e.g. what the knowledge base forbids).

An accepted resolution counts only with what it needs (facts found, an article cited, now or earlier);
otherwise `missing` says what is lacking. Everything here is deterministic given the embedder.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

import numpy as np

from simulator.reply_acts import sentences
from simulator.scenario import Fix, Scenario

# Sentences that offer nothing: a reply's sentence closer to one of these than to any fix offers no fix.
NOT_A_FIX = (
    "I'm so sorry to hear about this.", "I understand how frustrating this must be.",
    "Thanks for getting in touch.", "Thanks for your patience.", "Let me look into this for you.",
    "Could you tell me your order number?", "Can you confirm a few details for me?",
    "I've passed this on to the relevant team.", "Please check our website, it's all explained there.",
    "Is there anything else I can help with?", "I'll message you tomorrow to confirm it's complete.",
    "Okay, noted.", "That's our policy.", "I'm still checking.", "Please send us a DM.",
    "Let me know if you need anything else.", "I can see your account here.", "Have a lovely day!",
    "We apologise for the inconvenience.", "You'll have to wait like everyone else.",
)
# Says the fix is not done or cannot be done.
NOT_DOING = re.compile(r"\b(can(no|')t|won'?t|unable|not able|no way|isn'?t possible|not possible|"
                       r"don'?t|do not|never|nothing)\b", re.I)
MONEY = re.compile(r"(?P<cur>[£$€])\s?(?P<n>\d{1,3}(?:,\d{3})+|\d+)(?P<d>\.\d{1,2})?(?!\d)"
                   r"|(?P<n2>\d+(?:\.\d{1,2})?)\s?(?P<word>pounds|quid|dollars|euros|gbp|usd|eur)\b", re.I)
CREDIT = re.compile(r"\b(credit|voucher|goodwill|compensation|gift ?card|discount|gesture|e-?gift|points|"
                    r"coupon|promo|off your next)\b", re.I)
REFUND = re.compile(r"\b(refund\w*|money back|reimburs\w*|pay (you )?back|credited back|cashback)\b", re.I)
PAID = re.compile(r"\b(total|charged|paid|cost|price|bill(ed)?|payment of|order (of|for|was)|spent)\b", re.I)
OFFERING = re.compile(r"\b(i'?ll|i will|we'?ll|we will|i'?ve|i have|we'?ve|we have|i can|we can|i'?m going to|"
                      r"we'?re going to|going to|let me|i'?d like to|happy to|offer|add(ed|ing)?|issu(e|ed|ing)|"
                      r"process(ed|ing)?|arrang(e|ed|ing)|send(ing)?|sent|give|giving|put)\b", re.I)
PROMISE = re.compile(r"\b(will|'ll|going to|guarantee\w*|promise\w*|definitely|certainly|expect|should)\b", re.I)
ARRIVAL = re.compile(r"\b(arriv\w*|deliver\w*|with you|reach(es)? you|get (it )?to you|be there|turn up|visit|"
                     r"engineer|technician|courier|dispatch\w*|ship\w*|in your hands|at your door)\b", re.I)
WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}
MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
DATE_WORDS = re.compile(
    r"\b(?P<rel>today|tonight|tomorrow|the day after tomorrow)\b"
    r"|\b(?P<wd>monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b"
    r"|\b(?P<d1>\d{1,2})(?:st|nd|rd|th)?(?: of)? (?P<m1>january|february|march|april|may|june|july|august|"
    r"september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\b"
    r"|\b(?P<m2>january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|"
    r"mar|apr|jun|jul|aug|sep|sept|oct|nov|dec) (?P<d2>\d{1,2})(?:st|nd|rd|th)?\b"
    r"|\b(?P<iso>\d{4}-\d{2}-\d{2})\b"
    r"|\bin (?P<n>an?|one|two|three|\d) (?:working |business )?(?P<unit>hours?|days?)\b", re.I)
NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3}
# A reference: letters, a hyphen, digits (ORD-48213, BK-2231) or letters then 4+ digits (TK48213).
REFERENCE = re.compile(r"\b[A-Z]{1,5}-\d{3,}\b|\b[A-Z]{2,5}\d{4,}\b")

MATCH = {"minilm": 0.55, "hashing": 0.55}  # least similarity to a fix's closest example, by embedder family


class Embedder(Protocol):
    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Flag:
    kind: str  # over_promise | wrong_fact | wrong_fix
    message: str
    evidence: str

    def as_dict(self) -> dict:
        return {"kind": self.kind, "message": self.message, "evidence": self.evidence}


@dataclass(frozen=True)
class FixVerdict:
    resolution: str | None = None  # the accepted resolution offered, with what it needs
    offered: str | None = None  # the resolution offered, whether or not what it needs is there
    wrong: str | None = None  # the wrong answer offered
    missing: tuple[str, ...] = ()  # what `offered` still needs ("fact:order_number", "cited:delivery-delays")
    flags: tuple[Flag, ...] = ()
    corrections: tuple[str, ...] = ()  # what the customer says to correct wrong facts
    corrected_facts: tuple[str, ...] = ()  # hidden facts a correction gives away
    evidence: str = ""  # the sentence that offered the fix
    similarity: float = 0.0

    def as_dict(self) -> dict:
        return {"resolution": self.resolution, "offered": self.offered, "wrong": self.wrong,
                "missing": list(self.missing), "flags": [f.as_dict() for f in self.flags],
                "evidence": self.evidence}


class FixJudge:
    def __init__(self, embedder: Embedder, min_similarity: float | None = None):
        self.embedder = embedder
        family = "hashing" if str(getattr(embedder, "name", "")).startswith("hashing") else "minilm"
        self.min_similarity = MATCH[family] if min_similarity is None else min_similarity
        self._cache: dict[tuple[str, int, str], tuple[list[tuple[str, str]], np.ndarray]] = {}

    def _examples(self, scenario: Scenario) -> tuple[list[tuple[str, str]], np.ndarray]:
        key = (scenario.id, scenario.version, str(scenario.source))
        if key not in self._cache:
            owners = [("resolution", r.id) for r in scenario.resolutions for _ in r.examples]
            owners += [("wrong", w.id) for w in scenario.wrong_answers for _ in w.examples]
            owners += [("none", "")] * len(NOT_A_FIX)
            texts = [e for r in scenario.resolutions for e in r.examples]
            texts += [e for w in scenario.wrong_answers for e in w.examples] + list(NOT_A_FIX)
            self._cache[key] = owners, self.embedder.embed(texts)
        return self._cache[key]

    def judge(self, reply: str, scenario: Scenario, revealed: Iterable[str] = (),
              cited: Iterable[str] = ()) -> FixVerdict:
        parts = sentences(reply)
        flags = [*over_promises(parts, scenario), *wrong_facts(parts, scenario)]
        offered, wrong, evidence, best = None, None, "", 0.0
        if (scenario.resolutions or scenario.wrong_answers) and parts:
            owners, examples = self._examples(scenario)
            sims = self.embedder.embed(parts) @ examples.T  # sentences x examples
            for i, sentence in enumerate(parts):
                j = int(np.argmax(sims[i]))
                kind, ident = owners[j]
                sim = float(sims[i, j])
                if kind == "none" or sim < self.min_similarity or sim <= best:
                    continue
                if NOT_DOING.search(sentence) and not _negated_example(scenario, ident):
                    continue
                best, evidence = sim, sentence
                offered, wrong = (ident, None) if kind == "resolution" else (None, ident)
        if wrong is not None:
            fix = next(w for w in scenario.wrong_answers if w.id == wrong)
            flags.append(Flag("wrong_fix", f"Offered a wrong fix: {fix.description}", evidence))
        missing: tuple[str, ...] = ()
        if offered is not None:
            fix = next(r for r in scenario.resolutions if r.id == offered)
            missing = needs_missing(fix, set(revealed), {*cited, *_cited_in(reply, scenario)})
        corrections, corrected = corrections_for(flags, scenario)
        return FixVerdict(
            resolution=offered if offered is not None and not missing else None, offered=offered, wrong=wrong,
            missing=missing, flags=tuple(flags), corrections=corrections, corrected_facts=corrected,
            evidence=evidence, similarity=best)


def _negated_example(scenario: Scenario, ident: str) -> bool:
    fixes = {f.id: f for f in (*scenario.resolutions, *scenario.wrong_answers)}
    return ident in fixes and any(NOT_DOING.search(e) for e in fixes[ident].examples)


def _cited_in(reply: str, scenario: Scenario) -> tuple[str, ...]:
    text = reply.lower()
    return tuple(a for a in scenario.kb_articles if f"kb:{a}" in text or a in text)


def needs_missing(fix: Fix, revealed: set[str], cited: set[str]) -> tuple[str, ...]:
    missing = [f"fact:{f}" for f in fix.needs_facts if f not in revealed]
    if fix.needs_cited and fix.needs_cited not in cited:
        missing.append(f"cited:{fix.needs_cited}")
    return tuple(missing)


# --- amounts and dates --------------------------------------------------------------------------------

def amounts(text: str) -> list[float]:
    out = []
    for m in MONEY.finditer(text):
        if m.group("n") is not None:
            out.append(float(m.group("n").replace(",", "") + (m.group("d") or "")))
        else:
            out.append(float(m.group("n2")))
    return out


def record_values(record: Any) -> list[str]:
    """Every text and number in a customer record, however nested."""
    if isinstance(record, Mapping):
        return [v for x in record.values() for v in record_values(x)]
    if isinstance(record, list | tuple):
        return [v for x in record for v in record_values(x)]
    return [] if record is None else [str(record)]


def _money(value: float, currency: str) -> str:
    return f"{currency}{value:,.2f}"


def dates_in(sentence: str, today: date) -> list[date]:
    """The calendar dates a sentence names, read from `today` (a weekday is the next one, today included)."""
    out = []
    for m in DATE_WORDS.finditer(sentence):
        if m.group("rel"):
            rel = m.group("rel").lower()
            out.append(today + timedelta(days={"today": 0, "tonight": 0, "tomorrow": 1}.get(rel, 2)))
        elif m.group("wd"):
            ahead = (WEEKDAYS[m.group("wd").lower()] - today.weekday()) % 7
            out.append(today + timedelta(days=ahead))
        elif m.group("iso"):
            try:
                out.append(date.fromisoformat(m.group("iso")))
            except ValueError:
                continue
        elif m.group("n"):
            count = NUMBERS.get(m.group("n").lower()) or int(m.group("n"))
            out.append(today + timedelta(days=0 if m.group("unit").lower().startswith("hour") else count))
        else:
            day, month = (m.group("d1"), m.group("m1")) if m.group("d1") else (m.group("d2"), m.group("m2"))
            try:
                found = date(today.year, MONTHS[month.lower()[:3] if month.lower()[:3] in MONTHS else
                                                month.lower()], int(day))
            except (ValueError, KeyError):
                continue
            out.append(found if found >= today - timedelta(days=60) else found.replace(year=today.year + 1))
    return out


def over_promises(parts: Sequence[str], scenario: Scenario) -> list[Flag]:
    policy, flags = scenario.policy, []
    known = {round(a, 2) for v in record_values(scenario.customer_record) for a in amounts(v)}
    cur = policy.currency
    for sentence in parts:
        if sentence.rstrip().endswith("?") and not OFFERING.search(sentence):
            continue
        if NOT_DOING.search(sentence) and not OFFERING.search(sentence):
            continue
        for value in amounts(sentence):
            credit = bool(CREDIT.search(sentence))
            refund = bool(REFUND.search(sentence)) or not credit
            if credit and policy.credit_up_to is not None and value > policy.credit_up_to + 0.005 \
                    and round(value, 2) not in known:
                what = f"up to {_money(policy.credit_up_to, cur)}" if policy.credit_up_to else "none"
                flags.append(Flag("over_promise", f"Offered {_money(value, cur)} in credit or compensation; this "
                                  f"case allows {what}.", sentence))
            elif refund and not credit and policy.refund_up_to is not None and \
                    value > policy.refund_up_to + 0.005 and (REFUND.search(sentence) or OFFERING.search(sentence)):
                flags.append(Flag("over_promise", f"Promised {_money(value, cur)}; the most this case allows "
                                  f"back is {_money(policy.refund_up_to, cur)} (the refund limit).", sentence))
        if policy.deliver_from and policy.today and ARRIVAL.search(sentence) and PROMISE.search(sentence) \
                and not sentence.rstrip().endswith("?"):
            today, earliest = date.fromisoformat(policy.today), date.fromisoformat(policy.deliver_from)
            found = dates_in(sentence, today)  # the last date named is the arrival ("sent today, with you Friday")
            early = [max(found)] if found and max(found) < earliest else []
            if early and not re.search(r"\b(was|were|had|should have|supposed to|due)\b", sentence, re.I):
                flags.append(Flag("over_promise", f"Promised {early[0]:%A %d %B}; the earliest date this case "
                                  f"can promise is {earliest:%A %d %B}.", sentence))
    return flags


def wrong_facts(parts: Sequence[str], scenario: Scenario) -> list[Flag]:
    values = record_values(scenario.customer_record)
    known_refs = {r for v in values for r in REFERENCE.findall(v)}
    known_refs |= {r for f in scenario.facts for r in REFERENCE.findall(f.says)}
    known_refs |= {r for k in scenario.customer_knows for r in REFERENCE.findall(k.says)}
    prefixes = {_prefix(r): r for r in known_refs}
    known_amounts = {round(a, 2) for v in values for a in amounts(v)}
    known_amounts |= {round(a, 2) for f in scenario.facts for a in amounts(f.says)}
    known_amounts |= {round(a, 2) for a in amounts(scenario.opening)}
    flags = []
    for sentence in parts:
        for ref in REFERENCE.findall(sentence):
            if ref not in known_refs and _prefix(ref) in prefixes:
                flags.append(Flag("wrong_fact", f"Said {ref}; the record has {prefixes[_prefix(ref)]}.", sentence))
        if PAID.search(sentence) and not (REFUND.search(sentence) or CREDIT.search(sentence)) and known_amounts:
            for value in amounts(sentence):
                if round(value, 2) not in known_amounts and not any(abs(value - 2 * k) < 0.01 for k in known_amounts):
                    near = min(known_amounts, key=lambda k: abs(k - value))
                    cur = scenario.policy.currency
                    flags.append(Flag("wrong_fact", f"Said {_money(value, cur)}; the record has "
                                      f"{_money(near, cur)}.", sentence))
    return flags


def _prefix(ref: str) -> str:
    return re.match(r"[A-Z]+-?", ref).group(0)


def corrections_for(flags: Sequence[Flag], scenario: Scenario) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What the customer says back to each wrong fact, and the hidden facts saying it gives away."""
    out, facts = [], []
    for flag in flags:
        if flag.kind != "wrong_fact":
            continue
        said, right = re.match(r"Said (\S+); the record has (\S+)\.", flag.message).groups()
        if REFERENCE.fullmatch(right):
            out.append(f"That's not my number, it's {right}.")
            facts += [f.id for f in scenario.facts if right in f.says]
        else:
            out.append(f"It was {right}, not {said}.")
    return tuple(dict.fromkeys(out)), tuple(dict.fromkeys(facts))
