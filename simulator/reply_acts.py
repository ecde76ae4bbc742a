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
    r"\?|\b(could|can|would|will) (you|u)\b|\bplease\b|\bpls\b|\b(send|share|provide|confirm|tell|give|post|"
    r"reply|respond|pop|drop|include|add|type|write|comment|list|leave|let me know|let us know|"
    r"what is|what's|whats|which|need|needed|require[sd]?|we'll need|i'll need|mind)\b|^\s*(your|ur)\b", re.I)
_PRIVATE = re.compile(r"\b(dm|dms|d\.m\.|direct message|direct messages|private message|privately|in private|"
                      r"message us privately|inbox|pm us|pm me|pm|secure form|secure link|secure message|"
                      r"e-?mail us|email (it|them) to|(send|drop|pop|shoot) us an e-?mail|an e-?mail (to|at)|send ("
                      r"us|it to us) (an|by) e-?mail|by e-?mail|via e-?mail|"
                      r"web ?form|contact form|online form|over the phone|give us a call|call us)\b", re.I)
_HERE = re.compile(r"\b(here|below|in (this|the) (thread|tweet|post|comments?|reply|replies)|publicly|"
                   r"reply to this|in a reply|as a reply|on this (post|thread))\b", re.I)
_WARNING = re.compile(r"\b(never|don'?t|do not|please don'?t|avoid|no need to|not (to )?(post|share)|"
                      r"shouldn'?t|should not|won'?t ask|will not ask|without (posting|sharing))\b", re.I)
# What counts as personal data on a public channel: anything that identifies the customer or their account.
PERSONAL_DATA = {
    "full name": r"full ?names?|first and (last|sur) ?names?|(first|last|sur|legal|given) ?name|"
                 r"(?<!maiden )(?<!company )(?<!product )(your|ur) names?\b|names? (on|of) (the|your|ur) (account|b"
                 r"ooking|order|card|policy|ticket)|"
                 r"names? (it'?s|it is) (booked|registered) under|(booked|registered|listed) under",
    "email address": r"(?<!ll )(?<!\bwe )(?<!will )(?<!this )(?<!that )(?<!\bour )(?<!last )(?<!previous )"
                     r"e-?mail\b(?! (us|me)\b)(?! (doesn'?t|does not|didn'?t|hasn'?t|has not|arriv\w*|we sent|from us|"
                     r"asking|wasn'?t|was not))( address| addy)?|(this|that|our|last|previous) e-?mail address|e-?m"
                     r"ail (linked|associated|registered|on)",
    "phone number": r"(phone|mobile|cell|telephone|contact|landline|callback|whatsapp)( ?(number|no\.?|num|#))|"
                    r"best (number|way) to (call|reach|contact)|(?<!to )(?<!on )(?<!via )(?<!from )(your|ur) (mobil"
                    r"e|cell)\b(?! (app|phone|device))",
    "postal address": r"(home|postal|post|delivery|billing|shipping|street|full|house|mailing|correspondence)? ?"
                      r"address(?!ed)|post ?code|zip ?code|postal code|eircode|house (number|name)",
    "date of birth": r"date of birth|\bdob\b|d\.o\.b|birth ?date|birthday|(year|month) (you were|of) born",
    "order number": r"(order|booking|reservation|confirmation|membership|loyalty|account|customer|member|"
                    r"subscriber|policy|reference|ref|meter|rewards|frequent flyer|passenger|ticket|pnr|"
                    r"tracking|invoice|contract|claim) ?(number|no\.?|num|#|id|code|ref(erence)?)s?\b|"
                    r"booking ref|\bpnr\b|order #|reference\b|\bref\b|(loyalty|rewards|membership|member|club|point"
                    r"s|library) card|"
                    r"nhs (number|no)|national insurance|social security|\bssn\b",
    "bank details": r"sort code|bank (account|details|info)|\biban\b|routing number|\bbic\b|swift( code)?|"
                    r"account (and|&) sort",
}
_PERSONAL = {kind: re.compile(rf"\b(?:{pattern})", re.I) for kind, pattern in PERSONAL_DATA.items()}
# The company's own: "our email address", "our phone line", "our website address" are not the customer's.
_OURS = re.compile(r"\b(our|my|the team'?s|this|a) (own |support |customer service |)(e-?mail|phone|web|"
                   r"website|postal|head office|office|returns|address|number|mobile|line)", re.I)
# The agent doing the sharing verb ("I've sent you a new code", "we'll send you a new PIN", "I can confirm your
# card number was removed"): the company telling, not asking. Taken out of the sentence before matching.
AGENT_TELLS = re.compile(r"\b(?:i|we)\b(?:'ve|'ll|'d|\s+(?:have|has|will|would|can|could|just|now|also|already))*"
                          r"\s+(?:send|sent|give|gave|text|texted|email|emailed|post|posted|confirm|confirmed)\b",
                          re.I)
PERSONAL_DATA_KINDS = frozenset(PERSONAL_DATA)
SENSITIVE_DATA = PERSONAL_DATA_KINDS  # every kind is personal on a public channel, order numbers included


def personal_kinds(sentence: str) -> set[str]:
    """The kinds of personal data a sentence mentions."""
    text = _OURS.sub(" ", sentence)
    text = re.sub(r"\b(ip|web|website|url|mac|wallet) address\b", " ", text, flags=re.I)
    kinds = {kind for kind, pattern in _PERSONAL.items() if pattern.search(text)}
    if "postal address" in kinds and not _PERSONAL["postal address"].search(
            re.sub(r"\be-?mail( address)?\b", " ", text, flags=re.I)):
        kinds.discard("postal address")  # the only address was an email address
    return kinds


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


