"""What the trainee sees of a conversation, drawn the way each channel looks in a real contact-centre desk.

- Email: a thread of messages with From, To, Subject and the date each was sent.
- Live chat and bot hand-off: bubbles; a hand-off starts with the bot's conversation the trainee takes over.
  While the customer waits, a live timer counts against the channel's response-time standard.
- Public social post: the customer's post and the brand's replies under it, marked as seen by everyone,
  with each reply's length against the channel's limit.
- Social DM: a private message thread.

All text (the customer's, the trainee's, the scenario's) is escaped here: nothing in it runs or formats.
The live parts (the waiting timer, the reply's character count, local times) are updated in the browser
by `LIVE_JS`, from data attributes only; the server stays the source of truth for every time and score.
"""

from __future__ import annotations

import html
from datetime import datetime

from dojo.practice import Run
from dojo.progress import Progress
from simulator.channels import Channel, format_duration
from simulator.scenario import Scenario
from simulator.session import Message, Session, outcome_words
from ui.common import esc


def render_record(scenario: Scenario) -> str:
    """The customer record, history across channels, bot transcript and the scenario's articles (Markdown,
    escaped): what the trainee sees beside the conversation, and the reviewer beside the reply."""
    rec = scenario.customer_record
    lines = [f"### {esc(scenario.persona.name)}",
             f"**Channel:** {esc(scenario.channel_spec.label)} · respond within "
             f"{format_duration(scenario.response_standard_s)}"]
    for key, label in (("customer_id", "Customer"), ("tier", "Tier"), ("since", "Since"), ("notes", "Notes")):
        if rec.get(key):
            lines.append(f"\n**{label}:** {esc(rec[key])}")
    if rec.get("orders"):
        lines.append("\n**Orders and accounts**")
        lines += [f"- {esc(o['id'])}: {esc(o['item'])}" + (f" — {esc(o['status'])}" if o.get("status") else "")
                  for o in rec["orders"]]
    if rec.get("contacts"):
        lines.append("\n**History across channels**")
        lines += [f"- {esc(c['when'])} · {esc(c['channel'])}: {esc(c['summary'])}"
                  + (f" ({esc(c['status'])})" if c.get("status") else "") for c in rec["contacts"]]
    if scenario.bot_transcript:
        lines.append("\n**Bot transcript**")
        lines += [f"- *{esc(m['role'])}:* {esc(m['text'])}" for m in scenario.bot_transcript]
    if scenario.kb_articles:
        lines.append("\n**Knowledge base:** " + ", ".join(f"`kb:{esc(a)}`" for a in scenario.kb_articles))
    return "\n".join(lines)


def _text(text: str) -> str:
    """Escaped, with paragraphs and line breaks kept."""
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p.strip()).replace(chr(10), '<br>')}</p>" for p in paragraphs) or "<p></p>"


def _time(when: datetime, fmt: str) -> str:
    """A time shown in UTC by the server and in the trainee's own time zone once the page's script runs."""
    return (f'<time datetime="{when.isoformat()}" data-format="{fmt}">'
            f'{when.strftime("%a %d %b %Y, %H:%M UTC" if fmt == "date" else "%H:%M:%S UTC")}</time>')


def handle(name: str) -> str:
    """The customer's social handle, from their name: "Grace Whitfield" -> "@gracew"."""
    parts = [p for p in "".join(c if c.isalnum() or c == " " else " " for c in name.lower()).split() if p]
    if not parts:
        return "@customer"
    return "@" + parts[0] + (parts[-1][0] if len(parts) > 1 else "")


def _response(message: Message, standard_s: float) -> str:
    """An agent reply's response time against the standard."""
    if message.response_s is None:
        return ""
    late = message.response_s > standard_s
    over = f" (over the {format_duration(standard_s)} standard)" if late else ""
    return (f'<span class="dojo-rt{" dojo-late" if late else ""}">answered after '
            f"{format_duration(message.response_s)}{over}</span>")


