"""The QA pages: the reviewers' page (blind calibration rounds and the review queue) and the lead's page
(create rounds, read their statistics, record consensus, retrain, compare, accept).

Blindness is enforced on the server: a reviewer's events return only their own labels; a round's
statistics and the other reviewers' labels are refused until every reviewer has submitted; the
classifier's verdict on a reply is returned only with the reply's saved labels.
"""

from __future__ import annotations

import gradio as gr

from dojo.access import Access
from dojo.calibration import CalibrationError, RoundReport
from dojo.services import Services
from dojo.store import LABELS, NA, StoreError
from scoring import classifier
from scoring.classifier import NoScorerError
from ui import views
from ui.common import CRITERION_TITLES, allowed, channel_words, esc

# Lists filled per user when the page loads (rounds, replies, reviewers, versions) are dropdowns that take
# any value: API clients never load the page, and the server checks every value it is given anyway.

CHOICES = [("met", "met"), ("not met", "not met"), ("n/a", "n/a")]
TO_LABEL = {"met": 1, "not met": 0, "n/a": NA}
FROM_LABEL = {v: k for k, v in TO_LABEL.items()}


def check_ids(**values: object) -> None:
    """Ids typed or sent by an API client: a number, or a one-line refusal (never a stack trace)."""
    for name, value in values.items():
        if value not in (None, "") and not str(value).strip().isdigit():
            raise gr.Error(f"{name.replace('_', ' ')} {value!r} is not a number")


def labels_from(values: list[str | None]) -> dict[str, int]:
    missing = [CRITERION_TITLES[c] for c, v in zip(CRITERION_TITLES, values, strict=True) if v not in TO_LABEL]
    if missing:
        raise gr.Error(f"Choose met, not met or n/a for {', '.join(missing)}.")
    return {c: TO_LABEL[v] for c, v in zip(CRITERION_TITLES, values, strict=True)}


def _quote(text: str) -> str:
    """A message as a Markdown quote, its line breaks kept, escaped."""
    return "\n".join(f"> {esc(line)}" if line.strip() else ">" for line in (text or "").splitlines()) or "> (empty)"


def render_reply(turn, context: str, position: str = "", turns: list | None = None) -> str:
    """The reply under review, then the whole conversation it belongs to with the reply marked (a solution
    or a follow-up can only be judged against what the customer asked). `turns`: the session's turns in order;
    without them, the customer message it answers (`context`)."""
    head = f"**Reply {position}** · " if position else ""
    lines = [f"{head}{esc(channel_words(turn.channel))} · reply id {turn.id}", "", "**The reply under review:**",
             "", _quote(turn.text), ""]
    if not turns:
        return "\n".join([*lines, "**The customer's message before it:**", "", _quote(context or "(none)")])
    lines += [f"**The whole conversation** ({len(turns)} messages)", ""]
    for t in turns:
        who = "Customer" if t.role == "customer" else "Agent"
        if t.id == turn.id:
            lines += [f"**▶ {who}, message {t.index + 1}: the reply under review**", "", _quote(t.text), ""]
        else:
            later = " (after the reply under review)" if t.index > turn.index else ""
            lines += [f"*{who}, message {t.index + 1}{later}:*", "", _quote(t.text), ""]
    return "\n".join(lines)


def render_context(services: Services, turn_id: int, position: str = "") -> tuple[str, str]:
    """(the reply with its conversation, the customer record) for a stored reply."""
    found = services.review_context(turn_id)
    if found is None:
        return f"No stored reply {turn_id}.", ""
    scenario, row, turns = found
    turn = next(t for t in turns if t.id == turn_id)
    if scenario is not None:
        record = views.render_record(scenario)
    elif row.source == "import":
        record = (f"**Imported conversation** {esc(row.external_id or '')}: no customer record came with it; "
                  "judge the reply on the conversation.")
    else:
        record = f"Scenario {esc(row.scenario_id)} is no longer in the library; its customer record is not available."
    return render_reply(turn, "", position, turns), record


def _fmt(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.2f}"


