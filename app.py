"""The support-dojo web app: Gradio UI only. `build_app(services) -> gr.Blocks`; `main()` launches it.

No business logic lives here: handlers call `services` and render what comes back. Every event has an
`api_name`, so `gradio_client` can drive the app exactly as the browser does. Text from trainees,
scenarios and the model is always rendered escaped, never as HTML.
"""

from __future__ import annotations

import contextlib
import csv
import html
import os
from pathlib import Path

import gradio as gr

from dojo import progress as progresses
from dojo.access import Access, LoginLimiter
from dojo.practice import ReplyError, Run, TurnResult
from dojo.services import Services, SessionMovedOn, StorageUnavailable, UnknownRunError
from dojo.store import StoreError
from scoring import scorecard as scorecards
from scoring.channel_rules import FIX_RULES
from simulator.authoring import AuthoringError, Check, Draft, ScenarioStore
from simulator.channels import CHANNELS
from simulator.knowledge import Article
from simulator.scenario import ScenarioLibrary
from simulator.session import outcome_words
from simulator.settings import SettingError
from ui import qa, views
from ui.common import CRITERION_TITLES, allowed, channel_words, esc

CSS = """
.verdict-pass { color: #166534; } .verdict-fail { color: #991b1b; }
#dojo-feedback, #dojo-record { font-size: 0.92rem; }
""" + views.VIEW_CSS


DELAYS = [("now", 0), ("after 15 min", 900), ("after 1 h", 3600), ("after 4 h", 14400), ("after 20 h", 72000),
          ("after 30 h", 108000)]


ALL = "all"
CHANNEL_FILTER = [("All channels", ALL)] + [(spec.label, channel.value) for channel, spec in CHANNELS.items()]
LEVEL_FILTER = [("All levels", ALL), ("Level 1: patient, volunteers details", "1"), ("Level 2: average", "2"),
                ("Level 3: impatient, escalates fast", "3")]


def scenario_choices(services: Services, channel: str = ALL, level: str = ALL,
                     recommended: str | None = None) -> list[tuple[str, str]]:
    """The scenario picker's list: filtered by channel and level, the recommended scenario first and marked."""
    rows = [s for s in services.library if channel in (ALL, None, "", s.channel.value)
            and level in (ALL, None, "", str(s.difficulty))]
    rows.sort(key=lambda s: (s.id != recommended, s.difficulty, s.channel.value, s.title))
    return [(f"{s.channel_spec.label} · level {s.difficulty} · {s.title}"
             + (" · recommended for you" if s.id == recommended else ""), s.id) for s in rows]


def render_feedback(result: TurnResult) -> str:
    lines = ["### Your last reply"]
    for c, s in result.score.criteria.items():
        mark = "met" if s.verdict else "not met"
        lines.append(f"**{CRITERION_TITLES[c]}: {mark}** · {s.probability:.0%}  \n{esc(s.reason)}")
        if s.tip:
            lines.append(f"*Tip:* {esc(s.tip)}")
    fix_rules = {rule for rule, _ in FIX_RULES.values()}
    for title, rules in (("Channel rules", [r for r in result.rules if r.rule not in fix_rules]),
                         ("The fix", [r for r in result.rules if r.rule in fix_rules])):
        if not rules and title == "Channel rules":
            continue
        lines.append(f"\n**{title}**")
        if title == "The fix":
            lines.append(esc(describe_fix(result)))
        for r in rules:
            quote = f" (\"{esc(r.evidence)}\")" if not r.passed and r.evidence else ""
            lines.append(f"- {'OK' if r.passed else '**Warning**'}: {esc(r.message)}{quote}")
    return "\n\n".join(x for x in lines if x)


def describe_missing(missing: tuple[str, ...]) -> str:
    words = {"fact": "first find the {}", "cited": "cite kb:{}", "say": "say {}", "amount": "the amount is {}"}
    return "; ".join(words[k].format(v.replace("_", " ") if k == "fact" else v)
                     for k, v in (m.split(":", 1) for m in missing))


def describe_fix(result: TurnResult) -> str:
    """What the reply's fix was, against the scenario's accepted resolutions."""
    fix = result.customer.fix
    if fix.resolution:
        return f"Offered an accepted fix: {fix.resolution.replace('_', ' ')}."
    if fix.offered:
        return f"Offered {fix.offered.replace('_', ' ')}, but not complete: {describe_missing(fix.missing)}."
    return "No accepted fix offered in this reply."


def render_scorecard(run: Run) -> str:
    card = scorecards.build(run)
    verdict = "" if card.outcome != "resolved" else (" · clean success" if card.clean else " · with faults")
    lines = [f"## Scorecard: {esc(outcome_words(card.outcome))}{verdict}",
             "| Criterion | Met | Mean probability |", "|---|---|---|"]
    for c, s in card.criteria.items():
        lines.append(f"| {CRITERION_TITLES[c]} | {s.met} / {s.replies} | {s.mean_probability:.0%} |")
    lines += ["", "| KPI | Value |", "|---|---|"]
    lines += [f"| {k} | {esc(v)} |" for k, v in card.kpi_rows()]
    return "\n".join(lines)


