"""Compose labeled agent replies from labeled sentence pools (source `composed-v1` in labeled.jsonl).

Each pool sentence carries the criteria it meets; a reply's labels are the union of its sentences'
labels. Hard negatives (formula apologies, referrals, blame, sarcasm, empty questions) carry none,
so the classifiers learn that "sorry for any inconvenience" is not ownership and "contact support" is
not a solution. Written by the support-dojo authors; deterministic (fixed seed).

Run: python rubrics/compose_examples.py > /dev/null   (rewrites the composed lines of labeled.jsonl)
"""

from __future__ import annotations

import json
import random
from pathlib import Path

E, O, S, F = "empathy", "ownership", "solution", "follow_up"

DOMAINS = [
    # (thing, problem, fix, time)
    ("parcel", "the late delivery", "I've reshipped it by express at no charge", "tomorrow before noon"),
    ("bill", "the double charge", "I've refunded the duplicate payment of £29.99 to your card", "within 3 working days"),
    ("account", "the lockout", "I've reset your login and sent a secure link to the email on file", "in the next 10 minutes"),
    ("booking", "the cancelled flight", "I've rebooked you on the 14:20 flight and waived the change fee", "today"),
    ("broadband", "the outage", "I've booked an engineer visit for Thursday between 8 and 12", "on Thursday"),
    ("subscription", "the renewal charge", "I've cancelled the renewal and refunded the £89", "within 5 working days"),
    ("order", "the wrong size", "I've sent a prepaid return label and the right size is on its way", "by Friday"),
    ("phone", "the faulty screen", "I've approved a free repair; take it to any of our stores with this reference RP-2231",
     "this week"),
]

POOLS: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "empathy": [
        ("I can only imagine how frustrating it is to wait this long for your {thing}.", (E,)),
        ("That sounds really stressful, especially when you were counting on it.", (E,)),
        ("I understand how annoying {problem} must be.", (E,)),
        ("I'd be upset too if this happened to me.", (E,)),
        ("It's completely understandable that you're disappointed.", (E,)),
        ("I can hear how much hassle this has caused you.", (E,)),
        ("Having to chase this more than once is not okay, and I get why you're fed up.", (E,)),
        ("I know your time is valuable and this has taken far too much of it.", (E,)),
        ("That must have been a worrying morning for you.", (E,)),
        ("I really feel for you, being without your {thing} for days.", (E,)),
        ("Oh no, that's such a letdown.", (E,)),
        ("I get it, nobody wants to deal with this on a Monday.", (E,)),
    ],
    "ownership": [
        ("I'm sorry, we got this wrong.", (O,)),
        ("That's on us, and I apologise.", (O,)),
        ("I'm really sorry we let you down with {problem}.", (O,)),
        ("I'll take care of this personally.", (O,)),
        ("This is our mistake, not yours.", (O,)),
        ("I'm going to own this until it's fixed.", (O,)),
        ("Apologies, our system should have caught this.", (O,)),
        ("I'm sorry we missed the date we promised you.", (O,)),
        ("I'll make sure this gets sorted myself.", (O,)),
        ("We should have told you sooner, and I'm sorry we didn't.", (O,)),
        ("My apologies, that mix-up happened on our side.", (O,)),
    ],
    "solution": [
        ("{fix}; you'll see it {time}.", (S,)),
        ("Good news: {fix}.", (S,)),
        ("{fix}, so you don't need to do anything else.", (S,)),
        ("To fix it, go to Settings > Account > Security and tap 'Reset password'.", (S,)),
        ("You can get a full refund: I've started it and it will reach your card {time}.", (S,)),
        ("The answer is yes, the warranty covers this, so the repair is free.", (S,)),
        ("Our help article 'Delivery delays' explains the options; for you, the express reship is already booked.", (S,)),
        ("Restart the router by holding the reset button for 10 seconds; the light should turn green.", (S,)),
        ("I've applied a £10 credit to your account for the trouble and fixed the setting that caused it.", (S,)),
        ("Your new tracking number is TR-55812 and it's already with the courier.", (S,)),
    ],
    "follow_up": [
        ("If it hasn't arrived {time}, just reply here and I'll refund you straight away.", (F,)),
        ("I'll check in with you tomorrow to make sure it's all working.", (F,)),
        ("Could you tell me which email address you'd like the receipt sent to?", (F,)),
        ("Please send us a DM so we can finish this privately.", (F,)),
        ("I'll update you as soon as the carrier replies, within 24 hours.", (F,)),
        ("Let me know if that works for you, and I'll keep this case open until then.", (F,)),
        ("Does the problem happen on Wi-Fi as well as mobile data?", (F,)),
        ("If anything else goes wrong, reply to this email and it comes straight to me.", (F,)),
        ("I'll follow up by email once the refund has gone through.", (F,)),
        ("Can you confirm the model number on the back so I can book the right part?", (F,)),
        ("Drop us a private message with your order number and we'll pick it up from there.", (F,)),
    ],
    "neutral": [
        ("Hi there,", ()), ("Hello {name},", ()), ("Thanks for your message.", ()), ("Kind regards, Sam", ()),
        ("Best wishes,\nAlex from the support team", ()), ("Have a great day!", ()),
        ("I've looked at your {thing} on our system.", ()), ("Thanks for your patience.", ()),
        ("Happy to help.", ()), ("Cheers, Jo", ()), ("Hey!", ()),
    ],
    "hard_negative": [
        ("We apologize for any inconvenience this may have caused.", ()),
        ("Sorry for any inconvenience.", ()),
        ("Please contact our support team for further assistance.", ()),
        ("You can find more information on our website.", ()),
        ("Please call our helpline on 0800 123 456.", ()),
        ("Unfortunately you should have read the terms before ordering.", ()),
        ("As stated in our policy, this is not something we can help with.", ()),
        ("Well, that's just how the courier works, I'm afraid.", ()),
        ("Great, another satisfied customer, clearly.", ()),
        ("Is there anything else?", ()),
        ("We value your feedback.", ()),
        ("Your issue has been noted.", ()),
        ("It's not our fault the courier lost it.", ()),
        ("Our team is aware of the issue.", ()),
        ("Sorry to hear that.", ()),
        ("You'll need to raise a ticket through the portal.", ()),
        ("We're looking into it.", ()),
        ("I understand.", ()),
    ],
}
NAMES = ["Priya", "Tom", "Maria", "Kwame", "Lena", "Diego", "Aisha", "Ben"]


