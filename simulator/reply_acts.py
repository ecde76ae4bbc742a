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
                 r"(?<!maiden )(?<!company )(?<!product )(your|ur) names?\b|names? (on|of) (the|your|ur) (account|"
                 r"booking|order|card|policy|ticket)|"
                 r"names? (it'?s|it is) (booked|registered) under|(booked|registered|listed) under",
    "email address": r"(?<!ll )(?<!\bwe )(?<!will )(?<!this )(?<!that )(?<!\bour )(?<!last )(?<!previous )"
                     r"e-?mail\b(?! (us|me)\b)(?! (doesn'?t|does not|didn'?t|hasn'?t|has not|arriv\w*|we sent|from us|"
                     r"asking|wasn'?t|was not))( address| addy)?|(this|that|our|last|previous) e-?mail address|"
                     r"e-?mail (linked|associated|registered|on)",
    "phone number": r"(phone|mobile|cell|telephone|contact|landline|callback|whatsapp)( ?(number|no\.?|num|#))|"
                    r"best (number|way) to (call|reach|contact)|(?<!to )(?<!on )(?<!via )(?<!from )(your|ur) ("
                    r"mobile|cell)\b(?! (app|phone|device))",
    "postal address": r"(home|postal|post|delivery|billing|shipping|street|full|house|mailing|correspondence)? "
                      r"?address(?!ed)|post ?code|zip ?code|postal code|eircode|house (number|name)",
    "date of birth": r"date of birth|\bdob\b|d\.o\.b|birth ?date|birthday|(year|month) (you were|of) born",
    "order number": r"(order|booking|reservation|confirmation|membership|loyalty|account|customer|member|"
                    r"subscriber|policy|reference|ref|meter|rewards|frequent flyer|passenger|ticket|pnr|"
                    r"tracking|invoice|contract|claim) ?(number|no\.?|num|#|id|code|ref(erence)?)s?\b|"
                    r"booking ref|\bpnr\b|order #|reference\b|\bref\b|(loyalty|rewards|membership|member|club|"
                    r"points|library) card|"
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


def personal_kinds(sentence: str) -> set[str]:
    """The kinds of personal data a sentence mentions."""
    text = _OURS.sub(" ", sentence)
    text = re.sub(r"\b(ip|web|website|url|mac|wallet) address\b", " ", text, flags=re.I)
    kinds = {kind for kind, pattern in _PERSONAL.items() if pattern.search(text)}
    if "postal address" in kinds and not _PERSONAL["postal address"].search(
            re.sub(r"\be-?mail( address)?\b", " ", text, flags=re.I)):
        kinds.discard("postal address")  # the only address was an email address
    return kinds