def _waiting(session: Session, standard_s: float) -> str:
    """The footer while the customer waits: a live timer on the wall-clock channels, the time waited so far
    on the others (whose replies are sent at a declared, simulated time)."""
    if session.ended:
        return (f'<div class="dojo-ended">Conversation ended: {html.escape(outcome_words(session.outcome))}. '
                "Your scorecard is beside it.</div>")
    waited = session.response_seconds()
    spec = session.scenario.channel_spec
    if spec.uses_wall_clock:
        late = " dojo-late" if waited > standard_s else ""
        return (f'<div class="dojo-timer{late}" data-waited="{waited:.1f}" data-standard="{standard_s:.0f}">'
                f'Customer waiting <b class="dojo-timer-value">{format_duration(waited)}</b> · '
                f"standard {format_duration(standard_s)}</div>")
    first = session.agent_turns == 0
    return (f'<div class="dojo-timer-static">{"Waiting since it was sent" if first else "Customer waiting"}: '
            f"<b>{format_duration(waited)}</b> · standard {format_duration(standard_s)}. "
            "Choose below when your reply goes out.</div>")


def _charcount(max_chars: int, reply_box: str) -> str:
    return (f'<div class="dojo-charcount" data-max="{max_chars}" data-for="{reply_box}">Your reply: '
            f'<b class="dojo-charcount-value">0</b> / {max_chars} characters</div>')


def conversation_html(run: Run, reply_box: str = "dojo-reply", pending: str | None = None,
                      delay_s: float | None = None) -> str:
    """The conversation as the channel shows it. `reply_box`: the element id of the box the reply is
    written in, whose length the view counts live against the channel's limit. `pending`: a reply just
    sent, shown at once (at its send time: `delay_s`, a declared delay, or none for now) with the customer
    "typing" under it while the customer's answer is written."""
    session = run.session
    scenario = session.scenario
    spec = scenario.channel_spec
    standard = float(scenario.response_standard_s)
    name = html.escape(scenario.persona.name)
    view = {Channel.EMAIL: _email, Channel.SOCIAL_PUBLIC: _public}.get(spec.channel, _chat)
    messages = list(session.messages)
    if pending is not None:
        at = session.clock + session.response_seconds(delay_s)
        messages.append(Message("agent", pending, at))
    body = view(session, messages, name, standard)
    if pending is not None:
        foot = (f'<div class="dojo-typing" role="status">{name} is '
                f'{"writing back" if spec.channel == Channel.EMAIL else "typing"}'
                '<span class="dojo-dots"><i>.</i><i>.</i><i>.</i></span></div>')
    else:
        foot = _waiting(session, standard) + ("" if session.ended else _charcount(spec.max_chars, reply_box))
    return (f'<div class="dojo-view dojo-{spec.channel.value}" data-channel="{spec.channel.value}">{body}'
            f'<div class="dojo-foot">{foot}</div></div>')


def _email(session: Session, messages: list[Message], name: str, standard: float) -> str:
    subject = html.escape(session.scenario.subject or "(no subject)")
    parts = [f'<div class="dojo-head"><b>Email</b> · {subject} · answer within {format_duration(standard)}</div>']
    for i, m in enumerate(messages):
        customer = m.role == "customer"
        sender = f"{name} &lt;customer&gt;" if customer else "You &lt;support&gt;"
        recipient = "Support" if customer else name
        prefix = "" if i == 0 else "Re: "
        parts.append(
            f'<article class="dojo-msg dojo-email {"customer" if customer else "agent"}">'
            f'<header><div><b>From:</b> {sender}</div><div><b>To:</b> {recipient}</div>'
            f"<div><b>Subject:</b> {prefix}{subject}</div>"
            f'<div><b>Date:</b> {_time(session.sent_at(m), "date")} {"" if customer else _response(m, standard)}'
            f'</div></header><div class="dojo-body">{_text(m.text)}</div></article>')
    return "".join(parts)