def render_articles(articles: list[Article]) -> str:
    if not articles:
        return "No article matches. Try fewer or other words."
    return "\n\n---\n\n".join(f"**{esc(a.title)}** · cite as `{esc(a.citation)}`\n\n{esc_article(a.text)}"
                                 for a in articles)


def esc_article(text: str) -> str:
    """Articles are trainer-written Markdown from the repository: keep lists and bold, drop any HTML."""
    body = "\n".join(text.splitlines()[1:]).strip()
    return html.escape(body, quote=False)


def file_choices(store: ScenarioStore) -> list[tuple[str, str]]:
    """Every file in the library folder, invalid ones included (so a trainer can open and fix them)."""
    return [(f"{e.name} · " + (f"v{e.version} · {e.title}" if e.valid else "INVALID: open to see why"), e.name)
            for e in store.entries()]


def render_problems(check: Check) -> str:
    if check.valid:
        s = check.scenario
        return (f"**Valid.** {esc(s.title)} · {esc(s.channel_spec.label)} · level {s.difficulty} · "
                f"{len(s.beats)} beats · {len(s.facts)} facts. Ready to playtest and save.")
    lines = [f"**{len(check.problems)} problem{'s' if len(check.problems) > 1 else ''}**"]
    for p in check.problems:
        where = f"line {p.line}" if p.line else "file"
        lines.append(f"- {where}: `{esc(p.field or '(file)')}`: {esc(p.message)}")
    return "\n".join(lines)


def reply_turn(services: Services, run_id: str, text: str, delay_s: float | None = 0,
               user: str | None = None) -> tuple[Run, TurnResult]:
    """One trainee reply in a practice or playtest run. `delay_s`: the simulated time before sending (email
    and social); 0 or none = now, on the wall clock. Raises the service's one-line refusals."""
    run = services.run(run_id, user=user)
    return run, services.reply(run, text, delay_s=declared_delay(run, delay_s))


def declared_delay(run: Run, delay_s: float | None) -> float | None:
    """The page's "send after ..." choice: a simulated delay on email and social, none on the wall-clock
    channels (or for "now")."""
    simulated = not run.session.scenario.channel_spec.uses_wall_clock
    return float(delay_s) if simulated and delay_s else None


def reply_to(services: Services, run_id: str, text: str, delay_s: float | None = 0,
             user: str | None = None) -> tuple[Run, TurnResult]:
    """`reply_turn` for API clients: a refused reply is one error line."""
    try:
        return reply_turn(services, run_id, text, delay_s, user)
    except (ReplyError, UnknownRunError, StorageUnavailable, SessionMovedOn) as exc:
        raise gr.Error(str(exc.args[0])) from None


def build_app(services: Services, access: Access | None = None) -> gr.Blocks:
    """The app. Without `access`, local mode: one local user (admin), as `dojo serve` on 127.0.0.1 with
    no accounts. Every event checks the caller's role on the server, whatever the page shows."""
    access = access or Access(services.db, local=True)
    with gr.Blocks(title="support-dojo", analytics_enabled=False) as demo:
        gr.Markdown("# support-dojo\nPractise a customer conversation. Every reply is scored at once, with "
                    "the reason and a tip.")
        who = gr.Markdown("", elem_id="dojo-who")
        with gr.Tabs():
            with gr.Tab("Practice", id="practice"):
                scenario_dd = _practice_tab(demo, services, access)
            with gr.Tab("Progress", id="progress", elem_id="dojo-progress-tab") as progress_tab:
                _progress_tab(demo, services, access, progress_tab)
            # Gradio cannot hide a tab reliably, so a page a role may not use shows a notice instead of its
            # controls; its events are refused on the server either way.
            with gr.Tab("Review", id="review", elem_id="dojo-review-tab") as review_tab:
                review_notice = gr.Markdown("This page is for reviewers, trainers and admins.", visible=False,
                                            elem_id="dojo-review-notice")
                with gr.Column() as review_body:
                    qa.review_tab(demo, services, access, review_tab)
            with gr.Tab("Calibration", id="calibration", elem_id="dojo-calibration-tab") as calibration_tab:
                calibration_notice = gr.Markdown("This page is for QA leads (trainers and admins).", visible=False,
                                                 elem_id="dojo-calibration-notice")
                with gr.Column() as calibration_body:
                    qa.calibration_tab(demo, services, access, calibration_tab)
            with gr.Tab("Scenario editor", id="editor", elem_id="dojo-editor-tab"):
                editor_notice = gr.Markdown("This page is for trainers and admins.", visible=False,
                                            elem_id="dojo-editor-notice")
                with gr.Column() as editor_body:
                    _editor_tab(demo, services, access, scenario_dd)

        def whoami(request: gr.Request):
            user = access.user(request)
            mode = " (local mode: no accounts yet)" if access.local else ""
            review, edit = access.may(user, "review"), access.may(user, "edit_scenarios")
            lead = access.may(user, "lead_calibration")
            return {who: f"Signed in as **{esc(user.name)}** ({esc(user.role)}){mode}",
                    review_notice: gr.Markdown(visible=not review), review_body: gr.Column(visible=review),
                    calibration_notice: gr.Markdown(visible=not lead), calibration_body: gr.Column(visible=lead),
                    editor_notice: gr.Markdown(visible=not edit), editor_body: gr.Column(visible=edit)}

        demo.load(whoami, outputs=[who, review_notice, review_body, calibration_notice, calibration_body,
                                   editor_notice, editor_body], api_name=False)
    return demo


