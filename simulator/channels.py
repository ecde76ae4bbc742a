"""Channels: the five digital channels a trainee practises on, and what each one expects.

Response-time standards come from the domain seed: live chat under a minute, social media within a
few hours (2-4 h; we use 2 h for public posts and DMs), email within 24 hours. A bot hand-off is a live
conversation, so it takes the live-chat standard. A scenario may override the standard.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Channel(StrEnum):
    EMAIL = "email"
    LIVE_CHAT = "live_chat"
    SOCIAL_PUBLIC = "social_public"
    SOCIAL_DM = "social_dm"
    BOT_HANDOFF = "bot_handoff"


@dataclass(frozen=True)
class ChannelSpec:
    channel: Channel
    label: str
    response_standard_s: int
    public: bool
    max_chars: int
    uses_wall_clock: bool
    register: str

    @property
    def standard_text(self) -> str:
        return format_duration(self.response_standard_s)


CHANNELS: dict[Channel, ChannelSpec] = {
    Channel.EMAIL: ChannelSpec(
        Channel.EMAIL, "Email", 24 * 3600, public=False, max_chars=1500, uses_wall_clock=False,
        register="an email: a greeting, one or two short paragraphs, and a sign-off with the name"),
    Channel.LIVE_CHAT: ChannelSpec(
        Channel.LIVE_CHAT, "Live chat", 60, public=False, max_chars=300, uses_wall_clock=True,
        register="a live chat message: short and informal, one or two sentences"),
    Channel.SOCIAL_PUBLIC: ChannelSpec(
        Channel.SOCIAL_PUBLIC, "Public social post", 2 * 3600, public=True, max_chars=280,
        uses_wall_clock=False, register="a public social media post: under 280 characters, addressed to the brand"),
    Channel.SOCIAL_DM: ChannelSpec(
        Channel.SOCIAL_DM, "Social DM", 2 * 3600, public=False, max_chars=400, uses_wall_clock=False,
        register="a private direct message: short, one to three sentences"),
    Channel.BOT_HANDOFF: ChannelSpec(
        Channel.BOT_HANDOFF, "Bot hand-off", 60, public=False, max_chars=300, uses_wall_clock=True,
        register="a live chat message after talking to a bot: short, one or two sentences"),
}


def spec(channel: Channel | str) -> ChannelSpec:
    return CHANNELS[Channel(channel)]


def format_duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h" if rest < 60 else f"{hours} h {rest // 60} min"
