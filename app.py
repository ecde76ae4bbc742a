"""The support-dojo web app: Gradio UI only. `build_app(services) -> gr.Blocks`; `main()` launches it.

No business logic lives here: handlers call `services` and render what comes back. Every event has an
`api_name`, so `gradio_client` can drive the app exactly as the browser does. Text from trainees,
scenarios and the model is always rendered escaped, never as HTML.
"""

from __future__ import annotations

import html
import os

import gradio as gr

from scoring import scorecard as scorecards
from scoring.practice import ReplyError, Run, TurnResult
from scoring.services import Services, UnknownRunError
from simulator.channels import format_duration
from simulator.scenario import Scenario

CRITERION_TITLES = {"empathy": "Empathy", "ownership": "Ownership", "solution": "Solution", "follow_up": "Follow-up"}
CSS = """
.verdict-pass { color: #166534; } .verdict-fail { color: #991b1b; }
#dojo-feedback, #dojo-record { font-size: 0.92rem; }
"""


def esc(text: object) -> str:
    """Escape for Markdown/HTML display: the text shows as written, nothing in it runs or formats."""
    return html.escape(str(text), quote=False).replace("*", "\\*").replace("_", "\\_").replace("`", "\\`")


def scenario_choices(services: Services) -> list[tuple[str, str]]:
    rows = sorted(services.library, key=lambda s: (s.difficulty, s.channel.value, s.title))
    return [(f"{s.channel_spec.label} · level {s.difficulty} · {s.title}", s.id) for s in rows]


def render_record(scenario: Scenario) -> str:
    rec = scenario.customer_record
    lines = [f"### {esc(scenario.persona.name)}",
             f"**Channel:** {esc(scenario.channel_spec.label)} · respond within "
             f"{format_duration(scenario.response_standard_s)}"]
    for key, label in (("customer_id", "Customer"), ("tier", "Tier"), ("since", "Since"), ("notes", "Notes")):
        if rec.get(key):
            lines.append(f"**{label}:** {esc(rec[key])}")
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


def render_conversation(run: Run) -> list[dict]:
    out = []
    scenario = run.session.scenario
    for i, m in enumerate(run.session.messages):
        text = m.text
        if i == 0 and scenario.subject:
            text = f"Subject: {scenario.subject}\n\n{text}"
        stamp = format_duration(m.at) if m.at else "0 s"
        out.append({"role": "user" if m.role == "customer" else "assistant",
                    "content": f"{text}\n\n— {stamp}"})
    return out


def render_feedback(result: TurnResult) -> str:
    lines = ["### Your last reply"]
    for c, s in result.score.criteria.items():
        mark = "met" if s.verdict else "not met"
        lines.append(f"**{CRITERION_TITLES[c]}: {mark}** · {s.probability:.0%}  \n{esc(s.reason)}")
        if s.tip:
            lines.append(f"*Tip:* {esc(s.tip)}")
    if result.rules:
        lines.append("\n**Channel rules**")
        for r in result.rules:
            lines.append(f"- {'OK' if r.passed else '**Warning**'}: {esc(r.message)}")
    return "\n\n".join(x for x in lines if x)


def render_scorecard(run: Run) -> str:
    card = scorecards.build(run)
    lines = [f"## Scorecard: {esc(card.outcome or 'in progress')}",
             "| Criterion | Met | Mean probability |", "|---|---|---|"]
    for c, s in card.criteria.items():
        lines.append(f"| {CRITERION_TITLES[c]} | {s.met} / {s.replies} | {s.mean_probability:.0%} |")
    lines += ["", "| KPI | Value |", "|---|---|"]
    lines += [f"| {k} | {esc(v)} |" for k, v in card.kpi_rows()]
    return "\n".join(lines)


def build_app(services: Services) -> gr.Blocks:
    with gr.Blocks(title="support-dojo", analytics_enabled=False) as demo:
        gr.Markdown("# support-dojo\nPractise a customer conversation. Every reply is scored at once, with "
                    "the reason and a tip.")
        # The practice session id is a (hidden) component, not gr.State, so API clients see and send it
        # exactly as the browser does. Ownership of sessions is checked on the server (see services).
        run_id = gr.Textbox(visible=False, elem_id="dojo-run-id", label="session")
        with gr.Row():
            choices = scenario_choices(services)
            scenario_dd = gr.Dropdown(choices=choices, value=choices[0][1] if choices else None, label="Scenario",
                                      scale=4, elem_id="dojo-scenario")
            start_btn = gr.Button("Start", variant="primary", scale=1, elem_id="dojo-start")
        with gr.Row():
            with gr.Column(scale=1):
                record = gr.Markdown("Pick a scenario and press Start.", elem_id="dojo-record")
            with gr.Column(scale=2):
                conversation = gr.Chatbot(label="Conversation", height=460, elem_id="dojo-conversation",
                                          sanitize_html=True, feedback_options=None, buttons=["copy"])
                reply = gr.Textbox(label="Your reply", lines=3, elem_id="dojo-reply",
                                   placeholder="Write to the customer…")
                send_btn = gr.Button("Send", variant="primary", elem_id="dojo-send")
            with gr.Column(scale=1):
                feedback = gr.Markdown("", elem_id="dojo-feedback")
        card = gr.Markdown("", elem_id="dojo-scorecard")

        def start(scenario_id: str):
            if not scenario_id:
                raise gr.Error("Pick a scenario first.")
            try:
                run = services.start_run(scenario_id)
            except KeyError as exc:
                raise gr.Error(str(exc.args[0])) from None
            return {run_id: run.session.id, record: render_record(run.session.scenario),
                    conversation: render_conversation(run), feedback: "", card: "", reply: ""}

        def send(current: str, text: str):
            try:
                run = services.run(current)
                result = services.practice.reply(run, text)
            except (ReplyError, UnknownRunError) as exc:
                raise gr.Error(str(exc.args[0])) from None
            return {conversation: render_conversation(run), feedback: render_feedback(result),
                    card: render_scorecard(run) if run.session.ended else "", reply: ""}

        start_outputs = [run_id, record, conversation, feedback, card, reply]
        start_btn.click(start, inputs=[scenario_dd], outputs=start_outputs, api_name="start")
        # A visitor lands in a conversation: the first scenario starts when the page opens.
        demo.load(start, inputs=[scenario_dd], outputs=start_outputs, api_name=False)
        send_btn.click(send, inputs=[run_id, reply], outputs=[conversation, feedback, card, reply], api_name="reply")
        reply.submit(send, inputs=[run_id, reply], outputs=[conversation, feedback, card, reply],
                     api_name=False)
    return demo


def main(services: Services | None = None, host: str = "127.0.0.1", port: int = 7860,
         block: bool = True) -> gr.Blocks:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    services = services or Services.from_settings()
    demo = build_app(services)
    demo.queue(default_concurrency_limit=4)
    demo.launch(server_name=host, server_port=port, css=CSS, prevent_thread_lock=not block,
                show_error=True, footer_links=["api"])
    return demo


if __name__ == "__main__":
    main()