def _practice_tab(demo: gr.Blocks, services: Services, access: Access) -> gr.Dropdown:
    # The practice session id is a (hidden) component, not gr.State, so API clients see and send it
    # exactly as the browser does. Ownership of sessions is checked on the server (see services).
    run_id = gr.Textbox(visible=False, elem_id="dojo-run-id", label="session")
    # The reply being sent: shown at once, answered by the second step of the send (see below).
    pending = gr.Textbox(visible=False, elem_id="dojo-pending", label="sending")
    with gr.Row():
        channel_f = gr.Dropdown(choices=CHANNEL_FILTER, value=ALL, label="Channel", scale=1,
                                elem_id="dojo-filter-channel")
        level_f = gr.Dropdown(choices=LEVEL_FILTER, value=ALL, label="Difficulty", scale=1,
                              elem_id="dojo-filter-level")
        choices = scenario_choices(services)
        scenario_dd = gr.Dropdown(choices=choices, value=choices[0][1] if choices else None, label="Scenario",
                                  scale=4, elem_id="dojo-scenario")
        start_btn = gr.Button("Start", variant="primary", scale=1, elem_id="dojo-start")
    with gr.Row():
        # Sessions live in the database: any of the trainee's unfinished ones continues here, in any tab, on
        # any server of the cohort, after a restart. The page's address carries the open session too.
        mine = gr.Dropdown(choices=[], value=None, label="My unfinished sessions", scale=5,
                           elem_id="dojo-my-sessions")
        resume_btn = gr.Button("Resume", scale=1, elem_id="dojo-resume")
    start_error = gr.Markdown("", elem_id="dojo-start-error")  # why a Start or Resume could not open a session
    with gr.Row():
        with gr.Column(scale=1):
            record = gr.Markdown("Pick a scenario and press **Start**: the customer writes, and the response "
                                 "timer starts, only then.", elem_id="dojo-record")
            with gr.Accordion("Knowledge base", open=False, elem_id="dojo-kb"):
                kb_query = gr.Textbox(label="Search articles (press Enter)", placeholder="e.g. charged twice",
                                      elem_id="dojo-kb-query")
                kb_results = gr.Markdown("", elem_id="dojo-kb-results", max_height=420)
                with gr.Row():
                    kb_pick = gr.Dropdown(choices=[], label="Article", scale=3, elem_id="dojo-kb-pick")
                    kb_insert = gr.Button("Insert link", scale=1, elem_id="dojo-kb-insert")
                kb_note = gr.Markdown("", elem_id="dojo-kb-note")
        with gr.Column(scale=2):
            # The conversation as its channel shows it (escaped HTML, see ui/views.py); API clients get the
            # same conversation as data in `transcript`.
            conversation = gr.HTML("", elem_id="dojo-conversation", label="Conversation", padding=False)
            transcript = gr.JSON(visible=False, elem_id="dojo-transcript", label="transcript")
            reply = gr.Textbox(label="Your reply", lines=3, elem_id="dojo-reply",
                               placeholder="Write to the customer…")
            # What the trainee must fix before a reply goes out (empty, too long, the conversation is over):
            # said here, next to the box, which keeps the text. Never a blocking overlay.
            reply_error = gr.Markdown("", elem_id="dojo-reply-error")
            with gr.Row():
                # Email and social run on a simulated clock: the trainee may send "20 hours later".
                delay_dd = gr.Dropdown(choices=DELAYS, value=0, label="Send (simulated time)", scale=1,
                                       visible=False, elem_id="dojo-delay")
                send_btn = gr.Button("Send", variant="primary", elem_id="dojo-send", scale=3, interactive=False)
        with gr.Column(scale=1):
            card = gr.Markdown("", elem_id="dojo-scorecard")
            feedback = gr.Markdown("", elem_id="dojo-feedback")
            with gr.Accordion("Disagree with a verdict?", open=False, elem_id="dojo-dispute"):
                dispute_criterion = gr.Dropdown(choices=[(t, c) for c, t in CRITERION_TITLES.items()],
                                                label="Verdict on your last reply", elem_id="dojo-dispute-criterion")
                dispute_comment = gr.Textbox(label="Why", lines=2, elem_id="dojo-dispute-comment",
                                             placeholder="What the classifier missed")
                dispute_btn = gr.Button("Send to a reviewer", elem_id="dojo-dispute-send")
                dispute_status = gr.Markdown("", elem_id="dojo-dispute-status")
    # API clients send a reply in one call (`/reply`); the page sends it in two steps, so the trainee's
    # message shows at once. Both go through `reply_to` and the same checks.
    api_send = gr.Button(visible=False, elem_id="dojo-api-reply")

    def start(scenario_id: str, request: gr.Request):
        user = allowed(access, request, "practice")
        if not scenario_id:
            return {start_error: "**Not started:** pick a scenario first."}
        try:
            run = services.start_run(scenario_id, agent=user.name)
        except KeyError as exc:
            return {start_error: f"**Not started:** {esc(exc.args[0])}"}
        return shown(run)

    def shown(run: Run) -> dict:
        """The page for a session as it is now: a new one, or one continued where it stopped."""
        scenario = run.session.scenario
        articles = services.knowledge.search("", prefer=scenario.kb_articles)
        ended = run.session.ended
        return {run_id: run.session.id, record: views.render_record(scenario),
                conversation: views.conversation_html(run), transcript: views.transcript(run),
                feedback: render_feedback(run.results[-1]) if run.results else "",
                card: render_scorecard(run) if ended else "", reply: gr.Textbox(value="", interactive=not ended),
                kb_results: render_articles(articles),
                kb_pick: gr.Dropdown(choices=[(a.title, a.id) for a in articles],
                                     value=articles[0].id if articles else None),
                delay_dd: gr.Dropdown(value=0, visible=not scenario.channel_spec.uses_wall_clock),
                send_btn: gr.Button(interactive=not ended), reply_error: "", pending: "", start_error: ""}

    def resume(session_id: str, request: gr.Request):
        user = allowed(access, request, "practice")
        if not session_id:
            return {start_error: "**Not resumed:** pick one of your unfinished sessions first."}
        try:
            return shown(services.run(session_id, user=user.name))
        except UnknownRunError as exc:
            return {start_error: f"**Not resumed:** {esc(exc.args[0])}"}

    def opened(request: gr.Request):
        """A page opened on a session's address (a reload, a second tab) continues it. Otherwise nothing
        starts by itself: the recommended scenario is selected and waits for Start."""
        user = allowed(access, request, "practice")
        wanted = request.query_params.get("session") if request is not None else None
        if wanted:
            try:
                return shown(services.run(wanted, user=user.name))
            except UnknownRunError:
                pass  # ended elsewhere, another user's, or gone: the picker, as on a fresh page
        return {run_id: gr.skip()}

    def my_sessions(request: gr.Request):
        user = access.user(request)
        found = [f for f in services.sessions(user.name, unfinished=True) if f.resumable] if user else []
        return gr.Dropdown(choices=[(f"{f.scenario_id} · {f.replies} repl{'y' if f.replies == 1 else 'ies'} · "
                                     f"started {f.started_at:%d %b %H:%M} UTC", f.id) for f in found], value=None)

    def send(current: str, text: str, delay: float | None, request: gr.Request):
        """The API's reply: one call, refusals as errors."""
        user = allowed(access, request, "practice")
        run, result = reply_to(services, current, text, delay, user=user.name)
        return {conversation: views.conversation_html(run), transcript: views.transcript(run),
                feedback: render_feedback(result), card: render_scorecard(run) if run.session.ended else "",
                reply: ""}

    def echo(current: str, text: str, delay: float | None, request: gr.Request):
        """The page's first step: the reply shows at once, with the customer typing; or why it cannot go."""
        user = allowed(access, request, "practice")
        if not current:
            return {reply_error: "**Not sent:** press **Start** to open a conversation first.", pending: ""}
        try:
            run = services.run(current, user=user.name)
            text = services.practice.accept(run.session, text)
        except (ReplyError, UnknownRunError) as exc:
            return {reply_error: f"**Not sent:** {esc(exc.args[0])}.", pending: ""}
        return {conversation: views.conversation_html(run, pending=text, delay_s=declared_delay(run, delay)),
                reply: "", reply_error: "", pending: text, send_btn: gr.Button(interactive=False)}

    def deliver(current: str, text: str, delay: float | None, request: gr.Request):
        """The page's second step: the customer's answer and the feedback. A reply that could not be stored
        comes back into the box with the reason beside it."""
        user = allowed(access, request, "practice")
        if not text:
            return {pending: gr.skip()}  # the first step refused it and said why
        try:
            run, result = reply_turn(services, current, text, delay, user=user.name)
        except (ReplyError, UnknownRunError, StorageUnavailable, SessionMovedOn) as exc:
            out = {reply: text, pending: "", send_btn: gr.Button(interactive=True),
                   reply_error: f"**Not sent:** {esc(exc.args[0])}"}
            with contextlib.suppress(UnknownRunError, StorageUnavailable):
                out[conversation] = views.conversation_html(services.run(current, user=user.name))
            return out
        ended = run.session.ended
        return {conversation: views.conversation_html(run), transcript: views.transcript(run),
                feedback: render_feedback(result), card: render_scorecard(run) if ended else "",
                reply: gr.Textbox(interactive=not ended), pending: "", reply_error: "",
                send_btn: gr.Button(interactive=not ended), delay_dd: gr.Dropdown(value=0)}

    def search(current: str, query: str, request: gr.Request):
        user = allowed(access, request, "practice")
        try:
            prefer = services.run(current, user=user.name).session.scenario.kb_articles
        except UnknownRunError:
            prefer = ()
        found = services.knowledge.search(query or "", prefer=prefer)
        return {kb_results: render_articles(found),
                kb_pick: gr.Dropdown(choices=[(a.title, a.id) for a in found], value=found[0].id if found else None)}

    def insert_link(text: str, article_id: str, request: gr.Request):
        """The article's citation at the end of the reply being written (cited articles count as answers)."""
        allowed(access, request, "practice")
        if not article_id:
            return gr.skip(), "Search the knowledge base and pick an article first."
        citation = f"kb:{article_id}"
        return (text if citation in (text or "") else f"{(text or '').rstrip()} {citation}".strip()), ""

    def choices_for(channel: str, level: str, request: gr.Request):
        """The scenario list for the filters, the one recommended for this user first, marked and selected.
        (The current selection is not an input: gradio would refuse it against a list being replaced.)"""
        user = access.user(request)
        report = progresses.compute(user.name, services.db.scored_replies(user), services.library)
        best = report.recommendation.scenario_id if report.recommendation and report.replies else None
        found = scenario_choices(services, channel, level, recommended=best)
        return gr.Dropdown(choices=found, value=found[0][1] if found else None)

    def dispute(current: str, criterion: str, comment: str, request: gr.Request):
        """A trainee disputes a verdict on their last reply; it goes to the top of the review queue."""
        user = allowed(access, request, "practice")
        if criterion not in CRITERION_TITLES:
            return "**Not sent:** pick the verdict you disagree with.", gr.skip()
        try:
            services.db.add_dispute(current or "", user, criterion, comment)
        except StoreError as exc:
            return f"**Not sent:** {esc(exc)}", gr.skip()  # the comment stays in its box
        return f"Sent: a reviewer will look at the {CRITERION_TITLES[criterion].lower()} verdict.", ""

    dispute_btn.click(dispute, inputs=[run_id, dispute_criterion, dispute_comment],
                      outputs=[dispute_status, dispute_comment], api_name="dispute")

    start_outputs = [run_id, record, conversation, transcript, feedback, card, reply, kb_results, kb_pick,
                     delay_dd, send_btn, reply_error, pending, start_error]
    start_btn.click(start, inputs=[scenario_dd], outputs=start_outputs, api_name="start")
    # The recommended scenario (else the first) is selected when the page opens, from the library as it is
    # now (a trainer may have saved a new scenario since); a session's address continues that session.
    # The page marks itself ready once these have run (`body[data-dojo-ready]`; browser tests wait for it).
    demo.load(choices_for, inputs=[channel_f, level_f], outputs=[scenario_dd], api_name=False).then(
        opened, outputs=start_outputs, api_name=False).then(my_sessions, outputs=[mine], api_name=False).then(
        None, js="() => { document.body.dataset.dojoReady = '1'; return []; }")
    resume_btn.click(resume, inputs=[mine], outputs=start_outputs, api_name="resume")
    # The open session goes into the page's address, so that a reload or a copied link continues it.
    run_id.change(None, inputs=[run_id], outputs=None, js="""(id) => {
        const url = new URL(window.location.href);
        if (id) { url.searchParams.set("session", id); } else { url.searchParams.delete("session"); }
        window.history.replaceState(null, "", url);
        return [];
    }""")
    for f in (channel_f, level_f):
        f.input(choices_for, inputs=[channel_f, level_f], outputs=[scenario_dd], api_name=False)
    api_send.click(send, inputs=[run_id, reply, delay_dd], outputs=[conversation, transcript, feedback, card, reply],
                   api_name="reply")
    echo_outputs = [conversation, reply, reply_error, pending, send_btn]
    deliver_outputs = [conversation, transcript, feedback, card, reply, pending, reply_error, send_btn, delay_dd]
    # No progress overlay on the conversation or the feedback while the customer writes: the typing sign is
    # the progress. (gradio draws its tracker on Markdown outputs even with show_progress="hidden"; pointed
    # at the hidden `pending` box, it shows nowhere.)
    for trigger in (send_btn.click, reply.submit):
        trigger(echo, inputs=[run_id, reply, delay_dd], outputs=echo_outputs, api_name=False,
                show_progress="hidden", show_progress_on=[pending]).then(
            deliver, inputs=[run_id, pending, delay_dd], outputs=deliver_outputs, api_name=False,
            show_progress="hidden", show_progress_on=[pending]).then(my_sessions, outputs=[mine], api_name=False)
    kb_query.submit(search, inputs=[run_id, kb_query], outputs=[kb_results, kb_pick], api_name="kb_search")
    kb_insert.click(insert_link, inputs=[reply, kb_pick], outputs=[reply, kb_note], api_name="kb_insert")
    return scenario_dd