def render_report(report: RoundReport, texts: dict[int, str], notes: dict[int, dict[str, str]]) -> str:
    lines = [f"### Agreement: {len(report.raters)} reviewers ({esc(', '.join(report.raters))}), "
             f"{len(report.items)} replies",
             "| Criterion | % agreement | Cohen's κ (each pair) | mean κ | Fleiss' κ | Krippendorff's α | "
             "classifiers vs consensus κ |", "|---|---|---|---|---|---|---|"]
    for c, a in report.agreement.items():
        pairs = "; ".join(f"{esc(p.a)}–{esc(p.b)} {_fmt(p.cohen_kappa)}" for p in a.pairwise)
        percent = "undefined" if a.percent_agreement is None else f"{a.percent_agreement:.0%}"
        model = (f"{_fmt(report.model_kappa[c])} (n={report.model_n[c]})" if report.model_n[c]
                 else "no consensus yet")
        lines.append(f"| {CRITERION_TITLES[c]} | {percent} | {pairs} | {_fmt(a.mean_cohen_kappa)} | "
                     f"{_fmt(a.fleiss_kappa)} | {_fmt(a.krippendorff_alpha)} | {model} |")
    for c, why in report.undefined.items():
        lines.append(f"\n*{CRITERION_TITLES[c]}: undefined statistics: {esc(why)}.*")
    lines.append("\nKappa and alpha correct for chance: 1 is perfect agreement, 0 is what chance alone gives. "
                 "\"n/a\" counts as a label of its own.")
    if report.splits:
        lines += ["", f"### To discuss: {len(report.splits)} split decisions", "",
                  "| Reply | Criterion | Labels | Text | Comments |", "|---|---|---|---|---|"]
        for sp in report.splits:
            labels = ", ".join(f"{esc(r)}: {LABELS[v]}" for r, v in sp.labels.items())
            text = texts.get(sp.turn_id, "")
            said = "; ".join(f"{esc(r)}: {esc(n)}" for r, n in notes.get(sp.turn_id, {}).items())
            flat = " ".join(text.split())  # a table cell is one line: an email's line breaks would end the row
            lines.append(f"| {sp.turn_id} | {CRITERION_TITLES[sp.criterion]} | {labels} | "
                         f"{esc(flat[:140] + ('…' if len(flat) > 140 else ''))} | {' '.join(said.split())} |")
    else:
        lines.append("\nThe reviewers agreed on every label.")
    return "\n".join(lines)


def render_comparison(comparison) -> str:
    lines = [f"**{esc(comparison.after)}** against **{esc(comparison.before or '(no active model)')}** on the "
             f"fixed gold set ({comparison.n} replies, the test split of the labeled files):", "",
             "| Criterion | κ before | κ after | macro-F1 before | macro-F1 after |", "|---|---|---|---|---|"]
    for c, r in comparison.criteria.items():
        lines.append(f"| {CRITERION_TITLES[c]} | {_fmt(r.kappa_before)} | {_fmt(r.kappa_after)} | "
                     f"{_fmt(r.f1_before)} | {_fmt(r.f1_after)} |")
    lines.append("\n" + ("It agrees at least as well on average." if comparison.better else
                         "**It agrees less well on average**: accept only if the consensus says it is right."))
    return "\n".join(lines)


def version_choices(services: Services) -> list[tuple[str, str]]:
    return [(f"{c['version']}{' (active)' if c['active'] else ''} · {c.get('trained_at', '')}", c["version"])
            for c in classifier.versions(services.scorers_dir)]


# --- the reviewers' page -------------------------------------------------------------------------------

