"""Reply acts: what a trainee's reply did, as far as the customer and the channel rules care.

Did it ask for one of the scenario's hidden facts, cite a knowledge-base article, ask for personal data
(and was that on a public channel, without moving to a private one), ask again for what the bot
already collected? These are rules over the text, not learned: a trainer can predict them, and the
reason for each can be shown. The trainee's text is only ever matched, never followed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from simulator.scenario import Scenario

_REQUEST = re.compile(
    r"\?|\b(could|can|would) you\b|\bplease\b|\b(send|share|provide|confirm|tell|give|post|reply with|"
    r"let me know|let us know|what is|what's|which)\b", re.I)
_PRIVATE = re.compile(r"\b(dm|d\.m\.|direct message|private message|message us privately|privately|"
                      r"inbox|pm us|pm me)\b", re.I)
PERSONAL_DATA = {
    "account number": r"account (number|no\.?|#)|acct",
    "email address": r"e-?mail( address)?",
    "phone number": r"phone( number)?|mobile( number)?|cell( number)?",
    "postal address": r"(?<!mail )(?<!e-mail )(home |postal |delivery |billing )?address|post ?code|zip ?code",
    "password": r"password|passcode|pin\b|security code|one-time code|otp\b",
    "card details": r"card (number|details|no\.?)|credit card|debit card|cvv|cvc|expiry date",
    "date of birth": r"date of birth|\bdob\b|birthday",
    "order number": r"order (number|no\.?|id|reference|#)",
}
_PERSONAL = {kind: re.compile(rf"\b(your|ur)\s+(\w+\s+){{0,2}}({pattern})", re.I)
             for kind, pattern in PERSONAL_DATA.items()}
# An order number is not personal data in the privacy sense; everything else is.
SENSITIVE_DATA = frozenset(PERSONAL_DATA) - {"order number"}


@dataclass(frozen=True)
class ReplyActs:
    asked_for: tuple[str, ...] = ()
    cited: tuple[str, ...] = ()
    personal_data_requested: tuple[str, ...] = ()
    moves_private: bool = False
    personal_data_in_public: tuple[str, ...] = ()
    reasked_bot_data: tuple[str, ...] = ()


_BOUNDARY = re.compile(r"(?<=[.!?])\s+|\n+")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of each sentence (and line) in `text`, trimmed; no empty spans."""
    spans, start = [], 0
    for cut in [*_BOUNDARY.finditer(text), None]:
        end = cut.start() if cut else len(text)
        piece = text[start:end]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            spans.append((start + lead, start + len(piece.rstrip())))
        start = cut.end() if cut else len(text)
    return spans


def sentences(text: str) -> list[str]:
    """Split into sentences (and lines), keeping the punctuation; no empty items."""
    return [text[a:b] for a, b in sentence_spans(text)]


def is_request(sentence: str) -> bool:
    return bool(_REQUEST.search(sentence))


def moves_private(text: str) -> bool:
    """Does the text take the conversation to a private channel (DM, inbox, private message)?"""
    return bool(_PRIVATE.search(text))


def personal_data_requests(text: str) -> list[tuple[str, str]]:
    """(kind, sentence) for each sentence that asks for a kind of personal data."""
    found = []
    for sentence in sentences(text):
        if not is_request(sentence):
            continue
        for kind, pattern in _PERSONAL.items():
            if pattern.search(sentence):
                found.append((kind, sentence))
    return found


# Personal data written out (not asked for): on a public channel, repeating it is as bad as asking for it.
_DISCLOSED = {
    # Not a company's own role mailbox (support@, claims@, ...).
    "email address": re.compile(r"\b(?!(support|help|claims|info|contact|service|care|complaints|billing|hello|"
                                r"team|sales|noreply|no-reply)@)[\w.+-]+@[\w-]+(\.[\w-]+)+\b", re.I),
    # A mobile number, or any number introduced as the customer's; a company's own line is not personal.
    "phone number": re.compile(r"(?<!\d)(\+44\s?7|07)\d{3}\s?\d{3}\s?\d{3}(?!\d)|\byour (mobile|phone|number)"
                               r"( number)?( is| on|:)?\s*\+?\d[\d ()-]{7,}\d", re.I),
    "card details": re.compile(r"\bcard (ending|ending in|number)\s*:?\s*\d{4}\b|\b(?:\d[ -]?){13,19}\b", re.I),
    "account number": re.compile(r"\baccount (number|no\.?|#)?\s*:?\s*\d{6,}\b", re.I),
    "postal address": re.compile(r"\b\d{1,4}\s+[A-Z][a-z]+(\s[A-Z][a-z]+)?\s(Street|St|Road|Rd|Lane|Ln|Avenue|Ave|"
                                 r"Drive|Close|Way|Crescent|Place|Court)\b|\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b"),
    "password": re.compile(r"\b(password|passcode|pin)\s+(is|was|:)\s*\S+", re.I),
}


def personal_data_disclosed(text: str) -> list[tuple[str, str]]:
    """(kind, the text as written) for personal data the reply writes out, e.g. an email address."""
    found = []
    for kind, pattern in _DISCLOSED.items():
        match = pattern.search(text)
        if match:
            found.append((kind, match.group(0)))
    return found


def analyse(reply: str, scenario: Scenario) -> ReplyActs:
    requests = [s for s in sentences(reply) if is_request(s)]
    lowered = [s.lower() for s in requests]
    asked = tuple(f.id for f in scenario.facts
                  if any(k.lower() in s for s in lowered for k in f.asked_by))
    text = reply.lower()
    cited = tuple(a for a in scenario.kb_articles if f"kb:{a}" in text or a in text)
    personal = personal_data_requests(reply)
    kinds = tuple(dict.fromkeys(kind for kind, _ in personal))
    private = moves_private(reply)
    in_public = ()
    if scenario.channel_spec.public:
        in_public = tuple(k for k, s in personal if k in SENSITIVE_DATA and not moves_private(s))
        in_public += tuple(k for k, _ in personal_data_disclosed(reply))
    return ReplyActs(asked_for=asked, cited=cited, personal_data_requested=kinds, moves_private=private,
                     personal_data_in_public=tuple(dict.fromkeys(in_public)),
                     reasked_bot_data=tuple(f for f in asked if f in scenario.bot_collected))