def plural(n: int, noun: str) -> str:
    """ "1 session", "2 sessions", "1 scored reply", "3 scored replies"."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun[:-1] + 'ies' if noun.endswith('y') else noun + 's'}"


def render_progress(report: progresses.Progress, library: ScenarioLibrary | None = None) -> str:
    titles = {s.id: s.title for s in library} if library is not None else {}
    lines = [f"### {esc(report.agent)}: {plural(report.sessions, 'session')}, {plural(report.replies, 'scored reply')}",
             "| Criterion | Skill estimate | 90% interval | Trend (last 3 sessions) |", "|---|---|---|---|"]
    for c, e in report.criteria.items():
        low, high = e.interval
        lines.append(f"| {CRITERION_TITLES[c]} | {e.mean:.0%} | {low:.0%} – {high:.0%} | {report.trend(c):+.0%} |")
    if report.by_channel:
        lines += ["", "| Channel | " + " | ".join(CRITERION_TITLES.values()) + " |", "|---" * 5 + "|"]
        for channel, per in report.by_channel.items():
            cells = " | ".join(f"{e.mean:.0%} ({e.replies} repl{'y' if e.replies == 1 else 'ies'})"
                               for e in per.values())
            lines.append(f"| {esc(channel_words(channel))} | {cells} |")
    if report.recommendation:
        r = report.recommendation
        lines += ["", f"**Next:** {esc(r.title)} ({esc(channel_words(r.channel))}, difficulty {r.difficulty}). "
                      f"{esc(r.reason)}"]
    if report.history:
        lines += ["", "**After each session** (newest first)", "",
                  "| # | When | Scenario | Channel | " + " | ".join(CRITERION_TITLES.values()) + " |", "|---" * 8 + "|"]
        for i, p in reversed(list(enumerate(report.history, 1))[-10:]):
            cells = " | ".join(f"{p.estimates[c]:.0%}" for c in CRITERION_TITLES)
            lines.append(f"| {i} | {p.started_at:%Y-%m-%d %H:%M} | {esc(titles.get(p.scenario_id, p.scenario_id))} | "
                         f"{esc(channel_words(p.channel))} | {cells} |")
    return "\n".join(lines)


def write_history_csv(report: progresses.Progress, path: Path) -> Path:
    """One row per session: the agent's per-criterion estimate after it."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["session", "scenario", "channel", "started_at", *CRITERION_TITLES])
        for p in report.history:
            writer.writerow([p.session_id, p.scenario_id, p.channel, p.started_at.isoformat(),
                             *(round(p.estimates[c], 4) for c in CRITERION_TITLES)])
    return path


