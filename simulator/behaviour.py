"""What a harder customer does beyond the script: the uncooperative behaviours user-simulator studies list.

Real customers are not the tidy, cooperative writers a script makes of them ("excessively cooperative,
stylistically uniform" is the failure simulator studies name). A persona's behaviours, set in the scenario
(`persona.behaviours`) or drawn from its difficulty, each a small scripted addition that never changes what the
beats mean:

- incomplete_opening: the first message leaves the details out ("hi, I need help with an order"); the rest
  comes with the next message, whatever the trainee asked (on email people write it all down: not there);
- impatience: "hello??" when the trainee is slower than the channel's standard on a live channel;
- off_topic: one remark that has nothing to do with the case ("sorry, on the train, signal keeps dropping");
- manager: asks once for a manager when frustrated;
- threaten_public: says once they will post about it publicly when angry (on a public post: tell everyone).

The persona's writing style (`style.py`) is drawn the same way when the scenario does not set it: from the
channel (chat and social are terse, lower case, unpunctuated more often than email) and the difficulty (more
capitals and doubled marks when harder). Both draws use the session's seed, so a replayed session reads the same.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from simulator.reply_acts import sentences

BEHAVIOURS = ("incomplete_opening", "impatience", "off_topic", "manager", "threaten_public")
# How likely each behaviour is for a persona that does not list its own, by difficulty.
BEHAVIOUR_ODDS = {
    1: {},
    2: {"incomplete_opening": 0.5, "impatience": 1.0, "off_topic": 0.3, "manager": 0.3, "threaten_public": 0.5},
    3: {b: 1.0 for b in BEHAVIOURS},
}
LIVE = ("live_chat", "bot_handoff", "social_dm")
PUBLIC = ("social_public",)
# How likely each writing trait is, by channel, for a persona whose scenario sets no style; the difficulty
# adds to the angry ones. Roughly what real customers' messages to brands show: about half end without a
# full stop on chat and social, a few use emoji, capitals come with anger.
STYLE_ODDS = {
    "email": {"typos": 0.3, "fragments": 0.15},
    "chat": {"no_final_stop": 0.65, "lowercase": 0.35, "typos": 0.45, "fragments": 0.45, "emoji": 0.15,
             "caps_when_angry": 0.2, "exclamations": 0.1},
    "social": {"no_final_stop": 0.5, "lowercase": 0.25, "typos": 0.35, "fragments": 0.35, "emoji": 0.25,
               "caps_when_angry": 0.25, "exclamations": 0.15},
}
ANGRY_TRAITS = ("caps_when_angry", "exclamations")

OPENERS = {
    "live_chat": ("hi, I need some help with something", "hello, anyone there?", "hi, quick question",
                  "hi, I've got a problem"),
    "bot_handoff": ("finally a person. I need help", "hi, the bot couldn't help me", "hello? is this a real person?"),
    "social_dm": ("hi, can someone help me with something?", "hello, need some help please"),
    "social_public": ("is anyone actually going to help me?", "hey, anyone there?"),
}
NUDGES = ("hello??", "are you still there?", "hello? anyone?", "still waiting here...", "hello?? I'm still here.")
ASIDES = ("Sorry, I'm on the train, the signal keeps dropping.", "One sec, my dog is going mad at the door.",
          "Your website's really slow today too, by the way.", "Sorry, typing on my phone.",
          "I'm on my lunch break so not long.")
MANAGER = ("I want to speak to a manager.", "Can I talk to your manager please?",
           "Put me through to a supervisor.")
THREATS = ("If this isn't sorted today I'm posting about it on Twitter.",
           "Honestly I'm about to write a review about this.",
           "I'll be telling everyone on Facebook how this went.")
THREATS_PUBLIC = ("Everyone should see how you treat your customers.", "I'm telling everyone I know about this.")


@dataclass(frozen=True)
class Manner:
    """The writing traits and behaviours one session's customer has (drawn once, kept in the customer's state)."""

    style: tuple[str, ...]
    behaviours: tuple[str, ...]


def channel_kind(channel: str) -> str:
    return "email" if channel == "email" else "social" if channel.startswith("social") else "chat"


def draw(channel: str, difficulty: int, seed: int, style: Sequence[str] | None,
         behaviours: Sequence[str] | None, scenario_id: str = "") -> Manner:
    """The scenario's own lists where it sets them (an empty list: none); the rest drawn from the seed (and the
    scenario, so that two scenarios played with one seed do not get the same customer)."""
    rng = random.Random(f"persona:{scenario_id}:{seed}")
    if style is None:
        odds = STYLE_ODDS[channel_kind(channel)]
        drawn = [t for t, p in odds.items()
                 if rng.random() < min(1.0, p + (0.15 * (difficulty - 1) if t in ANGRY_TRAITS else 0.0))]
        style = tuple(drawn)
    if behaviours is None:
        odds = BEHAVIOUR_ODDS.get(difficulty, {})
        behaviours = tuple(b for b in BEHAVIOURS if rng.random() < odds.get(b, 0.0))
    return Manner(tuple(style), tuple(behaviours))


def incomplete_opening(opening: str, channel: str) -> tuple[str, str] | None:
    """(what the first message says, what comes with the next one), or None where people write it all down.
    Several sentences: the first alone (with a greeting before it). One sentence: a vague opener, the whole of
    it later."""
    if channel not in OPENERS:
        return None
    parts = sentences(opening.strip())
    if len(parts) >= 3 and len(parts[0].split()) < 3:  # "Hi." is not a first message: it goes with the next
        parts = [f"{parts[0]} {parts[1]}", *parts[2:]]
    if len(parts) >= 2 and len(parts[0].split()) >= 3:
        return parts[0], " ".join(parts[1:])
    rng = random.Random(f"opener:{opening}")
    return rng.choice(OPENERS[channel]), opening.strip()


def nudge(channel: str, waited_s: float | None, standard_s: float, seed: int) -> str:
    """ "hello??" when the trainee took longer than the standard on a live channel, else ""."""
    if channel not in LIVE or waited_s is None or waited_s <= standard_s:
        return ""
    return random.Random(f"nudge:{seed}").choice(NUDGES)


def extras(behaviours: Sequence[str], done: Sequence[str], frustration: float, replies: int, channel: str,
           seed: int, ending: bool) -> list[tuple[str, str]]:
    """(behaviour, what they add) for this turn: each at most once a session, when it fits the mood."""
    rng = random.Random(f"extras:{seed}")
    out: list[tuple[str, str]] = []
    if ending:
        return out
    if "off_topic" in behaviours and "off_topic" not in done and replies >= 1 and rng.random() < 0.4:
        out.append(("off_topic", rng.choice(ASIDES)))
    if "manager" in behaviours and "manager" not in done and frustration >= 0.6:
        out.append(("manager", rng.choice(MANAGER)))
    elif "threaten_public" in behaviours and "threaten_public" not in done and frustration >= 0.7:
        out.append(("threaten_public", rng.choice(THREATS_PUBLIC if channel in PUBLIC else THREATS)))
    return out
