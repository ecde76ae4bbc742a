"""The fix a reply offers, judged against the scenario: its accepted resolutions, wrong answers and policy.

`FixJudge.judge(reply, scenario, revealed, cited)` finds, clause by clause, the scenario fix (accepted
resolution or common wrong answer) a reply offers, by meaning: a clause offers fix F when its closest example
clause, among every fix's example clauses and a set of sentences that offer nothing (sympathy, questions,
hand-offs), is one of F's, close enough (`DOJO_FIX_MATCH`), and negated only if that example clause is ("I
can't refund you" is not a refund). A question to the customer offers nothing, unless it is put as an offer
("Would you like me to reship it?"). A wrong answer matched about as strongly as the best fix spoils it. Then
rules, each with the sentence as evidence:

- over_promise: an amount beyond the policy (a refund over `refund_up_to`, a credit over `credit_up_to`),
  or a delivery or visit promised before `deliver_from`. Flagged even when the customer accepts it.
- wrong_fact: a reference shaped like the record's (ORD-..., BK-...) that is not in it, or an amount given as
  what the customer paid or was charged that the record does not hold. The customer corrects it.
- wrong_fix: the reply offers one of the scenario's wrong answers (e.g. what the knowledge base forbids).

An accepted resolution counts only with what it needs (facts found, asked for or named right from the record;
an article cited, now or earlier), one of its `must_say` words and its `amount`; otherwise `missing` says
what is lacking. Everything here is deterministic given the embedder.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

import numpy as np

from simulator.reply_acts import cited_articles, sentences
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
# A clause that only apologises or sympathises ("I'm so sorry your parcel is late.") offers nothing, however
# close its topic is to a fix or a wrong answer (MiniLM puts that sentence at 0.65 from "Please wait a few more
# days, parcels sometimes get delayed"); unless it also does or tells something ("Sorry, I've reshipped it").
APOLOGY = re.compile(r"^\W*((i'?m|i am|we'?re|we are)\s+)?((so|really|very|truly|terribly|deeply)\s+)*"
                     r"(sorry|apologi[sz]e|apologies|my apologies|i understand|that'?s (awful|frustrating|not good))\b",
                     re.I)
ACTS = re.compile(r"\b(i'?ve|i have|i'?ll|i will|we'?ve|we have|we'?ll|we will|i can|we can|let me|let us|"
                  r"(i'?m|we'?re) going to|you'?ll|you will|you can|you need|you have to|you should|you must|"
                  r"please|i'?d|we'?d|i'?m (sending|arranging|refunding|booking)|it will|it'?ll)\b", re.I)


def apology_only(clause: str) -> bool:
    """An apology or sympathy and nothing else: no act ("Sorry, I've reshipped it"), and nothing said after it
    ("Sorry, your order's already packed so it can't be changed" says something: a wrong answer, maybe)."""
    found = APOLOGY.search(clause)
    return bool(found) and not ACTS.search(clause) and not re.match(r"\s*[,:;–—-]\s*\w", clause[found.end():])


# Says the fix is not done or cannot be done.
NOT_DOING = re.compile(r"\b(can(no|')t|won'?t|unable|not able|no way|isn'?t possible|not possible|"
                       r"don'?t|do not|does not|doesn'?t|is not|isn'?t|are not|aren'?t|never|nothing|not)\b", re.I)
OFFER_QUESTION = re.compile(r"\b(would you like (me|us) to|shall (i|we)|should (i|we)|do you want (me|us) to|"
                            r"(can|could|may) (i|we)|how about|would (a|an|that)|would it help if)\b", re.I)
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
ARRIVAL = re.compile(r"\b(arriv\w*|deliver(ed|y)?\b(?! (it|them) (today|tomorrow))|with you|reach(es)? you|"
                     r"get (it |them )?to you|be there|turn up|visit|engineer|technician|in your hands|at your door|"
                     r"get (it|them) (by|on|before)|have (it|them) (by|on|before))\b", re.I)
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

MATCH = 0.55  # least similarity to a fix's closest example clause (DOJO_FIX_MATCH overrides)
WRONG_MARGIN = 0.05  # a wrong answer matched this close to the best resolution match overrides it


class Embedder(Protocol):
    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Flag:
    kind: str  # over_promise | wrong_fact | wrong_fix
    message: str
    evidence: str
    said: str = ""  # wrong_fact: what the trainee said, and what the record has
    right: str = ""

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
        self.min_similarity = MATCH if min_similarity is None else min_similarity
        self._cache: dict[tuple[str, int, str], tuple[list[tuple[str, str]], list[str], np.ndarray]] = {}

    def _examples(self, scenario: Scenario) -> tuple[list[tuple[str, str]], list[str], np.ndarray]:
        key = (scenario.id, scenario.version, str(scenario.source))
        if key not in self._cache:
            # Every clause of every example, so "I can't change the address, but I can send it to a locker" is
            # matched by its offer, and a clause's negation can be compared with the reply clause's.
            owners: list[tuple[str, str]] = []
            texts: list[str] = []
            for kind, fixes in (("resolution", scenario.resolutions), ("wrong", scenario.wrong_answers)):
                for fix in fixes:
                    for example in fix.examples:
                        for clause in clauses(example):
                            owners.append((kind, fix.id))
                            texts.append(clause)
            owners += [("none", "")] * len(NOT_A_FIX)
            texts += list(NOT_A_FIX)
            self._cache[key] = owners, texts, self.embedder.embed(texts)
        return self._cache[key]

    def judge(self, reply: str, scenario: Scenario, revealed: Iterable[str] = (),
              cited: Iterable[str] = ()) -> FixVerdict:
        parts = sentences(reply)
        flags = [*over_promises(parts, scenario), *wrong_facts(parts, scenario)]
        offered, wrong, evidence, best = None, None, "", 0.0
        wrong_evidence, wrong_best = "", 0.0
        if (scenario.resolutions or scenario.wrong_answers) and parts:
            owners, texts, examples = self._examples(scenario)
            pieces = [c for sentence in parts for c in clauses(sentence)]
            sims = self.embedder.embed(pieces) @ examples.T  # clauses x examples
            for i, piece in enumerate(pieces):
                if piece.rstrip().endswith("?") and not OFFER_QUESTION.search(piece):
                    continue  # a question to the customer offers nothing ("Could you tell me the order number?")
                if apology_only(piece):
                    continue  # an apology alone offers nothing, right or wrong
                j = int(np.argmax(sims[i]))
                kind, ident = owners[j]
                sim = float(sims[i, j])
                if kind == "none" or sim < self.min_similarity:
                    continue
                if bool(NOT_DOING.search(piece)) != bool(NOT_DOING.search(texts[j])):
                    continue  # "I'm not able to redirect it" is not "I've redirected it"
                if kind == "wrong" and sim > wrong_best:
                    wrong_best, wrong_evidence, wrong = sim, piece, ident
                elif kind == "resolution" and sim > best:
                    best, evidence, offered = sim, piece, ident
        if wrong is not None and wrong_best >= best - WRONG_MARGIN:
            # a wrong part as strong as the fix spoils it ("sent by express; post the old pair back at your own cost")
            offered, evidence, best = None, wrong_evidence, wrong_best
        else:
            wrong = None
        if wrong is not None:
            fix = next(w for w in scenario.wrong_answers if w.id == wrong)
            flags.append(Flag("wrong_fix", f"Offered a wrong fix: {fix.description}", evidence))
        missing: tuple[str, ...] = ()
        if offered is not None:
            fix = next(r for r in scenario.resolutions if r.id == offered)
            found = {*revealed, *stated_facts(reply, scenario)}
            missing = needs_missing(fix, found, {*cited, *cited_articles(reply, scenario)})
            missing += details_missing(fix, reply, scenario)
        corrections, corrected = corrections_for(flags, scenario)
        return FixVerdict(
            resolution=offered if offered is not None and not missing else None, offered=offered, wrong=wrong,
            missing=missing, flags=tuple(flags), corrections=corrections, corrected_facts=corrected,
            evidence=evidence, similarity=best)


_CLAUSE = re.compile(r"(?:,|;|\s[-–—])\s+(?=but\b|however\b|though\b|instead\b)|;\s+|\s+but\s+(?=i\b|we\b|i'|we')",
                     re.I)


def clauses(sentence: str) -> list[str]:
    """A sentence cut where it turns ("I can't switch it off, but I've sent you a code"), so a refusal in one part
    does not hide the fix in the other."""
    return [c.strip() for c in _CLAUSE.split(sentence) if c and c.strip()] or [sentence]


def stated_facts(reply: str, scenario: Scenario) -> tuple[str, ...]:
    """Hidden facts the reply states itself, rightly: an order found in the record and named ("I can see order
    ORD-48213") has been identified as surely as one the customer gave."""
    refs = set(REFERENCE.findall(reply))
    return tuple(f.id for f in scenario.facts if (tokens := set(REFERENCE.findall(f.says))) and tokens <= refs)


def details_missing(fix: Fix, reply: str, scenario: Scenario) -> tuple[str, ...]:
    """What the offer lacks of the fix's details: one of its `must_say` words, its `amount` (another amount named)."""
    out = []
    lowered = reply.lower()
    if fix.must_say and not any(re.search(rf"(?<!\w){re.escape(w.lower())}(?!\w)", lowered) for w in fix.must_say):
        out.append("say:" + " or ".join(fix.must_say))
    if fix.amount is not None:
        named = [a for a in amounts(reply) if a > 0]
        if named and not any(abs(a - fix.amount) < 0.005 for a in named):
            out.append(f"amount:{scenario.policy.currency}{fix.amount:.2f}")
    return tuple(out)


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


_NOT_ARRIVAL = re.compile(r"\b(before|ahead of|in time for|until|since|sent|send|sending|dispatch\w*|ship\w*|post\w*|"
                          r"goes out|going out|leaves|leaving|packed|"
                          r"order\w*|was due|due on)\W+((?:\w+\W+){0,12})$", re.I)


_SERVICE = re.compile(r"\b(express|standard|next[- ]day|priority|tracked|free|same[- ]day) delivery\b", re.I)


def promised_dates(sentence: str, today: date) -> list[date]:
    """The dates a sentence promises something arrives on: not a deadline ("before Saturday"), not the day it is sent
    ("I've sent it today"), not a date in the past of the order."""
    out = []
    for m in DATE_WORDS.finditer(sentence):
        before = _NOT_ARRIVAL.search(sentence[: m.start()])
        if before and not ARRIVAL.search(_SERVICE.sub(" ", before.group(2))):
            continue
        out += dates_in(m.group(0), today)
    return out


def over_promises(parts: Sequence[str], scenario: Scenario) -> list[Flag]:
    policy, flags = scenario.policy, []
    known = {round(a, 2) for v in record_values(scenario.customer_record) for a in amounts(v)}
    cur = policy.currency
    for sentence in [c for part in parts for c in clauses(part)]:
        if sentence.rstrip().endswith("?") and not OFFERING.search(sentence):
            continue
        if NOT_DOING.search(sentence) and not OFFERING.search(sentence):
            continue
        for value in amounts(sentence):
            credit = bool(CREDIT.search(sentence))
            refund = bool(REFUND.search(sentence))
            if credit and policy.credit_up_to is not None and value > policy.credit_up_to + 0.005 \
                    and round(value, 2) not in known:
                what = f"up to {_money(policy.credit_up_to, cur)}" if policy.credit_up_to else "none"
                flags.append(Flag("over_promise", f"Offered {_money(value, cur)} in credit or compensation; this "
                                  f"case allows {what}.", sentence))
            elif refund and not credit and policy.refund_up_to is not None and value > policy.refund_up_to + 0.005:
                flags.append(Flag("over_promise", f"Promised {_money(value, cur)}; the most this case allows "
                                  f"back is {_money(policy.refund_up_to, cur)} (the refund limit).", sentence))
        if policy.deliver_from and policy.today and ARRIVAL.search(sentence) and PROMISE.search(sentence) \
                and not sentence.rstrip().endswith("?"):
            today, earliest = date.fromisoformat(policy.today), date.fromisoformat(policy.deliver_from)
            found = promised_dates(sentence, today)
            early = [min(found)] if found and min(found) < earliest else []
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
        new = bool(NEW_REFERENCE.search(sentence))  # a reference the agent has just made (a new booking) is new
        for ref in REFERENCE.findall(sentence):
            if ref not in known_refs and _prefix(ref) in prefixes and not new:
                right = prefixes[_prefix(ref)]
                flags.append(Flag("wrong_fact", f"Said {ref}; the record has {right}.", sentence, ref, right))
        if PAID.search(sentence) and not (REFUND.search(sentence) or CREDIT.search(sentence)) and known_amounts:
            for value in amounts(sentence):
                if round(value, 2) not in known_amounts and not any(abs(value - 2 * k) < 0.01 for k in known_amounts):
                    near = min(known_amounts, key=lambda k: abs(k - value))
                    cur = scenario.policy.currency
                    flags.append(Flag("wrong_fact", f"Said {_money(value, cur)}; the record has "
                                      f"{_money(near, cur)}.", sentence, _money(value, cur), _money(near, cur)))
        flags += _wrong_order_date(sentence, scenario)
    return flags


ORDERED = re.compile(r"\b(you|it was|was|were|order was)\s+(ordered|placed|bought|purchased)\b|"
                     r"\b(ordered|bought|purchased) (it|them|this|that) on\b", re.I)


def _wrong_order_date(sentence: str, scenario: Scenario) -> list[Flag]:
    """'You ordered it on Thursday' when the record says the order was placed on another day."""
    orders = [o for o in scenario.customer_record.get("orders") or [] if o.get("date")]
    if not orders or not ORDERED.search(sentence) or sentence.rstrip().endswith("?"):
        return []
    try:
        placed = {date.fromisoformat(str(o["date"])[:10]) for o in orders}
    except ValueError:
        return []
    today = date.fromisoformat(scenario.policy.today) if scenario.policy.today else max(placed) + timedelta(days=7)
    # a weekday in a sentence about the past is the last one, not the next one
    named = [d - timedelta(days=7) if d > today else d for d in dates_in(sentence, today)]
    named = [d for d in named if d <= today]
    if not named or set(named) & placed:
        return []
    right = min(placed, key=lambda d: abs((d - named[0]).days))
    said_text, right_text = f"{named[0]:%A %d %B}", f"{right:%A %d %B}"
    return [Flag("wrong_fact", f"Said the order was placed on {said_text}; the record has {right_text}.", sentence,
                 said_text, right_text)]


NEW_REFERENCE = re.compile(r"\b(new|replacement|rebook\w*|booked|reference for|confirmation|your ticket|case number|"
                           r"created|raised|opened)\b", re.I)


def _prefix(ref: str) -> str:
    return re.match(r"[A-Z]+-?", ref).group(0)


def corrections_for(flags: Sequence[Flag], scenario: Scenario) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What the customer says back to each wrong fact, and the hidden facts saying it gives away."""
    out, facts = [], []
    for flag in flags:
        if flag.kind != "wrong_fact" or not flag.right:
            continue
        if REFERENCE.fullmatch(flag.right):
            out.append(f"That's not my number, it's {flag.right}.")
            facts += [f.id for f in scenario.facts if flag.right in f.says]
        elif MONEY.fullmatch(flag.right):
            out.append(f"It was {flag.right}, not {flag.said}.")
        else:
            out.append(f"I ordered it on {flag.right.split(' ', 1)[1].lstrip('0')}, not {flag.said.split(' ', 1)[0]}.")
    return tuple(dict.fromkeys(out)), tuple(dict.fromkeys(facts))
