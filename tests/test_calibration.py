"""QA calibration end to end on the core: imported transcripts, blind rounds, statistics, consensus,
retraining with the consensus labels, comparison on the fixed gold set, accepting, going back, tuning."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from dojo.calibration import CalibrationError
from dojo.services import Services
from dojo.store import NA, StoreError
from dojo.transcripts import TranscriptError, read_transcripts
from scoring import classifier
from simulator.settings import Settings
from tests.conftest import ROOT

CRITERIA = ("empathy", "ownership", "solution", "follow_up")

CSV = """ticket_id,sender,body,created_at,agent
T-1,end-user,"My order hasn't arrived, it's been two weeks.",2026-11-01T09:00:00Z,
T-1,agent,"I'm so sorry. I've reshipped it by express; it arrives Friday.",2026-11-01T09:05:00Z,Sam
T-2,customer,Refund please,1762000000,
T-2,agent,Please see our website.,1762000300,Lee
T-2,customer,That's it?,1762000400,
T-2,agent,"Sorry, that was curt. I've refunded the £40 now; it shows in 3 days.",1762000500,Lee
T-3,customer,Is the shop open on Sunday?,2026-11-02T10:00:00,
T-3,bot,Our opening hours are on the website.,2026-11-02T10:00:05,
T-3,agent,"Yes, 10:00 to 16:00. Anything else I can help with?",2026-11-02T10:01:00,Sam
"""


@pytest.fixture(scope="module")
def qa(fast_services, new_database, tmp_path_factory) -> Services:
    """Services with a database and scorer folder of their own (retraining here must not change the scorer the
    other tests use), starting from a copy of the fast services' trained scorer."""
    home = tmp_path_factory.mktemp("qa-home")
    shutil.copytree(fast_services.scorers_dir, home / "scorers-hashing")
    services = Services(Settings(home=home, customer_backend="scripted", seed=7, database_url=new_database()),
                        embedder_kind="hashing")
    for part in ("embedder", "backend", "rubric", "customer"):
        services.__dict__[part] = getattr(fast_services, part)
    for name, role in (("lead", "trainer"), ("rita", "reviewer"), ("rob", "reviewer"), ("ana", "trainee")):
        services.db.add_user(name, role)
    return services


def test_transcripts_are_read_from_csv_and_jsonl(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(CSV, encoding="utf-8")
    conversations = read_transcripts(path, "live_chat")
    assert [c.id for c in conversations] == ["T-1", "T-2", "T-3"]
    assert [c.replies for c in conversations] == [1, 2, 1] and conversations[1].agent == "Lee"
    assert [m.role for m in conversations[2].messages] == ["customer", "bot", "agent"]
    assert conversations[0].channel == "live_chat"
    jsonl = tmp_path / "export.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in [
        {"conversation_id": 7, "role": "agent", "text": "Hi, how can I help?", "timestamp": "2026-11-01T09:01:00Z"},
        {"conversation_id": 7, "role": "customer", "text": "Hello", "timestamp": "2026-11-01T09:00:00Z",
         "channel": "social_dm"}]), encoding="utf-8")
    [conv] = read_transcripts(jsonl)
    assert [m.role for m in conv.messages] == ["customer", "agent"]  # in time order, not file order


