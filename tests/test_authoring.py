"""Authoring: the store never loses a trainer's work, and the editor's API does what the browser does.

All writes go to a temporary copy of the library; the repository's scenarios are never touched.
"""

from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path

import pytest
from gradio_client import Client

from dojo.services import Services
from simulator.authoring import AuthoringError, Draft, SaveConflict, ScenarioStore
from simulator.settings import Settings
from tests.conftest import served

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def library(tmp_path) -> Path:
    folder = tmp_path / "scenarios"
    shutil.copytree(ROOT / "scenarios", folder, ignore=shutil.ignore_patterns("__pycache__", "*.py", "*.json"))
    return folder


@pytest.fixture
def store(library) -> ScenarioStore:
    return ScenarioStore(library)


def test_save_raises_the_version_and_keeps_comments(store, library):
    draft = store.open("late-parcel-chat.yaml")
    edited = draft.text.replace("patience: 4", "patience: 3")
    saved = store.save(Draft(draft.name, edited, draft.fingerprint))
    on_disk = (library / "late-parcel-chat.yaml").read_text()
    assert saved.previous_version == 2 and saved.version == 3
    assert "version: 3" in on_disk and "patience: 3" in on_disk and on_disk.startswith("# Late delivery")
    assert saved.draft.fingerprint != draft.fingerprint and saved.draft.text == on_disk


def test_a_higher_version_typed_by_the_trainer_is_kept(store):
    draft = store.open("late-parcel-chat.yaml")
    saved = store.save(Draft(draft.name, draft.text.replace("version: 2", "version: 7"), draft.fingerprint))
    assert saved.version == 7


def test_save_refuses_when_the_file_changed_on_disk_since_it_was_opened(store, library):
    draft = store.open("late-parcel-chat.yaml")
    path = library / "late-parcel-chat.yaml"
    someone_else = path.read_text().replace("mood: annoyed", "mood: calm")
    path.write_text(someone_else)
    with pytest.raises(SaveConflict, match=r"late-parcel-chat\.yaml changed on disk since you opened it; nothing "
                                            r"was saved"):
        store.save(Draft(draft.name, draft.text.replace("patience: 4", "patience: 2"), draft.fingerprint))
    assert path.read_text() == someone_else


def test_two_trainers_saving_the_same_opening_at_once_one_wins_one_is_told(store, library):
    draft = store.open("late-parcel-chat.yaml")
    results: list[object] = []
    barrier = threading.Barrier(2)

    def save(patience: int) -> None:
        barrier.wait()
        try:
            results.append(store.save(Draft(draft.name, draft.text.replace("patience: 4", f"patience: {patience}"),
                                            draft.fingerprint)))
        except SaveConflict as exc:
            results.append(exc)

    threads = [threading.Thread(target=save, args=(p,)) for p in (2, 3)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(type(r).__name__ for r in results) == ["SaveConflict", "Saved"]
    assert "version: 3" in (library / "late-parcel-chat.yaml").read_text()


def test_invalid_text_is_not_saved_and_the_file_is_untouched(store, library):
    before = (library / "late-parcel-chat.yaml").read_text()
    draft = store.open("late-parcel-chat.yaml")
    with pytest.raises(AuthoringError, match=r"not saved: late-parcel-chat.yaml:\d+: persona.mood: 'grumpy' is not "
                                             "one of calm"):
        store.save(Draft(draft.name, draft.text.replace("mood: annoyed", "mood: grumpy"), draft.fingerprint))
    assert (library / "late-parcel-chat.yaml").read_text() == before


def test_the_editor_reports_a_bad_resolution_field_as_dojo_validate_does(store):
    draft = store.open("late-parcel-chat.yaml")
    text = draft.text.replace("needs: {facts: [order_number]}", "needs: {facts: [order_no]}", 1)
    line = next(i for i, x in enumerate(text.splitlines(), 1) if "order_no]" in x)
    assert [str(p) for p in store.check(draft.name, text).problems] == [
        f"late-parcel-chat.yaml:{line}: resolutions[0].needs.facts[0]: unknown fact 'order_no'; "
        "facts: order_number, deadline"]


def test_id_clash_with_another_file_is_a_problem(store):
    draft = store.open("wrong-item-email.yaml")
    check = store.check(draft.name, draft.text.replace("id: wrong-item-email", "id: late-parcel-chat"))
    assert [str(p) for p in check.problems] == [
        "wrong-item-email.yaml:4: id: id 'late-parcel-chat' is already used by late-parcel-chat.yaml; "
        "ids must be unique"]


def test_new_from_template_then_save_creates_the_file(store, library):
    draft = store.new("damaged-sofa-email")
    assert draft.fingerprint == "" and "id: damaged-sofa-email" in draft.text
    saved = store.save(draft)
    assert (library / "damaged-sofa-email.yaml").is_file() and saved.version == 1
    with pytest.raises(AuthoringError, match="already exists"):
        store.new("damaged-sofa-email")


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "x.yml", "UPPER.yaml", "a/b.yaml", ""])
def test_names_outside_the_folder_are_refused(store, name):
    with pytest.raises(AuthoringError, match="is not a scenario file name"):
        store.open(name)