# What no one at the company ever needs from a customer: asking for it is a fault on any channel.
SECRETS = {
    "password": r"pass ?words?|passcodes?|pass ?phrases?|pwd\b|\bpw\b|log-?in deets|"
                r"(your|ur) log-?in\b(?! (page|screen|link|button|issue|problem))|log-?in (details|credentials|info)|"
                r"sign-?in (details|credentials|creds)|log-?in creds|username and pass|what'?s the log-?in|the log"
                r"-?in you use",
    "one-time code": r"one[- ]time (?:pass)?codes?|\botps?\b|verification codes?|2fa codes?|2fa\b|"
                     r"authenticat\w* (code|app)|sms codes?|backup codes?|recovery codes?|(?:six|6)[- ]digit(s)?\b|"
                     r"(?<!confirmation )(?<!promo )(?<!discount )(?<!voucher )(?<!post )(?<!zip )(?<!sort )"
                     r"(?<!reference )(?<!booking )(?<!tracking )(?<!product )(?<!error )(?<!gift card )"
                     r"(?<!qr )(?<!area )(?<!security )\bcodes?\b(?= .{0,40}\b(sent|texted|text|sms|e-?mail|inbox|"
                     r"app|came|landed|arriv\w*|popped|showing|displayed|generated|received|got|on its way|"
                     r"through|phone|mobile)\b)|(sent|texted|text|sms|e-?mailed|app|authenticator)\b.{0,40}(?<!qr )"
                     r"(?<!promo )(?<!discount )(?<!voucher )(?<!gift )(?<!booking )(?<!confirmation )\bcodes?\b",
    "PIN": r"\bpins?\b",
    "full card number": r"(?:(?:full|whole|long|entire|complete|16[- ]digit) ){1,2}(?:credit |debit )?card (?:"
                    r"number|no\.?)|"
                        r"long number on (?:the|your)( front of( the| your)?)? card|"
                        r"(full|whole|long) number (on|across) (the front of )?(the|your) card|card'?s 16[- ]digit|"
                        r"(?<!rewards )(?<!loyalty )(?<!membership )(?<!gift )(?<!club )(?<!member )(?<!points )"
                        r"(?<!library )(?<!nectar )\b(credit |debit |bank )?card (?:number|no\.?|details)",
    "card security code": r"\b(?:cvv2?|cvc2?|cv2)\b|security code (on|from) the (back|reverse)|(?:3|three)[- ]digit"
                          r"(s)? "
                          r"(?:security )?(code|on the back)|digits on the back|three-digit security code|"
                          r"card'?s? security code",
    "security answers": r"memorable (?:word|information|info|answer|phrase)|security (?:question|answer|q)s?\b|"
                        r"mother'?s maiden name|characters? \d+(, \d+)* (and|&) \d+",
}
_SECRET_NOUNS = {kind: re.compile(rf"(?:{pattern})", re.I) for kind, pattern in SECRETS.items()}
# Giving it to the company: a verb or a question that hands the secret over.
_GIVE = re.compile(r"\b(reply|respond|send|share|give|tell|provide|confirm|post|comment|tweet|dm|message|paste|"
                   r"read|write|drop|pop|let (me|us) know|what(?:'s| is| are| was| were)|whats|need|needed|"
                   r"require[sd]?|answer|spell|quote|include|attach|whatsapp|text (it|them|us|me)|"
                   r"(can|could|may) (i|we) (have|get|take|grab)|type|go ahead|just need|list|supply|verify with|which|"
                   r"what (does|did|do)|state|help to have|would need)\b|^\s*(\w+[!,.]?\s+){0,2}(and |also )?(the|"
                   r"your|ur)\b[^?]*\?\s*$", re.I)
# Handing it over here, explicitly: this beats a self-service instruction in the same sentence.
_HANDOVER = re.compile(r"\b(reply|respond|send|share|give|tell|post|comment|tweet|paste|"
                       r"read( it| that| them| those)? (out|back)|"
                       r"drop|pop|whatsapp|text (it|them|us|me))\b.{0,40}\b(here|below|chat|comments?|us|me|"
                       r"replies|thread|this (post|email|chat))\b|\b(tell|give|send|dm|message|whatsapp) (me|us)\b|"
                       r"\b(reply|respond) (with|w/)|\bwhat(?:'s| is| are|s| does| did)\b|\bwhich\b|"
                       r"\b(send|give|share|provide|post|paste|drop|pop|supply|read out)( me| us)? (your|ur|the|that|"
                       r"those|it|them)\b|"
                       r"\b(paste|type|pop|drop|post) (it|them|that|your [\w ]+?) (here|below|in (the|this) (chat|"
                       r"comments?|thread|reply))", re.I)
# Self-service: the customer uses the secret themselves ("reset your password", "enter the code in the app").
_SELF_SERVICE = re.compile(r"\b(reset|change|update|create|set up a new|choose|pick|forgot|forgotten|"
                           r"enter (it|them|the code|your [\w ]+?) (in|into|on)|into (the|your) (\w+ )?(app|website"
                           r"|site|"
                           r"checkout|screen|page|box|field|form|portal)|in the (app|website|checkout|screen|page|"
                           r"box|field|"
                           r"form|portal|browser)|on the (website|site|screen|page|app)|at the prompt|keep it)\b",
                           re.I)
