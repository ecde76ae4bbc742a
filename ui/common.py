"""What every page of the app shares: escaping, the role check on each event, the criteria's titles."""

from __future__ import annotations

import html

import gradio as gr

from dojo.access import Access, AccessDenied
from simulator.channels import spec

CRITERION_TITLES = {"empathy": "Empathy", "ownership": "Ownership", "solution": "Solution", "follow_up": "Follow-up"}


def esc(text: object) -> str:
    """Escape for Markdown/HTML display: the text shows as written, nothing in it runs or formats."""
    escaped = html.escape(str(text), quote=False)
    for char in "*_`|":  # | too: trainee text must not end a Markdown table cell
        escaped = escaped.replace(char, "\\" + char)
    return escaped


def allowed(access: Access, request: gr.Request | None, permission: str):
    """The caller, if their role has `permission`; else the refusal, shown in the page or the API client."""
    try:
        return access.require(request, permission)
    except AccessDenied as exc:
        raise gr.Error(str(exc)) from None


def channel_words(channel: str) -> str:
    """A stored channel id in words ("live_chat" -> "Live chat")."""
    try:
        return spec(channel).label
    except ValueError:
        return channel.replace("_", " ")
