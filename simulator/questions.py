"""The trainee's questions to the customer, and what the customer answers.

A real customer answers what they are asked: their postcode, what they bought, when, what they already
tried. `answer_questions(reply, scenario, acts, seed)` finds each question sentence of a reply and:

- a question about one of the scenario's hidden facts is left to the beats (that is what they are for);
- a question about something the customer knows (the scenario's `customer_knows`, else the customer
  record: the item, the order date, their name) gets that answer;
- a question about their own contact details the scenario does not spell out gets "the one on my
  account" (a real customer does not invent a new address);
- on a public channel, a question asking them to post personal data gets a refusal to post it there;
- any other question put to them gets an in-character "no idea";
- asked for a password, a one-time code, a PIN or card details, they refuse (and it costs the trainee).

Questions that are offers ("Would you like me to...?") or conversational ("Does that help?") are not
questions to answer. Every answer is an `Answer` with its topic, so the customer (and the benchmark) can
tell pertinent questions were answered and never count them as an unhelpful reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from simulator.reply_acts import PERSONAL_DATA_KINDS, ReplyActs, personal_kinds, sentences
from simulator.scenario import Scenario

# Built-in topics: what a trainee's question asks about, and whether it is the customer's own personal data.
TOPICS: dict[str, tuple[str, bool]] = {
    "postcode": (r"post ?code|zip ?code|postal code|eircode", True),
    "delivery_address": (r"delivery address|where (should|shall|can|do) (we|i|it) (send|deliver)|"
                         r"address (for|on) (the|this|your) (order|delivery)|shipping address", True),
    "address": (r"\baddress\b|where (do|did) you live|house (number|name)|which street|what street", True),
    "city": (r"which (city|town|area)|what (city|town|area)|where are you (based|located|from)|"
             r"where do you live", True),
    "email": (r"e-?mail", True),
    "phone": (r"phone|mobile|contact number|best number|number (to|we can|i can) (call|reach|text)", True),
    "name": (r"(full|your|first|last|sur) ?name\b|who am i (speaking|talking|chatting)", True),
    "date_of_birth": (r"date of birth|\bdob\b|birthday|how old", True),
    "item": (r"what (did|have) you (order|buy|purchase|get)|which (item|product|model|one)|"
             r"what (item|product|model)|what was in|what were you (buying|ordering|expecting)", False),
    "order_date": (r"when did you (order|place|buy|purchase|book)|order date|date of (the|your) order|"
                   r"when (was|did) (it|the order|your order) (placed|go through|made)|how long ago", False),
    "payment": (r"how did you pay|payment method|pay(ing)? (by|with)|which (bank|card)|what card", False),
    "tried": (r"(have|did) you (tried|try|restart|reboot|check)|what have you (tried|done)|already tried|"
              r"(tried|try) (restarting|rebooting|turning|logging|clearing|another)", False),
    "device": (r"which (device|phone|browser|app|laptop|router)|what (device|phone|browser|laptop|router)|"
               r"(iphone|android|windows|mac)\b", False),
    "account_age": (r"how long have you (been|had)|when did you (join|sign up|open)", False),
}
_TOPIC_RE = {name: re.compile(pattern, re.I) for name, (pattern, _) in TOPICS.items()}
PERSONAL_TOPICS = frozenset(name for name, (_, personal) in TOPICS.items() if personal)
# Not a question to answer: an offer, a check on the conversation, a pleasantry.
NOT_ASKING = re.compile(
    r"\b(would you like (me|us) to|shall i|should i|do you want (me|us) to|can i (go ahead|help)|"
    r"is there anything else|anything else (i|we) can|does (that|this) (help|make sense|work)|"
    r"are you (still )?there|how are you|is that (ok|okay|alright|all right)|sound good|"
    r"would (that|this) (help|work|be ok)|(is|was) that helpful|how (can|may) i help|"
    r"what can i do for you|(tell|give) (me|us) (a (bit|little) )?more|more (details|detail|information) "
    r"(about|on) (it|this|that|what happened)|what (happened|seems to be the problem|is the problem|'s wrong))\b",
    re.I)  # an open invitation to tell the story: the customer's next message answers it, not "no idea"
QUESTION = re.compile(r"\?\s*$|^\s*(could|can|would|will) you (tell|let|confirm|say|give)|"
                      r"^\s*(please )?(tell|let) me|^\s*(please )?confirm\b", re.I)
FACT_QUESTION = re.compile(r"\b(what|which|when|where|who|how|did|do|does|have|has|is|are|was|were|could|can|"
                           r"would|will)\b", re.I)
NO_IDEA = ("No idea, sorry.", "I don't know, honestly.", "Not sure, sorry.", "I've no idea.")
ON_FILE = ("It's the one on my account.", "The one you have on file.")
NOT_IN_PUBLIC = "I'm not posting that on here for everyone to see."
# What a customer says when asked for a secret: they have been told never to hand it over.
REFUSES = {"password": "I'm not giving out my password, you shouldn't need it.",
           "one-time code": "The text says never to share that code with anyone, so no.",
           "PIN": "I'm not telling anyone my PIN.",
           "full card number": "I'm not typing my card number in here.",
           "card security code": "I'm not giving you the code off the back of my card.",
           "security answers": "I'm not giving out my security answers."}


@dataclass(frozen=True)
class Answer:
    topic: str  # a topic id, or "unknown" for a question the customer cannot answer
    question: str
    says: str  # empty when another answer already says it


def answer_questions(reply: str, scenario: Scenario, acts: ReplyActs, seed: int = 0) -> tuple[Answer, ...]:
    """The customer's answers to the reply's questions, in order; none for hidden-fact questions."""
    fact_keys = [k.lower() for f in scenario.facts for k in f.asked_by]
    out: list[Answer] = [Answer("secret", kind, REFUSES[kind]) for kind in acts.secrets_requested[:1]]
    seen: set[str] = set()
    for question in sentences(reply):
        if not QUESTION.search(question) or NOT_ASKING.search(question):
            continue
        lowered = question.lower()
        if any(k in lowered for k in fact_keys):
            continue  # a hidden fact: the beats answer it
        topics = _topics(question, scenario)
        if not topics:
            if FACT_QUESTION.search(question) and re.search(r"\b(you|your|u|ur)\b", lowered) \
                    and "unknown" not in seen:
                seen.add("unknown")
                out.append(Answer("unknown", question, NO_IDEA[seed % len(NO_IDEA)]))
            continue
        for topic in topics:
            if topic in seen:
                continue
            seen.add(topic)
            says = _answer(topic, question, scenario, seed)
            if any(a.says and (says in a.says or a.says in says) for a in out):
                says = ""  # answered already: the postcode is in the address they just gave
            out.append(Answer(topic, question, says))
    return tuple(out)


def _topics(question: str, scenario: Scenario) -> list[str]:
    own = [k.about for k in scenario.customer_knows
           if any(a.lower() in question.lower() for a in k.asked_by)]
    built_in = [name for name, pattern in _TOPIC_RE.items() if pattern.search(question)]
    if "delivery_address" in built_in:
        built_in = [t for t in built_in if t != "address"]
    return list(dict.fromkeys([*own, *built_in]))


def _answer(topic: str, question: str, scenario: Scenario, seed: int) -> str:
    if scenario.channel_spec.public and (topic in PERSONAL_TOPICS or personal_kinds(question) & PERSONAL_DATA_KINDS):
        return NOT_IN_PUBLIC
    for known in scenario.customer_knows:
        if known.about == topic or (topic == "address" and known.about == "delivery_address") or (
                topic == "delivery_address" and known.about == "address"):
            return known.says
    record = scenario.customer_record
    orders = record.get("orders") or []
    if topic == "name":
        return f"It's {scenario.persona.name}."
    if topic == "item" and orders:
        return f"The {orders[0]['item'][0].lower()}{orders[0]['item'][1:]}."
    if topic == "order_date" and orders and orders[0].get("date"):
        return f"I ordered it on {orders[0]['date']}."
    if topic == "account_age" and record.get("since"):
        return f"Since {record['since']}."
    if topic in PERSONAL_TOPICS:
        return ON_FILE[seed % len(ON_FILE)]
    return NO_IDEA[seed % len(NO_IDEA)]