def _public(session: Session, messages: list[Message], name: str, standard: float) -> str:
    spec = session.scenario.channel_spec
    who = handle(session.scenario.persona.name)
    parts = ['<div class="dojo-head dojo-public-warning"><b>Public post</b>: everyone can read this thread and '
             "your replies. Take personal details to a private message.</div>"]
    for i, m in enumerate(messages):
        customer = m.role == "customer"
        reply_to = "" if i == 0 else f'<div class="dojo-replying">Replying to {who if not customer else "@brand"}</div>'
        count = ""
        if not customer:
            over = " dojo-late" if len(m.text) > spec.max_chars else ""
            count = f'<span class="dojo-len{over}">{len(m.text)} / {spec.max_chars}</span>'
        author = (f'<b>{name}</b> <span class="dojo-handle">{who}</span>' if customer
                  else '<b>Brand Support</b> <span class="dojo-handle">@brand · you</span>')
        avatar = html.escape((session.scenario.persona.name[:1] or "?").upper()) if customer else "B"
        parts.append(
            f'<article class="dojo-msg dojo-post {"customer" if customer else "agent"}{" dojo-reply" if i else ""}">'
            f'<div class="dojo-avatar">{avatar}</div><div class="dojo-post-main">'
            f'<header>{author} · {_time(session.sent_at(m), "date")}</header>{reply_to}'
            f'<div class="dojo-body">{_text(m.text)}</div>'
            f'<footer>{"Public" if customer else "Public reply"} {count} '
            f'{"" if customer else _response(m, standard)}</footer></div></article>')
    return "".join(parts)


def _chat(session: Session, messages: list[Message], name: str, standard: float) -> str:
    """Live chat, bot hand-off and social DM: bubbles, the customer on the left, the trainee on the right."""
    scenario = session.scenario
    channel = scenario.channel_spec.channel
    if channel == Channel.SOCIAL_DM:
        head = (f"<b>Direct message</b> with {name} <span class=\"dojo-handle\">{handle(scenario.persona.name)}</span>"
                " · private")
    elif channel == Channel.BOT_HANDOFF:
        head = f"<b>Live chat</b> with {name} · handed over by the self-service bot"
    else:
        head = f"<b>Live chat</b> with {name}"
    parts = [f'<div class="dojo-head">{head} · answer within {format_duration(standard)}</div>']
    if scenario.bot_transcript:
        parts.append('<div class="dojo-bot-history">')
        for m in scenario.bot_transcript:
            role = "bot" if m.get("role") == "bot" else "customer"
            label = "Bot" if role == "bot" else name
            parts.append(f'<div class="dojo-bubble-row {role} dojo-earlier"><div class="dojo-bubble">'
                         f'<div class="dojo-who">{label}</div>{_text(str(m.get("text", "")))}</div></div>')
        collected = ", ".join(html.escape(f.replace("_", " ")) for f in scenario.bot_collected)
        parts.append(f'</div><div class="dojo-divider">Transferred to you'
                     f'{" · the bot already has: " + collected if collected else ""}</div>')
    for m in messages:
        customer = m.role == "customer"
        parts.append(
            f'<div class="dojo-bubble-row {"customer" if customer else "agent"}"><div class="dojo-msg dojo-bubble">'
            f'<div class="dojo-who">{name if customer else "You"}</div>{_text(m.text)}'
            f'<div class="dojo-stamp">{_time(session.sent_at(m), "time")} '
            f'{"" if customer else _response(m, standard)}</div></div></div>')
    return "".join(parts)


def transcript(run: Run) -> list[dict]:
    """The conversation for API clients: who wrote what, when (seconds on the session's clock), each reply's
    response time and scoring time, and how long each customer turn took to write."""
    session = run.session
    out = []
    for m in session.messages:
        item = {"role": m.role, "text": m.text, "at_s": round(m.at, 3), "sent_at": session.sent_at(m).isoformat()}
        if m.response_s is not None:
            item["response_s"] = round(m.response_s, 3)
        if m.scoring_ms is not None:
            item["scoring_ms"] = round(m.scoring_ms, 2)
        if m.role == "customer" and m.latency_ms is not None:
            item["latency_ms"] = round(m.latency_ms, 2)  # how long the customer's turn took to write
        out.append(item)
    return out


