"""The channel's register around whatever the customer says, applied after phrasing, model or not.

An email has a greeting, the message, and a sign-off with the customer's name; live chat sometimes comes
as several short lines; a public post or DM is the message alone (the length guard keeps posts within
280 characters). Deterministic for a given seed, so a replayed session reads the same.
"""

from __future__ import annotations

import random
import re

from simulator.channels import Channel
from simulator.scenario import Scenario

GREETING = re.compile(r"^\s*(hi|hello|hey|dear|good (morning|afternoon|evening)|to whom)\b", re.I)
GREETINGS = {"calm": ("Hi,", "Hello,", "Hi there,"), "annoyed": ("Hello,", "Hi,"),
             "frustrated": ("Hello,", ""), "angry": ("",)}
SIGN_OFFS = {"calm": ("Thanks,", "Many thanks,", "Best wishes,"), "annoyed": ("Thanks,", "Regards,"),
             "frustrated": ("Regards,", ""), "angry": ("",)}


def frame(scenario: Scenario, state, text: str, first: bool, seed: int) -> str:
    """`state` is the customer's state (its `.mood`); `first`: the opening message of the session."""
    rng = random.Random(f"{scenario.id}:{seed}:{len(text)}")
    channel = scenario.channel
    if channel is Channel.EMAIL:
        return _email(scenario, state.mood, text, rng)
    if channel in (Channel.LIVE_CHAT, Channel.BOT_HANDOFF) and not first:
        return _chat_lines(text, rng)
    return text


def _email(scenario: Scenario, mood: str, text: str, rng: random.Random) -> str:
    name = scenario.persona.name
    first_name = name.split()[0]
    body = text.strip()
    signed = body.rstrip(" .!").endswith((first_name, name))
    if signed:  # the scenario wrote the sign-off into the line: put it on its own line
        cut = body.rstrip(" .!").rfind(name if body.rstrip(" .!").endswith(name) else first_name)
        body, signature = body[:cut].rstrip(), body[cut:].strip()
    else:
        signature = first_name
    greeting = "" if GREETING.match(body) else rng.choice(GREETINGS.get(mood, ("Hello,",)))
    sign_off = rng.choice(SIGN_OFFS.get(mood, ("Regards,",)))
    parts = [greeting, body, f"{sign_off}\n{signature}" if sign_off else signature]
    return "\n\n".join(p for p in parts if p)


def _chat_lines(text: str, rng: random.Random) -> str:
    """People on chat often hit Enter between thoughts: sometimes send each sentence on its own line."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]
    if len(sentences) >= 2 and rng.random() < 0.4:
        return "\n".join(sentences)
    return text