def review_tab(demo: gr.Blocks, services: Services, access: Access, tab: gr.Tab | None = None) -> None:
    db = services.db
    gr.Markdown("### Calibration rounds\nLabel every reply of the round on your own: you see neither the other "
                "reviewers' labels nor the classifier's until everyone has submitted.")
    with gr.Row():
        round_dd = gr.Dropdown(choices=[], label="Your rounds", scale=3, elem_id="dojo-round-pick",
                               allow_custom_value=True)
        round_open = gr.Button("Open round", scale=1, elem_id="dojo-round-open")
    round_id = gr.Textbox(visible=False, elem_id="dojo-round-id", label="round")
    item_pos = gr.Number(value=0, visible=False, elem_id="dojo-round-pos", label="position", precision=0)
    with gr.Row():
        round_reply = gr.Markdown("", elem_id="dojo-round-reply", max_height=560)
        round_record = gr.Markdown("", elem_id="dojo-round-record", max_height=560)
    with gr.Row():
        round_radios = [gr.Radio(CHOICES, label=title, elem_id=f"dojo-round-{c}")
                        for c, title in CRITERION_TITLES.items()]
    round_comment = gr.Textbox(label="Comment (optional)", lines=1, elem_id="dojo-round-comment")
    with gr.Row():
        round_save = gr.Button("Save and next", variant="primary", elem_id="dojo-round-save")
        round_skip = gr.Button("Skip for now", elem_id="dojo-round-skip")
        round_submit = gr.Button("Submit the round", elem_id="dojo-round-submit")
    round_status = gr.Markdown("", elem_id="dojo-round-status")

    gr.Markdown("### Review queue\nStored replies, disputed ones first. The classifier's verdicts appear after "
                "you save your labels.")
    with gr.Row():
        next_btn = gr.Button("Next reply to review", elem_id="dojo-review-next")
        skip_btn = gr.Button("Skip this one", elem_id="dojo-review-skip")
    turn_box = gr.Textbox(visible=False, elem_id="dojo-review-turn", label="reply id")
    skipped = gr.Textbox(value="", visible=False, elem_id="dojo-review-skipped", label="skipped reply ids")
    with gr.Row():
        shown = gr.Markdown("", elem_id="dojo-review-reply", max_height=560)
        shown_record = gr.Markdown("", elem_id="dojo-review-record", max_height=560)
    with gr.Row():
        radios = [gr.Radio(CHOICES, label=title, elem_id=f"dojo-review-{c}") for c, title in CRITERION_TITLES.items()]
    comment = gr.Textbox(label="Comment (optional)", lines=2, elem_id="dojo-review-comment")
    save_btn = gr.Button("Save labels", variant="primary", elem_id="dojo-review-save")
    status = gr.Markdown("", elem_id="dojo-review-status")

    def my_rounds(request: gr.Request):
        user = access.user(request)
        if not access.may(user, "review"):
            return gr.Dropdown(choices=[])
        rows = db.rounds_for(user)
        return gr.Dropdown(choices=[(f"#{r.id} {r.name} · " + ("submitted" if at else "to do"), str(r.id))
                                    for r, at in rows], value=str(rows[0][0].id) if rows else None)

    def show_item(rid: str, position: int, user) -> dict:
        items = db.round_items(int(rid))
        position = max(0, min(int(position), len(items) - 1))
        turn, _context = db.turns([items[position]])[items[position]]
        labeled = db.round_labels_of(int(rid), user)
        mine = labeled.get(turn.id, {})
        done = sum(len(v) == len(CRITERION_TITLES) for v in labeled.values())
        note = db.round_notes(int(rid)).get(turn.id, {}).get(user.name, "")
        text, record = render_context(services, turn.id, f"{position + 1} of {len(items)}")
        return {round_id: rid, item_pos: position, round_reply: text, round_record: record,
                **{r: FROM_LABEL.get(mine.get(c)) for r, c in zip(round_radios, CRITERION_TITLES, strict=True)},
                round_comment: note, round_status: f"{done} of {len(items)} replies labeled."}

    def reviewer_in(rid: str, request: gr.Request, missing: str):
        """The caller, if they review round `rid`; else the one-line refusal (`missing`: no round given)."""
        user = allowed(access, request, "review")
        check_ids(round=rid)
        if not rid:
            raise gr.Error(missing)
        if int(rid) not in {r.id for r, _ in db.rounds_for(user)}:
            raise gr.Error(f"You are not a reviewer in round {rid}.")
        return user

    def open_round(rid: str, request: gr.Request):
        return show_item(rid, 0, reviewer_in(rid, request, "You have no calibration round to label."))

    def save_item(rid: str, position: int, empathy: str | None, ownership: str | None, solution: str | None,
                  follow_up: str | None, note: str, request: gr.Request):
        values = [empathy, ownership, solution, follow_up]
        user = allowed(access, request, "review")
        check_ids(round=rid)
        if not rid:
            raise gr.Error("Open a round first.")
        mine = next((at for r, at in db.rounds_for(user) if r.id == int(rid)), "absent")
        if mine == "absent":
            raise gr.Error(f"You are not a reviewer in round {rid}.")
        items = db.round_items(int(rid))
        pos = int(position or 0)
        if not 0 <= pos < len(items):
            raise gr.Error(f"position {pos}: round {rid} has replies 0 to {len(items) - 1}")
        # What the reviewer can put right is said beside the buttons; the labels chosen stay as they are.
        if mine is not None:
            return {round_status: "**Not saved:** you have submitted this round; its labels are final."}
        try:
            db.add_review(items[pos], user, labels_from(values), round_id=int(rid), comment=note)
        except (gr.Error, StoreError) as exc:
            return {round_status: f"**Not saved:** {esc(getattr(exc, 'message', None) or exc)}"}
        return show_item(rid, (pos + 1) % len(items), user)

    def skip_item(rid: str, position: int, request: gr.Request):
        """The next reply of the round, this one left as it is (labeled or not) to come back to."""
        user = reviewer_in(rid, request, "Open a round first.")
        return show_item(rid, (int(position or 0) + 1) % len(db.round_items(int(rid))), user)

    def submit(rid: str, request: gr.Request):
        user = allowed(access, request, "review")
        check_ids(round=rid)
        if not rid:
            raise gr.Error("Open a round first.")
        try:
            db.submit_round(int(rid), user, tuple(CRITERION_TITLES))
        except StoreError as exc:
            raise gr.Error(str(exc)) from None
        waiting = [n for n, at in db.round_raters(int(rid)) if at is None]
        return (f"Submitted round {esc(rid)}. " + (f"Waiting for {esc(', '.join(waiting))}." if waiting else
                                                   "Everyone has submitted: the lead can open the results."))

    def skip_ids(text: str) -> tuple[int, ...]:
        return tuple(int(t) for t in (text or "").split(",") if t.strip().isdigit())

    def next_reply(passed: str, request: gr.Request):
        """The next reply in the queue, with its conversation and customer record; `passed`: the ids skipped
        so far in this page (comma-separated), which come back after a reload."""
        user = allowed(access, request, "review")
        found = db.next_to_review(user, skip=skip_ids(passed))
        if found is None:
            done = "Nothing left to review." + (" (Replies you skipped come back after a reload.)" if passed else "")
            return "", done, *[None] * 4, "", "", passed or ""
        turn, _context = found
        disputes = [d for d in db.disputes_of(turn.id) if d.resolved_at is None]
        text, record = render_context(services, turn.id)
        for d in disputes:
            text = (f"**Disputed by the trainee** ({CRITERION_TITLES.get(d.criterion, d.criterion)}): "
                    f"{esc(d.comment)}\n\n") + text
        return str(turn.id), text, *[None] * 4, "", record, passed or ""

    def skip(turn_id: str, passed: str, request: gr.Request):
        """This reply passed over for now, and the next one shown."""
        check_ids(reply=turn_id)
        ids = [*skip_ids(passed), *([int(turn_id)] if turn_id else [])]
        return next_reply(",".join(str(i) for i in ids), request)

    def save(turn_id: str, empathy: str | None, ownership: str | None, solution: str | None, follow_up: str | None,
             note: str, request: gr.Request):
        values = [empathy, ownership, solution, follow_up]
        user = allowed(access, request, "review")
        check_ids(reply=turn_id)
        if not turn_id:
            raise gr.Error("Press 'Next reply to review' first.")
        try:
            db.add_review(int(turn_id), user, labels_from(values), comment=note)
        except (ValueError, StoreError) as exc:
            raise gr.Error(str(exc)) from None
        verdicts = services.verdicts([int(turn_id)]).get(int(turn_id), {})
        said = ", ".join(f"{CRITERION_TITLES[c]} {'met' if v else 'not met'}" for c, v in verdicts.items())
        return f"Saved your labels for reply {esc(turn_id)}. The classifier said: {said}."

    demo.load(my_rounds, outputs=[round_dd], api_name=False)
    if tab is not None:  # a round created since the page opened shows up when the tab is opened
        tab.select(my_rounds, outputs=[round_dd], api_name=False)
    item_outputs = [round_id, item_pos, round_reply, round_record, *round_radios, round_comment, round_status]
    round_open.click(open_round, inputs=[round_dd], outputs=item_outputs, api_name="round_open")
    round_save.click(save_item, inputs=[round_id, item_pos, *round_radios, round_comment], outputs=item_outputs,
                     api_name="round_label")
    round_skip.click(skip_item, inputs=[round_id, item_pos], outputs=item_outputs, api_name="round_skip")
    round_submit.click(submit, inputs=[round_id], outputs=[round_status], api_name="round_submit").then(
        my_rounds, outputs=[round_dd], api_name=False)
    queue_outputs = [turn_box, shown, *radios, comment, shown_record, skipped]
    next_btn.click(next_reply, inputs=[skipped], outputs=queue_outputs, api_name="review_next")
    skip_btn.click(skip, inputs=[turn_box, skipped], outputs=queue_outputs, api_name="review_skip")
    save_btn.click(save, inputs=[turn_box, *radios, comment], outputs=[status], api_name="review_save")