def test_every_bad_row_is_reported_by_number_and_nothing_is_read(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("ticket_id,sender,body,created_at,channel\n"
                    "T-1,agent,Hello,2026-11-01T09:00:00Z,email\n"
                    ",agent,Hello,2026-11-01T09:00:00Z,email\n"
                    "T-1,robot,Hello,2026-11-01T09:00:00Z,email\n"
                    "T-1,agent,,2026-11-01T09:00:00Z,email\n"
                    "T-1,agent,Hi,yesterday,email\n"
                    "T-1,agent,Hi,2026-11-01T09:00:00Z,fax\n"
                    "T-1,agent,Hi,2026-11-01T09:00:00Z,live_chat\n", encoding="utf-8")
    with pytest.raises(TranscriptError) as caught:
        read_transcripts(path)
    assert caught.value.problems == [
        f"{path}:row 3: conversation_id: needs a non-empty id of at most 200 characters, got ''",
        f"{path}:row 4: role: 'robot' is not agent, customer or bot (accepted: agent, staff, operator, support, "
        "admin, customer, end-user, end_user, enduser, user, requester, contact, bot)",
        f"{path}:row 5: text: needs a non-empty string (conversation 'T-1')",
        f"{path}:row 6: timestamp: 'yesterday' is not an ISO 8601 time or Unix seconds",
        f"{path}:row 7: channel: 'fax' is not one of email, live_chat, social_public, social_dm, bot_handoff",
        f"{path}:row 8: channel: 'live_chat' but earlier rows of conversation 'T-1' say 'email'"]
    header = tmp_path / "header.csv"
    header.write_text("id,who,what\n1,agent,hi\n", encoding="utf-8")
    with pytest.raises(TranscriptError, match=r"header: no conversation_id column \(accepted names: "):
        read_transcripts(header)


def test_import_transcripts_cli_imports_once_and_refuses_a_bad_file_whole(tmp_path):
    env = {"DOJO_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    good = tmp_path / "export.csv"
    good.write_text(CSV, encoding="utf-8")

    def dojo(*args):
        return subprocess.run([sys.executable, "-m", "dojo", *args], capture_output=True, text=True,
                              cwd=ROOT, env=env, timeout=120)

    done = dojo("import", "transcripts", str(good))
    assert done.returncode == 0
    assert done.stdout.strip() == f"imported 3 conversations (4 agent replies to review) from {good}"
    again = dojo("import", "transcripts", str(good))
    assert "imported 0 conversations (0 agent replies to review)" in again.stdout
    assert "3 imported before were skipped" in again.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text(CSV + "T-9,agent,,2026-11-01T09:00:00Z,\n", encoding="utf-8")
    refused = dojo("import", "transcripts", str(bad))
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [f"{bad}:row 11: text: needs a non-empty string (conversation 'T-9')",
                                           f"dojo import: nothing imported from {bad}"]


def test_a_blind_round_statistics_consensus_retrain_accept_and_go_back(qa, tmp_path):
    db = qa.db
    path = tmp_path / "export.csv"
    path.write_text(CSV, encoding="utf-8")
    assert len(db.import_conversations(read_transcripts(path), path.name)) == 3
    replies = [t.id for t in reversed(db.recent_replies())]
    assert len(replies) == 4
    lead, rita, rob = db.user("lead"), db.user("rita"), db.user("rob")
    with pytest.raises(StoreError, match="at least two reviewers"):
        db.create_round("r", lead, replies, ["rita"])
    with pytest.raises(StoreError, match="ana is a trainee"):
        db.create_round("r", lead, replies, ["rita", "ana"])
    round_ = db.create_round("November", lead, replies, ["rita", "rob"])

    labels = {  # rita and rob agree on empathy and solution, split on ownership, rob says n/a once
        "rita": [dict(empathy=1, ownership=1, solution=1, follow_up=1), dict(empathy=0, ownership=0, solution=0,
                 follow_up=0), dict(empathy=1, ownership=1, solution=1, follow_up=0), dict(empathy=0, ownership=1,
                 solution=1, follow_up=1)],
        "rob": [dict(empathy=1, ownership=1, solution=1, follow_up=1), dict(empathy=0, ownership=1, solution=0,
                follow_up=0), dict(empathy=1, ownership=1, solution=1, follow_up=0), dict(empathy=0, ownership=0,
                solution=1, follow_up=NA)]}
    for name, rows in labels.items():
        user = db.user(name)
        for turn_id, row in zip(replies, rows, strict=True):
            db.add_review(turn_id, user, row, round_id=round_.id)
    with pytest.raises(StoreError, match="no calibration round 999"):
        qa.round_report(999)
    with pytest.raises(CalibrationError, match=r"blind until every reviewer has submitted: waiting for rita, rob"):
        qa.round_report(round_.id)
    assert db.round_labels_of(round_.id, rita)[replies[0]] == labels["rita"][0]  # their own, and only theirs
    db.submit_round(round_.id, rita, CRITERIA)
    with pytest.raises(CalibrationError, match=r"waiting for rob \(1 of 2 submitted\)"):
        qa.round_report(round_.id)
    db.submit_round(round_.id, rob, CRITERIA)

    report = qa.round_report(round_.id)
    assert report.raters == ["rita", "rob"] and report.items == replies
    assert report.agreement["empathy"].percent_agreement == 1.0 and report.agreement["empathy"].fleiss_kappa == 1.0
    assert report.agreement["ownership"].percent_agreement == 0.5
    assert {(s.turn_id, s.criterion) for s in report.splits} == {
        (replies[1], "ownership"), (replies[3], "ownership"), (replies[3], "follow_up")}
    assert report.model_n["empathy"] == 0  # no consensus yet

    for turn_id, row in zip(replies, labels["rita"], strict=True):
        db.set_consensus(turn_id, row, lead, round_id=round_.id)
    report = qa.round_report(round_.id)
    assert all(report.model_n[c] == 4 for c in CRITERIA)

    rows = qa.training_rows()
    consensus = [r for r in rows if r.source.startswith("consensus")]
    assert len(consensus) == 4 and {r.source for r in consensus} == {f"consensus:round-{round_.id}"}
    before = classifier.active_version(qa.scorers_dir)
    model = qa.train(activate=False)
    assert model.version != before and classifier.active_version(qa.scorers_dir) == before  # waits for the lead
    assert model.card["sources"][f"consensus:round-{round_.id}"] == 4
    comparison = qa.compare(model.version)
    assert comparison.before == before and comparison.after == model.version
    assert comparison.n == len(qa.gold()) > 200
    assert all(-1 <= c.kappa_after <= 1 and c.kappa_before is not None for c in comparison.criteria.values())
    qa.activate(model.version)
    assert classifier.active_version(qa.scorers_dir) == model.version and qa.scorer.version == model.version
    qa.activate(before)  # an earlier version can be made active again
    assert qa.scorer.version == before
    assert [v["version"] for v in classifier.versions(qa.scorers_dir) if v["active"]] == [before]

    tuned, gains = qa.tune_thresholds()
    assert tuned.card["tuned_from"] == before and tuned.version.startswith(before.split("-t")[0] + "-t")
    assert classifier.active_version(qa.scorers_dir) == before  # saved, not active
    for c, (kappa_before, kappa_after) in gains.items():
        # never worse on the consensus it was tuned to (an unchanging verdict's undefined kappa counts as 0)
        assert (kappa_after or 0.0) >= (kappa_before or 0.0) - 1e-9, c


def test_tuning_needs_enough_consensus(fast_services, new_database, tmp_path):
    shutil.copytree(fast_services.scorers_dir, tmp_path / "scorers-hashing")
    services = Services(Settings(home=tmp_path, customer_backend="scripted", database_url=new_database()),
                        embedder_kind="hashing")
    services.__dict__["embedder"] = fast_services.embedder
    with pytest.raises(CalibrationError, match="only 0 replies have a full consensus"):
        services.tune_thresholds()


def test_consensus_with_not_applicable_or_a_known_text_is_not_training_data(qa):
    db = qa.db
    run = qa.start_run("late-parcel-chat", agent="ana")
    qa.reply(run, "So sorry. I've refunded it and I'll email you tomorrow.")
    qa.reply(run, "Anything else?") if not run.session.ended else None
    [turn_id, *_] = [t.id for t in db.recent_replies() if t.session_id == run.session.id]
    db.set_consensus(turn_id, dict(empathy=1, ownership=1, solution=1, follow_up=NA), db.user("lead"))
    assert all(r.id != f"consensus-{turn_id}" for r in qa.training_rows())
    with pytest.raises(StoreError, match=r"empathy: label 3 is not 1 \(met\), 0 \(not met\) or -1 \(n/a\)"):
        db.set_consensus(turn_id, dict(empathy=3), db.user("lead"))


def test_upgrading_a_0001_database_keeps_its_sessions_as_practice(new_database):
    from sqlalchemy import text

    from dojo.store import Store

    db = Store(new_database())
    db.upgrade("0001")
    with db.engine.begin() as c:
        c.execute(text("INSERT INTO users (id, name, role, created_at) VALUES (1, 'ana', 'trainee', '2026-11-01')"))
        c.execute(text("INSERT INTO sessions (id, user_id, scenario_id, scenario_version, channel, difficulty, seed, "
                       "rubric_version, model_version, started_at) VALUES ('s1', 1, 'late-parcel-chat', 1, "
                       "'live_chat', 1, 7, 'r@2', 'm', '2026-11-01')"))
    db.upgrade()
    [session] = db.sessions_of(db.user("ana"))
    assert session.source == "practice" and session.external_id is None
    assert db.rounds() == [] and db.disputes_of(1) == []
    db.engine.dispose()