def compose(n: int, seed: int = 20261124) -> list[dict]:
    return [row for row, _ in compose_with_parts(n, seed)]


def compose_with_parts(n: int, seed: int = 20261124) -> list[tuple[dict, list[tuple[str, tuple[str, ...]]]]]:
    """Each composed reply with its sentences and the criteria each one carries (for evidence checks)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        thing, problem, fix, time = rng.choice(DOMAINS)
        parts: list[tuple[str, tuple[str, ...]]] = []
        if rng.random() < 0.45:
            parts.append(rng.choice(POOLS["neutral"][:3] + POOLS["neutral"][10:]))
        for pool in ("empathy", "ownership", "hard_negative", "solution", "follow_up"):
            chance = 0.3 if pool == "hard_negative" else 0.5
            if rng.random() < chance:
                parts.append(rng.choice(POOLS[pool]))
        if not parts:
            parts.append(rng.choice(POOLS["hard_negative"]))
        if rng.random() < 0.35:
            parts.append(rng.choice(POOLS["neutral"][3:6] + POOLS["neutral"][9:10]))
        name = rng.choice(NAMES)
        filled = [(p.format(thing=thing, problem=problem, fix=fix, time=time, name=name), labs) for p, labs in parts]
        text = " ".join(p for p, _ in filled)
        text = text[0].upper() + text[1:]
        labels = {c: int(any(c in labs for _, labs in parts)) for c in (E, O, S, F)}
        out.append(({"id": f"composed-{i:04d}", "text": text, **labels, "source": "composed-v1"}, filled))
    return out


def main() -> None:
    path = Path(__file__).with_name("labeled.jsonl")
    kept = []
    if path.exists():
        kept = [line for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip() and json.loads(line)["source"] != "composed-v1"]
    # The same text twice could land in train and test at once: keep the first of each.
    seen = {json.loads(line)["text"] for line in kept}
    composed = []
    for r in compose(600):
        if r["text"] not in seen:
            seen.add(r["text"])
            composed.append(json.dumps(r, ensure_ascii=False))
    lines = kept + composed
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