VIEW_CSS = """
.dojo-view { display: flex; flex-direction: column; gap: 8px; max-height: min(560px, 62vh); overflow-y: auto;
  padding: 4px; }
.dojo-typing { padding: 4px 8px; font-style: italic; opacity: 0.85; }
.dojo-dots i { font-style: normal; animation: dojo-blink 1.2s infinite; }
.dojo-dots i:nth-child(2) { animation-delay: 0.2s; } .dojo-dots i:nth-child(3) { animation-delay: 0.4s; }
@keyframes dojo-blink { 0%, 80%, 100% { opacity: 0.2; } 40% { opacity: 1; } }
.dojo-head { font-size: 0.9rem; padding: 6px 10px; border-radius: 6px; background: var(--block-background-fill);
  border: 1px solid var(--border-color-primary); }
.dojo-public-warning { border-color: #b45309; }
.dojo-msg p { margin: 0 0 0.5em 0; } .dojo-msg p:last-child { margin-bottom: 0; }
.dojo-email { border: 1px solid var(--border-color-primary); border-radius: 6px; }
.dojo-email header { font-size: 0.85rem; padding: 6px 10px; border-bottom: 1px solid var(--border-color-primary);
  background: var(--block-background-fill); }
.dojo-email.agent header { border-left: 4px solid #2563eb; }
.dojo-email.customer header { border-left: 4px solid #6b7280; }
.dojo-email .dojo-body { padding: 8px 10px; }
.dojo-post { display: flex; gap: 10px; border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: 8px; }
.dojo-post.dojo-reply { margin-left: 28px; }
.dojo-avatar { flex: none; width: 32px; height: 32px; border-radius: 50%; background: #6b7280; color: white;
  display: flex; align-items: center; justify-content: center; font-weight: bold; }
.dojo-post.agent .dojo-avatar { background: #2563eb; }
.dojo-post-main { flex: 1; } .dojo-post header, .dojo-post footer, .dojo-replying { font-size: 0.82rem; opacity: 0.85; }
.dojo-handle { opacity: 0.75; }
.dojo-bubble-row { display: flex; } .dojo-bubble-row.agent { justify-content: flex-end; }
.dojo-bubble { max-width: 78%; padding: 8px 12px; border-radius: 14px; background: var(--block-background-fill);
  border: 1px solid var(--border-color-primary); }
.dojo-bubble-row.agent .dojo-bubble { background: #dbeafe; color: #1e3a8a; border-color: #93c5fd; }
.dojo-bubble-row.bot .dojo-bubble { background: #f3f4f6; color: #374151; }
.dojo-earlier { opacity: 0.7; }
.dojo-who { font-size: 0.75rem; font-weight: bold; opacity: 0.8; }
.dojo-stamp { font-size: 0.72rem; opacity: 0.75; margin-top: 2px; }
.dojo-divider { text-align: center; font-size: 0.8rem; opacity: 0.8; border-top: 1px dashed var(--border-color-primary);
  padding-top: 4px; }
.dojo-foot { display: flex; justify-content: space-between; gap: 8px; font-size: 0.85rem; }
.dojo-timer, .dojo-timer-static, .dojo-ended { padding: 4px 8px; border-radius: 6px; background: #ecfdf5;
  color: #065f46; }
.dojo-timer.dojo-late { background: #fef2f2; color: #991b1b; }
.dojo-charcount { padding: 4px 8px; } .dojo-charcount.dojo-late { color: #991b1b; font-weight: bold; }
.dojo-heatmap { border-collapse: collapse; } .dojo-heatmap th, .dojo-heatmap td { padding: 4px 10px; text-align: center;
  border: 1px solid var(--border-color-primary); } .dojo-heatmap th[scope=row] { text-align: left; }
.dojo-heat.dojo-faded { opacity: 0.55; } .dojo-legend { font-size: 0.8rem; opacity: 0.8; }
.dojo-progress-chart { width: 100%; max-width: 900px; height: auto; }
.dojo-key { margin-right: 14px; white-space: nowrap; } .dojo-key i { display: inline-block; width: 12px;
  height: 12px; margin-right: 4px; vertical-align: -1px; border-radius: 2px; }
.dojo-rt { opacity: 0.85; } .dojo-late.dojo-rt, .dojo-len.dojo-late { color: #b91c1c; font-weight: bold; opacity: 1; }
"""