# --- the lead's page -----------------------------------------------------------------------------------

def calibration_tab(demo: gr.Blocks, services: Services, access: Access, tab: gr.Tab | None = None) -> None:
    db = services.db
    gr.Markdown("### New calibration round\nPick replies (practice sessions and imported transcripts) and at "
                "least two reviewers. Each labels every reply blind.")
    with gr.Row():
        name = gr.Textbox(label="Round name", placeholder="e.g. November refunds", scale=2, elem_id="dojo-cal-name")
        reviewers = gr.Dropdown(choices=[], label="Reviewers", scale=3, elem_id="dojo-cal-reviewers",
                                multiselect=True, allow_custom_value=True)
    replies = gr.Dropdown(choices=[], label="Replies (newest first; type to search)", elem_id="dojo-cal-replies",
                          multiselect=True, allow_custom_value=True)
    create_btn = gr.Button("Create round", variant="primary", elem_id="dojo-cal-create")
    create_status = gr.Markdown("", elem_id="dojo-cal-create-status")

    gr.Markdown("### Results and consensus")
    with gr.Row():
        round_dd = gr.Dropdown(choices=[], label="Round", scale=3, elem_id="dojo-cal-round", allow_custom_value=True)
        results_btn = gr.Button("Show results", scale=1, elem_id="dojo-cal-results-btn")
    results = gr.Markdown("", elem_id="dojo-cal-results")
    with gr.Row():
        item_dd = gr.Dropdown(choices=[], label="Reply", scale=3, elem_id="dojo-cal-item", allow_custom_value=True)
    consensus_radios = [gr.Radio(CHOICES, label=title, elem_id=f"dojo-cal-{c}")
                        for c, title in CRITERION_TITLES.items()]
    consensus_btn = gr.Button("Record consensus", elem_id="dojo-cal-consensus")
    consensus_status = gr.Markdown("", elem_id="dojo-cal-consensus-status")

    gr.Markdown("### Classifiers\nRetraining adds every consensus label to the training data. A new version "
                "is compared with the active one on the fixed gold set and is used only once you accept it.")
    with gr.Row():
        retrain_btn = gr.Button("Retrain with the consensus labels", elem_id="dojo-cal-retrain")
        tune_btn = gr.Button("Tune thresholds to the consensus", elem_id="dojo-cal-tune")
    candidate = gr.Textbox(visible=False, elem_id="dojo-cal-candidate", label="candidate version")
    comparison = gr.Markdown("", elem_id="dojo-cal-comparison")
    accept_btn = gr.Button("Accept: make it active", variant="primary", elem_id="dojo-cal-accept")
    with gr.Row():
        versions_dd = gr.Dropdown(choices=[], label="Saved versions", scale=3, elem_id="dojo-cal-versions",
                                  allow_custom_value=True)
        activate_btn = gr.Button("Activate this version", scale=1, elem_id="dojo-cal-activate")
    model_status = gr.Markdown("", elem_id="dojo-cal-model-status")

    def choices(request: gr.Request):
        user = access.user(request)
        if not access.may(user, "lead_calibration"):
            return [gr.Dropdown(choices=[]), gr.Dropdown(choices=[]), gr.Dropdown(choices=[]), gr.Dropdown(choices=[])]
        people = [u.name for u in db.users() if u.role != "trainee"]
        recent = [(f"#{t.id} · {channel_words(t.channel)} · {' '.join(t.text.split())[:90]}", str(t.id))
                  for t in db.recent_replies()]
        rounds = [(f"#{r.id} {r.name}", str(r.id)) for r in db.rounds()]
        return [gr.Dropdown(choices=people), gr.Dropdown(choices=recent),
                gr.Dropdown(choices=rounds, value=rounds[0][1] if rounds else None),
                gr.Dropdown(choices=version_choices(services))]

    def create(round_name: str, people: list[str], picked: list[str], request: gr.Request):
        user = allowed(access, request, "lead_calibration")
        bad = [t for t in picked or [] if not str(t).isdigit()]
        if bad:
            raise gr.Error(f"reply id {bad[0]!r} is not a number")
        try:
            row = db.create_round(round_name, user, [int(t) for t in picked or []], people or [])
        except StoreError as exc:
            raise gr.Error(str(exc)) from None
        rounds = [(f"#{r.id} {r.name}", str(r.id)) for r in db.rounds()]
        return (f"Created round #{row.id} ({len(picked)} replies, reviewers {esc(', '.join(people))}).",
                gr.Dropdown(choices=rounds, value=str(row.id)))

    def show_results(rid: str, request: gr.Request):
        allowed(access, request, "lead_calibration")
        check_ids(round=rid)
        if not rid:
            raise gr.Error("Pick a round.")
        try:
            report = services.round_report(int(rid))
        except (CalibrationError, StoreError) as exc:
            raise gr.Error(str(exc)) from None
        texts = {t: turn.text for t, (turn, _) in db.turns(report.items).items()}
        consensus = db.consensus(report.items)
        items = [(f"#{t} · " + ("consensus recorded · " if len(consensus.get(t, {})) == 4 else "")
                  + " ".join(texts.get(t, "").split())[:80], str(t)) for t in report.items]
        first = items[0][1] if items else None
        return render_report(report, texts, db.round_notes(int(rid))), gr.Dropdown(choices=items, value=first)

    def pick_item(rid: str, turn_id: str, request: gr.Request):
        """The consensus form for a reply: the recorded consensus, else the reviewers' majority."""
        allowed(access, request, "lead_calibration")
        check_ids(round=rid, reply=turn_id)
        if not rid or not turn_id:
            return [None] * 4
        recorded = db.consensus([int(turn_id)]).get(int(turn_id), {})
        ratings = db.round_ratings(int(rid))
        out = []
        for c in CRITERION_TITLES:
            if c in recorded:
                out.append(FROM_LABEL[recorded[c].label])
                continue
            votes = [labels[int(turn_id)] for labels in ratings.get(c, {}).values() if int(turn_id) in labels]
            out.append(FROM_LABEL[max(set(votes), key=votes.count)] if votes else None)
        return out

    def record(rid: str, turn_id: str, empathy: str | None, ownership: str | None, solution: str | None,
               follow_up: str | None, request: gr.Request):
        values = [empathy, ownership, solution, follow_up]
        user = allowed(access, request, "lead_calibration")
        check_ids(round=rid, reply=turn_id)
        if not rid or not turn_id:
            raise gr.Error("Show a round's results and pick a reply first.")
        if int(turn_id) not in db.round_items(int(rid)):
            raise gr.Error(f"Reply {turn_id} is not in round {rid}.")
        try:
            services.finished_round(int(rid))  # no consensus while the round is still blind
            db.set_consensus(int(turn_id), labels_from(values), user, round_id=int(rid))
        except (CalibrationError, StoreError) as exc:
            raise gr.Error(str(exc)) from None
        return f"Recorded the consensus for reply {esc(turn_id)}."

    def retrain(request: gr.Request, progress=gr.Progress()):  # noqa: B008 (how gradio injects its tracker)
        """Minutes of work: its progress shows in the page (what is happening, how far), and it runs in its
        own queue slot, so trainees and reviewers go on being served meanwhile."""
        allowed(access, request, "lead_calibration")
        if not services.has_new_training_data():
            raise gr.Error("Nothing new to train on: the active version was trained on exactly these labels. "
                           "Record consensus labels in a round first.")
        before = classifier.active_version(services.scorers_dir)
        model = services.train(activate=False, report=lambda f, what: progress(0.9 * f, desc=what))
        progress(0.95, desc="comparing with the active version on the gold set")
        sources = model.card.get("sources", {})
        consensus = sum(n for s, n in sources.items() if s.startswith("consensus"))
        text = (f"Trained **{esc(model.version)}** on {sum(model.card['data'].values())} replies, "
                f"{consensus} of them consensus labels.\n\n")
        text += render_comparison(services.compare(model.version, before))
        return model.version, text, gr.Dropdown(choices=version_choices(services))

    def tune(request: gr.Request):
        allowed(access, request, "lead_calibration")
        try:
            tuned, gains = services.tune_thresholds()
        except CalibrationError as exc:
            raise gr.Error(str(exc)) from None
        lines = [f"Saved **{esc(tuned.version)}** with thresholds tuned to the consensus "
                 f"({tuned.card['tuned_on']['consensus_replies']} replies):", "",
                 "| Criterion | threshold | κ with consensus before | after |", "|---|---|---|---|"]
        for c, (before, after) in gains.items():
            lines.append(f"| {CRITERION_TITLES[c]} | {tuned.card['thresholds'][c]} | {_fmt(before)} | {_fmt(after)} |")
        text = "\n".join(lines) + "\n\n" + render_comparison(services.compare(tuned.version))
        return tuned.version, text, gr.Dropdown(choices=version_choices(services))

    def activate(version: str, request: gr.Request):
        allowed(access, request, "lead_calibration")
        if not version:
            raise gr.Error("Retrain or pick a saved version first.")
        try:
            services.activate(version)
        except NoScorerError as exc:
            raise gr.Error(str(exc)) from None
        return (f"Active: **{esc(version)}**. Replies are scored by it from now on.",
                gr.Dropdown(choices=version_choices(services), value=version))

    demo.load(choices, outputs=[reviewers, replies, round_dd, versions_dd], api_name=False)
    if tab is not None:  # replies stored since the page opened reach the picker when the tab is opened
        tab.select(choices, outputs=[reviewers, replies, round_dd, versions_dd], api_name=False)
    create_btn.click(create, inputs=[name, reviewers, replies], outputs=[create_status, round_dd],
                     api_name="round_create")
    results_btn.click(show_results, inputs=[round_dd], outputs=[results, item_dd], api_name="round_results")
    item_dd.change(pick_item, inputs=[round_dd, item_dd], outputs=consensus_radios, api_name=False)
    consensus_btn.click(record, inputs=[round_dd, item_dd, *consensus_radios], outputs=[consensus_status],
                        api_name="consensus_save")
    # Retraining and tuning take their own queue slot (one at a time), never one of the slots practice uses.
    retrain_btn.click(retrain, outputs=[candidate, comparison, versions_dd], api_name="retrain",
                      concurrency_id="models", concurrency_limit=1, show_progress_on=[comparison])
    tune_btn.click(tune, outputs=[candidate, comparison, versions_dd], api_name="tune_thresholds",
                   concurrency_id="models", concurrency_limit=1)
    accept_btn.click(activate, inputs=[candidate], outputs=[model_status, versions_dd], api_name="accept_model")
    activate_btn.click(activate, inputs=[versions_dd], outputs=[model_status, versions_dd], api_name="activate_model")