_SECRET_WARNING = re.compile(r"\b(never|don'?t|do not|won'?t|will not|no need|not need|shouldn'?t|should not|nobody|"
                      r"no one|without|not to|nothing (you need|to send|needed)|no (\w+ )?(needed|required)|"
                      r"(wasn'?t|was not|isn'?t|is not|not) from us|scam|phishing|fraudulent)\b", re.I)
_PARTIAL_CARD = re.compile(r"\b(last|first|final) (four|4|six|6|three|3|two|2) (digits|numbers)\b", re.I)


def secret_requests(reply: str) -> list[tuple[str, str]]:
    """(kind, sentence) for each sentence that asks the customer to hand over a secret."""
    found = []
    before: set[str] = set()  # the secrets the sentence before named ("I've sent a code. Reply with it here.")
    for sentence in sentences(join_lists(reply)):
        named = {kind for kind, pattern in _SECRET_NOUNS.items() if pattern.search(sentence)}
        previous, before = before, named
        if _SECRET_WARNING.search(sentence):
            before = set()
            continue
        asking = re.sub(r"\b(by|in the|via) post\b", " ", AGENT_TELLS.sub(" ", sentence), flags=re.I)
        if not _GIVE.search(asking):
            continue
        if not named and previous and re.search(r"\b(it|them|that)\b", asking, re.I) and _HANDOVER.search(asking):
            found.extend((kind, sentence) for kind in sorted(previous))
            continue
        if _SELF_SERVICE.search(asking) and not _HANDOVER.search(asking):
            continue
        for kind, pattern in _SECRET_NOUNS.items():
            match = pattern.search(sentence)
            if not match:
                continue
            if kind == "full card number" and _PARTIAL_CARD.search(sentence) and not re.search(
                    r"full|whole|long|16", sentence, re.I):
                continue
            found.append((kind, sentence))
    return found


@dataclass(frozen=True)
class ReplyActs:
    asked_for: tuple[str, ...] = ()
    cited: tuple[str, ...] = ()
    personal_data_requested: tuple[str, ...] = ()
    moves_private: bool = False
    personal_data_in_public: tuple[str, ...] = ()
    reasked_bot_data: tuple[str, ...] = ()
    secrets_requested: tuple[str, ...] = ()  # password, one-time code, PIN, ...: asked for on any channel


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


def cited_articles(reply: str, scenario: Scenario) -> tuple[str, ...]:
    """The scenario's knowledge-base articles the reply cites (`kb:ID`, or the id itself)."""
    text = reply.lower()
    return tuple(a for a in scenario.kb_articles if f"kb:{a}" in text or a in text)


def analyse(reply: str, scenario: Scenario) -> ReplyActs:
    requests = [s for s in sentences(reply) if is_request(s)]
    lowered = [s.lower() for s in requests]
    asked = tuple(f.id for f in scenario.facts
                  if any(k.lower() in s for s in lowered for k in f.asked_by))
    cited = cited_articles(reply, scenario)
    personal = personal_data_requests(reply)
    kinds = tuple(dict.fromkeys(kind for kind, _ in personal))
    private = moves_private(reply)
    in_public = ()
    if scenario.channel_spec.public:
        in_public = tuple(k for k, _ in public_requests(reply))
        in_public += tuple(k for k, _ in personal_data_disclosed(reply))
    return ReplyActs(asked_for=asked, cited=cited, personal_data_requested=kinds, moves_private=private,
                     personal_data_in_public=tuple(dict.fromkeys(in_public)),
                     reasked_bot_data=tuple(f for f in asked if f in scenario.bot_collected),
                     secrets_requested=tuple(dict.fromkeys(k for k, _ in secret_requests(reply))))