def test_nothing_to_save_is_said_not_bumped(store):
    draft = store.open("late-parcel-chat.yaml")
    with pytest.raises(AuthoringError, match="no changes to save"):
        store.save(draft)


# --- the editor over HTTP ------------------------------------------------------------------------

@pytest.fixture
def client(library, fast_services):
    settings = Settings(home=fast_services.settings.home, customer_backend="scripted", seed=7, scenarios_dir=library)
    services = Services(settings, embedder_kind="hashing")
    with served(services) as url:
        yield Client(url, verbose=False)


def test_editor_api_open_check_playtest_save(client, library):
    name, fp, text, problems, status = client.predict("late-parcel-chat.yaml", api_name="/open_scenario")
    assert name == "late-parcel-chat.yaml" and "Valid." in problems and "Opened" in status
    broken = text.replace("  patience: 4", "  patience: 4\n  annotator: bob")
    problems = client.predict(name, broken, api_name="/check_scenario")
    line = broken.splitlines().index("  annotator: bob") + 1
    assert f"line {line}: `persona.annotator`: unknown key 'annotator'" in problems

    # the trainer rewrites the beat and drops its other wordings, so the playtest says exactly this
    edited = re.sub(r"It's ORD-48213. I also emailed(.*)\n    also_says:\n(      - .*\n)+",
                    r"ORD-48213. And I emailed\1\n", text)
    _run, _view, transcript, _fb, _reply = client.predict(name, edited, api_name="/playtest")
    assert "parcel" in transcript[0]["text"].lower()
    _view, transcript, _reply, feedback = client.predict(_run, "So sorry! What is the order number?",
                                                         api_name="/playtest_reply")
    assert "ORD-48213. And I emailed" in transcript[-1]["text"] and "Empathy" in feedback

    new_fp, saved_text, problems, status, *_ = client.predict(name, fp, edited, api_name="/save_scenario")
    assert "version 2 → version 3" in status and new_fp != fp
    assert (library / name).read_text() == saved_text and "version: 3" in saved_text
    # A refused save says why beside the button, and leaves the editor's text alone (no update sent).
    refused = client.predict(name, fp, edited + "\n# again", api_name="/save_scenario")
    assert "Not saved:" in refused[3] and "changed on disk since you opened it" in refused[3]
    assert refused[1] != edited + "\n# again" or refused[1] is None
    record = client.predict("late-parcel-chat", api_name="/start")[1]
    assert "Priya Raman" in record


def test_save_before_opening_anything_says_what_to_do(client):
    status = client.predict("", "", "id: x\n", api_name="/save_scenario")[3]
    assert "Not saved:" in status and "open a scenario file, or start a new one" in status


def test_playtest_of_an_invalid_draft_names_the_first_problem(client):
    feedback = client.predict("late-parcel-chat.yaml", "id: [", api_name="/playtest")[3]
    assert "Cannot playtest yet" in feedback and "fix the problems first" in feedback
