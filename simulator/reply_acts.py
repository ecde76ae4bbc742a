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
    "postal address": r"(home |postal |delivery |billing )?address|post ?code|zip ?code",
    "password": r"password|passcode|pin\b|security code|one-time code|otp\b",
    "card details": r"card (number|details|no\.?)|credit card|debit card|cvv|cvc|expiry date",
    "date of birth": r"date of birth|\bdob\b|birthday",
    "order number": r"order (number|no\.?|id|reference|#)",
}
_PERSONAL = {kind: re.compile(rf"\b(your|ur)\s+(\w+\s+){{0,2}}({pattern})", re.I)
             for kind, pattern in PERSONAL_DATA.items()}
# Not personal data in the privacy sense, but a public channel is still the wrong place to ask for it.
_SENSITIVE = set(PERSONAL_DATA) - {"order number"}


@dataclass(frozen=True)
class ReplyActs:
    asked_for: tuple[str, ...] = ()
    cited: tuple[str, ...] = ()
    personal_data_requested: tuple[str, ...] = ()
    moves_private: bool = False
    personal_data_in_public: tuple[str, ...] = ()
    reasked_bot_data: tuple[str, ...] = ()


def sentences(text: str) -> list[str]:
    """Split into sentences (and lines), keeping the punctuation; no empty items."""
    parts = re.split(r"(?<=[.!?])\s+|\n+", text.strip())
    return [p.strip() for p in parts if p.strip()]


def is_request(sentence: str) -> bool:
    return bool(_REQUEST.search(sentence))


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


def analyse(reply: str, scenario: Scenario) -> ReplyActs:
    requests = [s for s in sentences(reply) if is_request(s)]
    lowered = [s.lower() for s in requests]
    asked = tuple(f.id for f in scenario.facts
                  if any(k.lower() in s for s in lowered for k in f.asked_by))
    text = reply.lower()
    cited = tuple(a for a in scenario.kb_articles if f"kb:{a}" in text or a in text)
    personal = personal_data_requests(reply)
    kinds = tuple(dict.fromkeys(kind for kind, _ in personal))
    private = bool(_PRIVATE.search(reply))
    in_public = ()
    if scenario.channel_spec.public:
        in_public = tuple(k for k, s in personal if k in _SENSITIVE and not _PRIVATE.search(s))
    return ReplyActs(asked_for=asked, cited=cited, personal_data_requested=kinds, moves_private=private,
                     personal_data_in_public=tuple(dict.fromkeys(in_public)),
                     reasked_bot_data=tuple(f for f in asked if f in scenario.bot_collected))