_LIST_ITEM = re.compile(r"[ \t]*\n[ \t]*(?:\d+[.)]|[-*•])[ \t]+")


def join_lists(text: str) -> str:
    """A list ("reply with:\n1. your email\n2. your password") as one sentence, so its items keep their verb."""
    return _LIST_ITEM.sub("; ", text)


def personal_data_requests(text: str) -> list[tuple[str, str]]:
    """(kind, sentence) for each sentence that asks for a kind of personal data."""
    found = []
    for sentence in sentences(join_lists(text)):
        asking = AGENT_TELLS.sub(" ", sentence)
        if not is_request(asking) or _WARNING.search(sentence):
            continue
        for kind in sorted(personal_kinds(asking)):
            found.append((kind, sentence))
    return found


def public_requests(text: str) -> list[tuple[str, str]]:
    """(kind, sentence) for each request for personal data to be posted where it is (not moved to a DM,
    email or form): a sentence that moves private is fine, and so is any sentence of a reply that moves
    private elsewhere unless it says to post it here."""
    private_elsewhere = moves_private(text)
    return [(k, s) for k, s in personal_data_requests(text)
            if not moves_private(s) and not (private_elsewhere and not _HERE.search(s))]


# Personal data written out (not asked for): on a public channel, repeating it is as bad as asking for it.
_DISCLOSED = {
    # Not a company's own role mailbox (support@, claims@, ...).
    "email address": re.compile(r"\b(?!(support|help|claims|info|contact|service|care|complaints|billing|hello|"
                                r"team|sales|noreply|no-reply|donotreply|tickets|bookings|reservations|returns|orders|"
                                r"accounts|privacy|security|press|feedback|enquiries|admin|customerservice|cs|reply|"
                                r"refunds|helpdesk|social|web|online|office|shop|store)@)[\w.+-]+@[\w-]+(\.[\w-]+)+"
                                r"\b", re.I),
    # A mobile number, or any number introduced as the customer's; a company's own line is not personal.
    "phone number": re.compile(r"\b(called|calling|call|ring|rang|text|texted) you (on|at)\s*\+?\d[\d ()-]{7,}\d|(?"
                r"<!\d)(\+44\s?7|07)\d{3}\s?\d{3}\s?\d{3}(?!\d)|\byour (mobile|phone|number)"
                               r"( number)?( is| on|:)?\s*\+?\d[\d ()-]{7,}\d", re.I),
    "card details": re.compile(r"\bcard (ending|ending in|number)\s*:?\s*\d{4}\b|\b(?:\d[ -]?){13,19}\b", re.I),
    "postal address": re.compile(r"\b\d{1,4}\s+[A-Z][a-z]+(\s[A-Z][a-z]+)?\s(Street|St|Road|Rd|Lane|Ln|Avenue|Ave|"
                                 r"Drive|Close|Way|Crescent|Place|Court)\b|\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b"),
    "password": re.compile(r"\b(password|passcode|pin)\s+(is|was|:)\s+\S+", re.I),
    "order number": re.compile(r"\b(order|booking|reservation|membership|loyalty|account|policy|confirmation|"
                               r"conf|reference|ref|pnr)\b\.?(?:\s*(?:number|no\.?|ref(?:erence)?|code|id|#|is|:|\(|"
                               r"conf\.?))*\s*(?=[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{4,}\b", re.I),
    "bank details": re.compile(r"\bsort code\s*:?\s*\d{2}-?\d{2}-?\d{2}\b|\biban\b\s*:?\s*[A-Z]{2}\d{2}|"
                               r"\baccount (number|no\.?)\s*:?\s*\d{6,}\b", re.I),
    "date of birth": re.compile(r"\b(born( on)?|date of birth|dob|birthday)\b[\s:,]*(is\s*)?"
                                r"(\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{1,2}(st|nd|rd|th)? [A-Z][a-z]+)", re.I),
    "full name": re.compile(r"\b(registered|booked|listed|in the name) (to|under|of) [A-Z][a-z]+ [A-Z][a-z]+|"
                            r"^(?i:hi|hello|dear|hey) [A-Z][a-z]+ [A-Z][a-z]+\b(?! (team|support))"),
}


# Where to reach the company ("email us at ...", "call our team on ..."): the company's own, not personal.
_REACH_US = re.compile(r"\b(call|ring|phone|text|email|e-mail|contact|write to|reach|message|whatsapp)\s+"
                       r"(us|our|the)\b[\w' ]{0,30}?\b(on|at|via|:)?\s*$|\b(or|and) (email|e-mail|call)\s*$", re.I)


def personal_data_disclosed(text: str) -> list[tuple[str, str]]:
    """(kind, the text as written) for personal data the reply writes out, e.g. an email address."""
    found = []
    for kind, pattern in _DISCLOSED.items():
        for match in pattern.finditer(text):
            if kind in ("email address", "phone number") and _REACH_US.search(text[max(0, match.start() - 45):
                                                                                match.start()]):
                continue
            found.append((kind, match.group(0)))
            break
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
        in_public = tuple(k for k, _ in public_requests(reply))
        in_public += tuple(k for k, _ in personal_data_disclosed(reply))
    return ReplyActs(asked_for=asked, cited=cited, personal_data_requested=kinds, moves_private=private,
                     personal_data_in_public=tuple(dict.fromkeys(in_public)),
                     reasked_bot_data=tuple(f for f in asked if f in scenario.bot_collected))
