"""How a persona writes: traits applied to a customer turn after the guards, so what it means is already fixed.

A scenario names its persona's traits (`persona.style`); each is a small, predictable change that never touches
a number, a reference, an amount or a name (what the guards made sure the turn keeps):

- lowercase: no capitals, except in references and acronyms ("ORD-48213", "ATM");
- no_final_stop: no full stop at the end (a question or exclamation mark stays);
- typos: one slip in a longer word (two letters swapped), some turns;
- fragments: drops the subject at the start of a sentence ("I've been waiting" -> "been waiting");
- emoji: an emoji for the mood at the end, on chat and social channels;
- caps_when_angry: one word in capitals when the customer is frustrated or angry;
- exclamations: "!!" instead of "!" and "??" instead of "?".

`apply_style(text, traits, mood, channel, seed)` is deterministic: the same seed gives the same turn.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

TRAITS = ("lowercase", "no_final_stop", "typos", "fragments", "emoji", "caps_when_angry", "exclamations")
EMOJI = {"calm": ("🙂", "👍"), "annoyed": ("🙄", "😒"), "frustrated": ("😤", "😩"), "angry": ("😡", "🤬")}
SOCIAL = ("live_chat", "social_public", "social_dm", "bot_handoff")
# A word the style must not touch: has a digit, a currency sign, or is an acronym or a capitalised name.
_PROTECTED = re.compile(r"[\d£$€@#]|^[A-Z]{2,}$")
_SUBJECT = re.compile(r"(^|(?<=[.!?]\s))(I'm|I've|I am|I have|It's|It is|It has|I'll) (?=[a-z])")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")


def apply_style(text: str, traits: Sequence[str], mood: str, channel: str, seed: int) -> str:
    if not traits or not text.strip():
        return text
    rng = random.Random(f"style:{seed}:{len(text)}")
    out = text
    if "fragments" in traits and rng.random() < 0.6:
        out = _SUBJECT.sub(lambda m: m.group(1), out, count=1)
        out = out[0].upper() + out[1:] if out and "lowercase" not in traits else out
    if "caps_when_angry" in traits and mood in ("frustrated", "angry"):
        out = _shout(out)
    if "typos" in traits and rng.random() < 0.3:  # a slip in some messages, not every one
        out = _typo(out, rng)
    if "exclamations" in traits:
        out = re.sub(r"(?<![!?])([!?])(?![!?])", lambda m: m.group(1) * 2, out)
    if "lowercase" in traits:
        out = _WORD.sub(lambda m: m.group(0) if _keep_case(m.group(0)) else m.group(0).lower(), out)
    if "no_final_stop" in traits:
        out = re.sub(r"(?<!\.)\.\s*$", "", out.rstrip())
    if "emoji" in traits and channel in SOCIAL:
        out = f"{out.rstrip()} {rng.choice(EMOJI.get(mood, EMOJI['annoyed']))}"
    return out


def _keep_case(word: str) -> bool:
    return bool(_PROTECTED.search(word)) or (len(word) > 1 and word.isupper())


def _shout(text: str) -> str:
    """The longest ordinary word in capitals ("I have waited FOUR days" style)."""
    words = [m for m in _WORD.finditer(text) if len(m.group(0)) >= 4 and not _PROTECTED.search(m.group(0))
             and not m.group(0)[0].isupper()]
    if not words:
        return text
    m = max(words, key=lambda x: len(x.group(0)))
    return text[:m.start()] + m.group(0).upper() + text[m.end():]


def _typo(text: str, rng: random.Random) -> str:
    """Two inner letters of one longer ordinary word swapped."""
    words = [m for m in _WORD.finditer(text) if len(m.group(0)) >= 6 and m.group(0).isalpha()
             and m.group(0).islower()]
    if not words:
        return text
    m = rng.choice(words)
    word = m.group(0)
    i = rng.randrange(1, len(word) - 2)
    slipped = word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return text[:m.start()] + slipped + text[m.end():]