def write_team_csv(team: list[progresses.Progress], path: Path) -> Path:
    """One row per agent and criterion: the estimate, its 90% interval and the replies it rests on."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["agent", "sessions", "criterion", "estimate", "low", "high", "replies"])
        for r in team:
            for c, e in r.criteria.items():
                low, high = e.interval
                writer.writerow([r.agent, r.sessions, c, round(e.mean, 4), round(low, 4), round(high, 4), e.replies])
    return path


def _progress_tab(demo: gr.Blocks, services: Services, access: Access, tab: gr.Tab) -> None:
    """Each agent's skill over time; trainers and reviewers also see the team."""
    import tempfile

    with gr.Row():
        agent_dd = gr.Dropdown(choices=[], label="Agent", scale=3, elem_id="dojo-progress-agent",
                               allow_custom_value=True)
        show_btn = gr.Button("Show progress", variant="primary", scale=1, elem_id="dojo-progress-show")
    plot = gr.HTML("", label="Skill estimate after each session", elem_id="dojo-progress-plot")
    summary = gr.Markdown("", elem_id="dojo-progress-summary")
    team = gr.HTML("", label="Team (agents × criteria)", elem_id="dojo-progress-team", visible=False)
    export = gr.File(label="Export (CSV)", elem_id="dojo-progress-csv", file_count="multiple")

    def agents(request: gr.Request):
        user = access.user(request)
        names = [u.name for u in services.db.users()] if access.may(user, "team_progress") else [user.name]
        return gr.Dropdown(choices=names, value=user.name)

    def show(agent: str, request: gr.Request):
        user = allowed(access, request, "own_progress")
        agent = (agent or user.name).strip()
        if agent != user.name:
            allowed(access, request, "team_progress")
        target = services.db.find_user(agent)
        if target is None:
            raise gr.Error(f"No agent {agent!r}.")
        report = progresses.compute(target.name, services.db.scored_replies(target), services.library)
        folder = Path(tempfile.mkdtemp(prefix="dojo-export-"))
        files = [str(write_history_csv(report, folder / f"progress-{target.name}.csv"))]
        heatmap = gr.HTML(visible=False)
        if access.may(user, "team_progress"):
            members = [progresses.compute(m.name, services.db.scored_replies(m)) for m in services.db.users()]
            members = [r for r in members if r.replies]
            heatmap = gr.HTML(views.heatmap_html(members, CRITERION_TITLES), visible=True)
            files.append(str(write_team_csv(members, folder / "team.csv")))
        return {summary: render_progress(report, services.library),
                plot: views.progress_svg(report, CRITERION_TITLES), team: heatmap, export: files}

    def mine(request: gr.Request):
        """The caller's own progress, drawn when the page opens and each time the tab is opened."""
        user = access.user(request)
        if not access.may(user, "own_progress"):
            return {summary: gr.skip()}
        return show(user.name, request)

    # Drawn on load, and again whenever the tab is opened (a session just practised is in it).
    demo.load(agents, outputs=[agent_dd], api_name=False).then(
        mine, outputs=[summary, plot, team, export], api_name=False, show_progress="minimal", show_progress_on=[plot])
    tab.select(show, inputs=[agent_dd], outputs=[summary, plot, team, export], api_name=False,
               show_progress="minimal", show_progress_on=[plot])
    show_btn.click(show, inputs=[agent_dd], outputs=[summary, plot, team, export], api_name="progress")