# Runs once when the page opens; every half second it moves the waiting timers on, counts the characters of
# the reply being written against the channel's limit, and shows times in the trainee's own time zone. Each
# conversation, as it is drawn, scrolls to its newest message.
LIVE_JS = """
() => {
  const fmt = (s) => s < 120 ? `${Math.round(s)} s` : s < 7200 ? `${Math.floor(s / 60)} min`
    : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  const tick = () => {
    document.querySelectorAll('.dojo-timer[data-waited]').forEach((el) => {
      if (!el.dataset.t0) el.dataset.t0 = String(Date.now() - parseFloat(el.dataset.waited) * 1000);
      const waited = (Date.now() - parseFloat(el.dataset.t0)) / 1000;
      el.querySelector('.dojo-timer-value').textContent = fmt(waited);
      el.classList.toggle('dojo-late', waited > parseFloat(el.dataset.standard));
    });
    document.querySelectorAll('.dojo-charcount[data-max]').forEach((el) => {
      const box = document.querySelector(`#${el.dataset.for} textarea`);
      const n = box ? box.value.length : 0;
      el.querySelector('.dojo-charcount-value').textContent = String(n);
      el.classList.toggle('dojo-late', n > parseInt(el.dataset.max, 10));
    });
    document.querySelectorAll('time[datetime]:not([data-local])').forEach((el) => {
      const when = new Date(el.getAttribute('datetime'));
      el.textContent = el.dataset.format === 'time' ? when.toLocaleTimeString()
        : when.toLocaleString(undefined, {weekday: 'short', day: 'numeric', month: 'short', year: 'numeric',
                                          hour: '2-digit', minute: '2-digit'});
      el.dataset.local = '1';
    });
  };
  // A conversation drawn anew (each message replaces it) opens at its newest message.
  const scroll = () => document.querySelectorAll('.dojo-view:not([data-scrolled])').forEach((el) => {
    el.scrollTop = el.scrollHeight;
    el.dataset.scrolled = '1';
  });
  new MutationObserver(scroll).observe(document.body, {childList: true, subtree: true});
  setInterval(() => { tick(); scroll(); }, 500);
}
"""


def _heat(value: float) -> str:
    """A colour for a skill estimate, from red (0) through amber to green (1); text stays readable."""
    hue = round(120 * max(0.0, min(1.0, value)))
    return f"background: hsl({hue}, 70%, 82%); color: #111827"


def heatmap_html(team: list[Progress], titles: dict[str, str]) -> str:
    """Trainers' view of the team: one row per agent, one cell per criterion, coloured by the skill estimate.
    A cell with little evidence (a wide interval) is drawn faded and says how many replies it rests on."""
    if not team:
        return "<p>No agent has a scored session yet.</p>"
    head = "".join(f"<th>{html.escape(t)}</th>" for t in titles.values())
    rows = []
    for report in team:
        cells = []
        for c in titles:
            e = report.criteria[c]
            low, high = e.interval
            faded = " dojo-faded" if high - low > 0.5 else ""
            cells.append(f'<td class="dojo-heat{faded}" style="{_heat(e.mean)}" data-criterion="{c}" '
                         f'title="{e.mean:.0%}, 90% interval {low:.0%}-{high:.0%}, {e.replies} replies">'
                         f"{e.mean:.0%}<small> ({e.replies})</small></td>")
        rows.append(f'<tr><th scope="row">{html.escape(report.agent)}</th><td>{report.sessions}</td>'
                    f'{"".join(cells)}</tr>')
    return (f'<table class="dojo-heatmap"><thead><tr><th>Agent</th><th>Sessions</th>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table><p class="dojo-legend">Skill estimate per criterion '
            "(scored replies in brackets); red is weak, green is strong, faded cells rest on little evidence. "
            "Hover a cell for its 90% interval.</p>")


# One colour per criterion, distinguishable in colour-blind palettes (Okabe-Ito).
SERIES_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")


