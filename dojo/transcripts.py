"""Read conversations exported from help-desk tools (JSON lines or CSV) for the review queue.

One row per message: conversation id, role, text, timestamp; optionally the agent's name and the channel.
Column names as the common exports spell them are accepted (`conversation_id`, `ticket_id`, `role`,
`author_role`, `sender`, `text`, `body`, `message`, `timestamp`, `created_at`, `agent`, `channel`). Roles: the
agent's side (`agent`, `staff`, `operator`, `support`) and the customer's (`customer`, `end-user`, `end_user`,
`user`, `requester`, `contact`); `bot` messages are kept as context. Timestamps: ISO 8601 (a time without a
zone is UTC) or Unix seconds. Every bad row is reported by its row number, and a file with any bad row
imports nothing.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from scoring.inputs import InputError, json_objects, read_text
from simulator.channels import Channel

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_TEXT = 20_000
ALIASES = {
    "conversation_id": ("conversation_id", "conversation id", "conversation", "ticket_id", "ticket id", "ticket",
                        "thread_id"),
    "role": ("role", "author_role", "author role", "sender", "sender_type", "from"),
    "text": ("text", "body", "message", "content"),
    "timestamp": ("timestamp", "created_at", "created at", "time", "sent_at", "date"),
    "agent": ("agent", "agent_name", "assignee"),
    "channel": ("channel", "via"),
}
ROLES = {**dict.fromkeys(("agent", "staff", "operator", "support", "admin"), "agent"),
         **dict.fromkeys(("customer", "end-user", "end_user", "enduser", "user", "requester", "contact"), "customer"),
         "bot": "bot"}
CHANNELS = [c.value for c in Channel]


class TranscriptError(InputError):
    """Every problem in the file, one line each: FILE:row N: field: message."""


@dataclass(frozen=True)
class Message:
    role: str
    text: str
    at: datetime
    row: int


@dataclass
class Conversation:
    id: str
    channel: str
    agent: str | None = None
    messages: list[Message] = field(default_factory=list)

    @property
    def replies(self) -> int:
        return sum(m.role == "agent" for m in self.messages)


def parse_time(value: object) -> datetime:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int | float) or (isinstance(value, str) and value.strip().replace(".", "", 1).isdigit()):
        return datetime.fromtimestamp(float(value), UTC)
    if not isinstance(value, str) or not value.strip():
        raise ValueError
    when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _rows(path: Path, text: str) -> list[tuple[int, dict]] | list[str]:
    """(row number, fields by canonical name); or the problems that stop the file being read at all."""
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        header = {h.strip().lower(): h for h in (reader.fieldnames or [])}
        columns = {key: next((header[a] for a in names if a in header), None) for key, names in ALIASES.items()}
        missing = [k for k in ("conversation_id", "role", "text", "timestamp") if columns[k] is None]
        if missing:
            return [f"{path}: header: no {missing[0]} column (accepted names: {', '.join(ALIASES[missing[0]])})"]
        try:
            return [(n, {k: row.get(col) for k, col in columns.items() if col is not None})
                    for n, row in enumerate(reader, 2)]
        except csv.Error as exc:
            return [f"{path}:row {reader.line_num}: not valid CSV ({exc})"]
    rows: list[tuple[int, dict]] = []
    problems: list[str] = []
    for n, item in json_objects(text, "conversation_id, role, text, timestamp"):
        if isinstance(item, str):
            problems.append(f"{path}:row {n}: {item}")
            continue
        lower = {str(k).strip().lower(): v for k, v in item.items()}
        rows.append((n, {key: next((lower[a] for a in names if a in lower), None) for key, names in ALIASES.items()}))
    return problems or rows


def read_transcripts(path: Path, default_channel: str = "email") -> list[Conversation]:
    """Every conversation in the file, messages in time order. Raises TranscriptError listing every bad row."""
    try:
        text = read_text(path, MAX_FILE_BYTES)
    except InputError as exc:
        raise TranscriptError(exc.problems) from None
    parsed = _rows(path, text)
    if parsed and isinstance(parsed[0], str):
        raise TranscriptError(parsed)
    conversations: dict[str, Conversation] = {}
    problems: list[str] = []
    for n, row in parsed:
        where = f"{path}:row {n}"
        cid = row.get("conversation_id")
        cid = str(cid).strip() if isinstance(cid, str | int) and not isinstance(cid, bool) else ""
        if not cid or len(cid) > 200:
            problems.append(f"{where}: conversation_id: needs a non-empty id of at most 200 characters, got "
                            f"{row.get('conversation_id')!r}")
            continue
        role = ROLES.get(str(row.get("role") or "").strip().lower())
        if role is None:
            problems.append(f"{where}: role: {row.get('role')!r} is not agent, customer or bot "
                            f"(accepted: {', '.join(ROLES)})")
            continue
        body = row.get("text")
        if not isinstance(body, str) or not body.strip():
            problems.append(f"{where}: text: needs a non-empty string (conversation {cid!r})")
            continue
        if len(body) > MAX_TEXT:
            problems.append(f"{where}: text: {len(body)} characters; the limit is {MAX_TEXT} (conversation {cid!r})")
            continue
        try:
            at = parse_time(row.get("timestamp"))
        except (ValueError, OverflowError, OSError):
            problems.append(f"{where}: timestamp: {row.get('timestamp')!r} is not an ISO 8601 time or Unix seconds")
            continue
        channel = str(row.get("channel") or "").strip().lower()  # empty: the conversation's, else the default
        if channel and channel not in CHANNELS:
            problems.append(f"{where}: channel: {channel!r} is not one of {', '.join(CHANNELS)}")
            continue
        conv = conversations.setdefault(cid, Conversation(cid, ""))
        if channel and conv.channel and conv.channel != channel:
            problems.append(f"{where}: channel: {channel!r} but earlier rows of conversation {cid!r} say "
                            f"{conv.channel!r}")
            continue
        conv.channel = conv.channel or channel
        agent = str(row.get("agent") or "").strip()
        if agent and role == "agent":
            conv.agent = conv.agent or agent[:64]
        conv.messages.append(Message(role, body.replace("\x00", "").strip(), at, n))
    if problems:
        raise TranscriptError(problems)
    if not conversations:
        raise TranscriptError([f"{path}: no messages in the file"])
    for conv in conversations.values():
        conv.channel = conv.channel or default_channel
        conv.messages.sort(key=lambda m: (m.at, m.row))
    return list(conversations.values())