def _editor_tab(demo: gr.Blocks, services: Services, access: Access, practice_dd: gr.Dropdown) -> None:
    """Trainers: open a scenario file, edit with live validation, playtest the draft, save with a version bump."""
    store = services.store
    with gr.Row():
        file_dd = gr.Dropdown(choices=file_choices(store), label="Scenario file", scale=3,
                              elem_id="dojo-edit-file")
        open_btn = gr.Button("Open", scale=1, elem_id="dojo-edit-open")
        new_id = gr.Textbox(label="New scenario id", placeholder="e.g. damaged-sofa-email", scale=2,
                            elem_id="dojo-edit-new-id")
        new_btn = gr.Button("New from template", scale=1, elem_id="dojo-edit-new")
    # What was opened (file name and its fingerprint on disk): the save refuses if the file changed since.
    name_box = gr.Textbox(visible=False, elem_id="dojo-edit-name", label="file")
    print_box = gr.Textbox(visible=False, elem_id="dojo-edit-fingerprint", label="fingerprint")
    with gr.Row():
        with gr.Column(scale=3):
            editor = gr.Code(language="yaml", lines=28, max_lines=40, label="Scenario YAML",
                             elem_id="dojo-editor", interactive=True)
            problems = gr.Markdown("Open a scenario file, or start a new one from the template.",
                                   elem_id="dojo-edit-problems")
            with gr.Row():
                save_btn = gr.Button("Save (raises the version)", variant="primary", elem_id="dojo-edit-save")
            save_status = gr.Markdown("", elem_id="dojo-edit-status")
        with gr.Column(scale=2):
            gr.Markdown("### Playtest\nPlays the text in the editor, saved or not, against the real customer.")
            playtest_btn = gr.Button("Playtest this draft", elem_id="dojo-playtest")
            pt_run = gr.Textbox(visible=False, elem_id="dojo-pt-run-id", label="playtest session")
            pt_conversation = gr.HTML("", elem_id="dojo-pt-conversation", label="Playtest", padding=False)
            pt_transcript = gr.JSON(visible=False, elem_id="dojo-pt-transcript", label="transcript")
            pt_reply = gr.Textbox(label="Reply as the trainee", lines=2, elem_id="dojo-pt-reply")
            pt_send = gr.Button("Send", elem_id="dojo-pt-send")
            pt_feedback = gr.Markdown("", elem_id="dojo-pt-feedback")

    def opened(draft: Draft):
        return {name_box: draft.name, print_box: draft.fingerprint, editor: draft.text,
                problems: render_problems(store.check(draft.name, draft.text)),
                save_status: f"Opened {esc(draft.name)}." if draft.fingerprint else
                f"New file {esc(draft.name)} (not saved yet)."}

    def open_file(name: str, request: gr.Request):
        allowed(access, request, "edit_scenarios")
        try:
            return opened(store.open(name))
        except AuthoringError as exc:  # said beside the editor, whose text stays as it is
            return {save_status: f"**Not opened:** {esc(exc)}"}

    def new_file(scenario_id: str, request: gr.Request):
        allowed(access, request, "edit_scenarios")
        try:
            return opened(store.new((scenario_id or "").strip()))
        except AuthoringError as exc:
            return {save_status: f"**Not created:** {esc(exc)}"}

    def check(name: str, text: str, request: gr.Request):
        allowed(access, request, "edit_scenarios")
        return render_problems(store.check(name or "draft.yaml", text or ""))

    def save(name: str, fp: str, text: str, request: gr.Request):
        """A refused save says why beside the button; the text in the editor stays as it is."""
        allowed(access, request, "edit_scenarios")
        if not name:
            return {save_status: "**Not saved:** open a scenario file, or start a new one from the template, "
                                 "before saving."}
        try:
            saved = store.save(Draft(name, text or "", fp or ""))
        except AuthoringError as exc:
            return {save_status: f"**Not saved:** {esc(exc)}", problems: render_problems(store.check(name, text or ""))}
        services.reload_library()
        before = f"version {saved.previous_version} → " if saved.previous_version is not None else ""
        return {print_box: saved.draft.fingerprint, editor: saved.draft.text,
                problems: render_problems(store.check(name, saved.draft.text)),
                save_status: f"Saved {esc(name)}: {before}version {saved.version}.",
                file_dd: gr.Dropdown(choices=file_choices(store), value=name),
                practice_dd: gr.Dropdown(choices=scenario_choices(services))}

    def playtest(name: str, text: str, request: gr.Request):
        user = allowed(access, request, "edit_scenarios")
        result = store.check(name or "draft.yaml", text or "")
        if not result.valid:
            return {pt_feedback: f"**Cannot playtest yet:** fix the problems first: {esc(result.problems[0])}"}
        run = services.start_scenario(result.scenario, owner=user.name)  # a playtest is not practice: not stored
        return {pt_run: run.session.id, pt_conversation: views.conversation_html(run, "dojo-pt-reply"),
                pt_transcript: views.transcript(run), pt_feedback: "", pt_reply: ""}

    def playtest_reply(current: str, text: str, request: gr.Request):
        user = allowed(access, request, "edit_scenarios")
        if not current:
            return {pt_feedback: "**Not sent:** press **Playtest this draft** first."}
        try:
            run, result = reply_turn(services, current, text, user=user.name)
        except (ReplyError, UnknownRunError, StorageUnavailable, SessionMovedOn) as exc:
            return {pt_feedback: f"**Not sent:** {esc(exc.args[0])}."}
        return {pt_conversation: views.conversation_html(run, "dojo-pt-reply"), pt_transcript: views.transcript(run),
                pt_reply: "",
                pt_feedback: render_feedback(result) + (
                    f"\n\n**Session ended: {esc(outcome_words(run.session.outcome))}**" if run.session.ended else "")}

    def files(request: gr.Request):
        user = access.user(request)
        return gr.Dropdown(choices=file_choices(store) if access.may(user, "edit_scenarios") else [])

    demo.load(files, outputs=[file_dd], api_name=False)
    opened_outputs = [name_box, print_box, editor, problems, save_status]
    open_btn.click(open_file, inputs=[file_dd], outputs=opened_outputs, api_name="open_scenario")
    new_btn.click(new_file, inputs=[new_id], outputs=opened_outputs, api_name="new_scenario")
    editor.input(check, inputs=[name_box, editor], outputs=[problems], api_name="check_scenario",
                 trigger_mode="always_last", show_progress="hidden")
    save_btn.click(save, inputs=[name_box, print_box, editor],
                   outputs=[print_box, editor, problems, save_status, file_dd, practice_dd], api_name="save_scenario")
    playtest_btn.click(playtest, inputs=[name_box, editor],
                       outputs=[pt_run, pt_conversation, pt_transcript, pt_feedback, pt_reply], api_name="playtest")
    pt_outputs = [pt_conversation, pt_transcript, pt_reply, pt_feedback]
    pt_send.click(playtest_reply, inputs=[pt_run, pt_reply], outputs=pt_outputs, api_name="playtest_reply")
    pt_reply.submit(playtest_reply, inputs=[pt_run, pt_reply], outputs=pt_outputs, api_name=False)


def main(services: Services | None = None, host: str = "127.0.0.1", port: int = 7860,
         block: bool = True) -> gr.Blocks:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    services = services or Services.from_settings()
    limiter = LoginLimiter(services.settings.login_max_failures, services.settings.login_lockout_s)
    access = Access.for_server(services.db, host, limiter)  # refuses a public address without accounts
    demo = build_app(services, access)
    if services.settings.queue_concurrency < 1:
        raise SettingError(f"DOJO_QUEUE_CONCURRENCY={services.settings.queue_concurrency}: use 1 or more")
    demo.queue(default_concurrency_limit=services.settings.queue_concurrency)
    demo.launch(server_name=host, server_port=port, css=CSS, js=views.LIVE_JS, prevent_thread_lock=not block,
                show_error=True, footer_links=["api"], auth=None if access.local else access.authenticate,
                auth_message="support-dojo: log in with the account your admin gave you.")
    return demo


if __name__ == "__main__":
    main()