def progress_svg(report: Progress, titles: dict[str, str]) -> str:
    """The skill estimate after each session as lines, one per criterion, each with its 90% interval as a
    shaded band. x: the sessions in order, numbered and dated; y: 0-100 %. Drawn on the server as SVG, so it
    needs no plotting library in the page and reads the same in every browser."""
    history = report.history
    if not history:
        return ('<p class="dojo-progress-empty">No scored session yet: your skill estimates appear here after '
                "your first reply.</p>")
    width, height, left, right, top, bottom = 760, 300, 48, 16, 14, 46
    span_x, span_y = width - left - right, height - top - bottom
    n = len(history)

    def x(i: int) -> float:
        return left + (span_x / 2 if n == 1 else span_x * i / (n - 1))

    def y(v: float) -> float:
        return top + span_y * (1 - max(0.0, min(1.0, v)))

    parts = [f'<svg class="dojo-progress-chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="Skill estimate after each session, with 90% intervals" '
             f'xmlns="http://www.w3.org/2000/svg" font-size="11">']
    for v in (0, 0.25, 0.5, 0.75, 1):  # y grid, in percent
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#d1d5db" '
                     f'stroke-width="1"/><text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" '
                     f'fill="currentColor">{v:.0%}</text>')
    step = max(1, -(-n // 12))  # at most about 12 labels on the x axis
    for i, p in enumerate(history):
        if i % step and i != n - 1:
            continue
        parts.append(f'<text x="{x(i):.1f}" y="{height - bottom + 16}" text-anchor="middle" fill="currentColor">'
                     f'#{i + 1}</text><text x="{x(i):.1f}" y="{height - bottom + 30}" text-anchor="middle" '
                     f'fill="currentColor" opacity="0.7">{p.started_at:%d %b}</text>')
    parts.append(f'<text x="{left + span_x / 2:.1f}" y="{height - 2}" text-anchor="middle" fill="currentColor" '
                 'opacity="0.8">session (number and date)</text>')
    legend = []
    for k, c in enumerate(titles):
        colour = SERIES_COLOURS[k % len(SERIES_COLOURS)]
        low = [p.intervals.get(c, (p.estimates[c], p.estimates[c]))[0] for p in history]
        high = [p.intervals.get(c, (p.estimates[c], p.estimates[c]))[1] for p in history]
        if n == 1:  # a band needs width: a short bar at the one session
            band = [(x(0) - 6, y(high[0])), (x(0) + 6, y(high[0])), (x(0) + 6, y(low[0])), (x(0) - 6, y(low[0]))]
        else:
            band = [(x(i), y(h)) for i, h in enumerate(high)] + [(x(i), y(lo)) for i, lo in reversed(list(
                enumerate(low)))]
        points = " ".join(f"{a:.1f},{b:.1f}" for a, b in band)
        parts.append(f'<polygon class="dojo-band" data-criterion="{c}" points="{points}" fill="{colour}" '
                     'fill-opacity="0.13" stroke="none"/>')
    for k, (c, title) in enumerate(titles.items()):
        colour = SERIES_COLOURS[k % len(SERIES_COLOURS)]
        line = " ".join(f"{x(i):.1f},{y(p.estimates[c]):.1f}" for i, p in enumerate(history))
        parts.append(f'<polyline class="dojo-line" data-criterion="{c}" points="{line}" fill="none" '
                     f'stroke="{colour}" stroke-width="2"/>')
        for i, p in enumerate(history):
            lo, hi = p.intervals.get(c, (p.estimates[c], p.estimates[c]))
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(p.estimates[c]):.1f}" r="3" fill="{colour}"><title>'
                         f'{html.escape(title)} after session {i + 1} ({p.started_at:%d %b %Y}): '
                         f'{p.estimates[c]:.0%}, 90% interval {lo:.0%}-{hi:.0%}</title></circle>')
        legend.append(f'<span class="dojo-key"><i style="background:{colour}"></i>{html.escape(title)}</span>')
    parts.append("</svg>")
    return (f'<div class="dojo-progress-figure">{"".join(parts)}<div class="dojo-legend">{"".join(legend)}'
            '<span class="dojo-key">shaded: the 90% interval (narrows as evidence grows)</span></div></div>')
