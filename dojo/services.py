"""Services: the one object that wires settings to the scenario library, models, scorer and practice runs.

Built once per process by `dojo serve` / the CLI, passed to `app.build_app(services)`. Models load
lazily on first use, once, and are shared by every session; nothing loads at import time. Tests build
Services with the scripted backend and the hashing embedder, which need no model files.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field, replace
from functools import wraps
from pathlib import Path

import numpy as np
from sqlalchemy.exc import DBAPIError, IntegrityError

from dojo import calibration
from dojo.practice import Practice, Run, TurnResult
from dojo.store import PracticeSession, Store, Turn, User, sqlite_url
from dojo.store.resume import NotResumable, stored_scenario
from scoring import classifier
from scoring.classifier import ScorerModel
from scoring.embeddings import HashingEmbedder, MiniLMEmbedder, SentenceEmbedder
from scoring.rubric import LabeledReply, Rubric, data_hash, load_labeled
from scoring.scorer import Scorer
from simulator import llamacpp
from simulator.authoring import ScenarioStore
from simulator.backends import Backend, OpenAIBackend, ScriptedBackend, TransformersBackend
from simulator.customer import Customer, CustomerConfig
from simulator.knowledge import KnowledgeBase
from simulator.llamacpp import LlamaCppBackend
from simulator.model_files import verify_customer, verify_engine_gguf
from simulator.reporting import Report, silent
from simulator.scenario import CRITERIA, Scenario, ScenarioLibrary
from simulator.settings import SettingError, Settings

log = logging.getLogger("dojo.services")


def shared_once(method):
    """A lazily built part, built at most once per Services even when two requests race for it
    (two threads must never load the same model twice)."""
    name = method.__name__

    @wraps(method)
    def getter(self):
        if name not in self.__dict__:
            with self._lock:
                if name not in self.__dict__:
                    self.__dict__[name] = method(self)
        return self.__dict__[name]

    return property(getter)


def _in_hf_cache(model_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - transformers depends on it
        return False
    try:
        return isinstance(try_to_load_from_cache(model_id, "config.json"), str)
    except ValueError:  # not a valid repo id
        return False


class UnknownRunError(KeyError):
    """A practice run id that this process does not hold (expired, or another server's)."""


class StorageUnavailable(RuntimeError):
    """The database did not take a turn; the reply was not sent. One line, safe to show."""


class SessionMovedOn(RuntimeError):
    """The session took a reply elsewhere (another tab, another server) while this one was being sent. One line."""


def _storage_message(exc: DBAPIError) -> str:
    text = str(exc.orig or exc).lower()
    if "full" in text or "no space" in text:
        why = "the database's disk is full"
    elif "read-only" in text or "readonly" in text:
        why = "the database is read-only"
    else:
        why = "the database is not answering"
    return (f"Your reply was not sent: {why}. It is still in the box; send it again in a moment. "
            "Every earlier turn is saved.")


@dataclass
class Services:
    settings: Settings
    embedder_kind: str = ""  # "minilm" | "hashing"; empty = the DOJO_EMBEDDER setting
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _runs: dict[str, Run] = field(default_factory=dict, repr=False)
    _recorded: set[str] = field(default_factory=set, repr=False)  # run ids stored in the database
    _pending: dict[str, User] = field(default_factory=dict, repr=False)  # stored at their first reply
    _owners: dict[str, str | None] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.embedder_kind = self.embedder_kind or self.settings.embedder
        if self.embedder_kind not in ("minilm", "hashing"):
            raise SettingError(f"DOJO_EMBEDDER={self.embedder_kind!r}: use minilm or hashing")

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **kw) -> Services:
        return cls(settings or Settings.from_env(), **kw)

    def with_scenarios(self, folder: Path) -> Services:
        """The same models over another scenario folder (a scratch copy for tests or a trainer's sandbox).
        Parts already built are shared, not loaded again; none of them depends on the folder."""
        other = Services(replace(self.settings, scenarios_dir=Path(folder)), self.embedder_kind)
        for part in ("embedder", "backend", "rubric", "scorer", "customer", "practice", "db"):
            if part in self.__dict__:
                other.__dict__[part] = self.__dict__[part]
        return other

    # --- lazily built parts ----------------------------------------------------------------------

    @shared_once
    def library(self) -> ScenarioLibrary:
        return ScenarioLibrary.load(self.settings.scenarios_dir)

    @shared_once
    def store(self) -> ScenarioStore:
        return ScenarioStore(self.settings.scenarios_dir)

    def reload_library(self) -> ScenarioLibrary:
        """After a trainer saves: new runs use the new files; running sessions keep the scenario they began."""
        library = ScenarioLibrary.load(self.settings.scenarios_dir)
        with self._lock:
            self.__dict__["library"] = library
        return library

    @shared_once
    def knowledge(self) -> KnowledgeBase:
        # By meaning only with MiniLM: the hashing embedder's cosines say nothing about meaning.
        embed = self.embedder.embed if self.embedder_kind == "minilm" else None
        return KnowledgeBase.load(self.settings.scenarios_dir / "kb", embed, self.settings.kb_min_similarity)

    @shared_once
    def rubric(self) -> Rubric:
        return Rubric.load(self.settings.rubrics_dir)

    @shared_once
    def embedder(self) -> SentenceEmbedder:
        if self.embedder_kind == "hashing":
            return HashingEmbedder()
        try:
            return MiniLMEmbedder(dtype=self.settings.embedder_dtype)
        except ValueError as exc:
            raise SettingError(f"DOJO_EMBEDDER_DTYPE: {exc}") from None

    @shared_once
    def backend(self) -> Backend:
        s = self.settings
        if s.customer_backend == "scripted":
            return ScriptedBackend()
        if s.customer_backend == "openai":
            return OpenAIBackend(s.openai_base_url, s.openai_model, s.openai_api_key, s.openai_timeout_s,
                                 s.openai_style)
        engine = s.customer_backend
        if engine == "auto":
            engine = "llamacpp" if llamacpp.available() and not s.customer_model else "transformers"
        if engine == "llamacpp":
            if s.customer_model:
                raise SettingError("DOJO_CUSTOMER_MODEL names a transformers model: the llamacpp engine runs the "
                                   "embedded SmolLM2 GGUF; set DOJO_CUSTOMER_BACKEND=transformers for another model")
            if self.customer_style == "chat":
                raise SettingError("DOJO_CUSTOMER_STYLE=chat: the llamacpp engine phrases completion prompts only; "
                                   "use DOJO_CUSTOMER_BACKEND=transformers or openai for chat")
            return LlamaCppBackend(verify_engine_gguf(s), threads=s.threads)
        if engine == "transformers":
            model = s.customer_model or verify_customer(s)
            if s.customer_model and not Path(s.customer_model).is_dir() and not _in_hf_cache(s.customer_model):
                raise SettingError(f"DOJO_CUSTOMER_MODEL={s.customer_model!r}: not a model directory, and not in the "
                                   "local Hugging Face cache (models are never downloaded at run time)")
            return TransformersBackend(model, threads=s.threads, style=self.customer_style)
        raise SettingError(f"DOJO_CUSTOMER_BACKEND={s.customer_backend!r}: use auto, llamacpp, transformers, openai or "
                           "scripted")

    @property
    def customer_style(self) -> str:
        style = self.settings.customer_style or ("chat" if self.settings.customer_model else "completion")
        if style not in ("completion", "chat"):
            raise SettingError(f"DOJO_CUSTOMER_STYLE={style!r}: use completion or chat")
        return style

    @shared_once
    def scorer(self) -> Scorer:
        return Scorer(ScorerModel.load_active(self.scorers_dir), self.embedder, self.rubric)

    @property
    def scorers_dir(self) -> Path:
        suffix = "" if self.embedder_kind == "minilm" else f"-{self.embedder_kind}"
        return Path(str(self.settings.scorers_dir) + suffix)

    @shared_once
    def customer(self) -> Customer:
        s = self.settings
        # A free rewriter (chat style, openai) may rightly use other words; a completion model with a
        # forced start should keep most of the line's content words.
        free = s.customer_backend == "openai" or (
            s.customer_backend == "transformers" and self.customer_style == "chat")
        return Customer(self.backend, self.embedder,
                        CustomerConfig(candidates=s.candidates, max_new_tokens=s.max_new_tokens,
                                       min_similarity=s.min_similarity, min_coverage=0.25 if free else 0.5,
                                       strict_edits=not free, fix_match=s.fix_match))

    @shared_once
    def db(self) -> Store:
        """The database (users, sessions, turns, scores, reviews), upgraded to the newest migration."""
        db = Store(self.settings.database_url or sqlite_url(self.settings.home))
        db.upgrade()
        return db

    @shared_once
    def practice(self) -> Practice:
        return Practice(self.customer, self.scorer)

    # --- training --------------------------------------------------------------------------------

    def training_rows(self) -> list[LabeledReply]:
        """The rubric's labeled files, plus the consensus labels QA leads recorded (with their provenance)."""
        rows = load_labeled(self.settings.rubrics_dir)
        return rows + calibration.consensus_rows(self.db.consensus_replies(), {r.text.strip() for r in rows})

    def gold(self) -> list[LabeledReply]:
        """The fixed gold set models are compared on: the test split of the labeled files."""
        return [r for r in load_labeled(self.settings.rubrics_dir) if r.split == "test"]

    def preflight(self) -> None:
        """Load what serving needs now: a missing or damaged file stops the start with one line instead of
        failing the first trainee's page (and the first page does not wait for the models)."""
        for part in ("library", "knowledge", "rubric", "embedder", "backend", "scorer", "db"):
            getattr(self, part)

    def has_new_training_data(self) -> bool:
        """Whether retraining would learn anything: the training data differs from the active version's."""
        active = classifier.active_version(self.scorers_dir)
        card = self.scorers_dir / str(active) / "card.json"
        if active is None or not card.is_file():
            return True
        return json.loads(card.read_text()).get("data_hash") != data_hash(self.training_rows())

    def train(self, activate: bool = True, report: Report = silent) -> ScorerModel:
        """Train on the labeled files and the consensus labels. With `activate`, the new version is used at
        once; without, it waits for a lead to accept it (or the first model ever is activated anyway).
        `report(fraction, what)` hears how far training is."""
        rows = self.training_rows()
        model = classifier.fit(rows, self.embedder.embed_with_sentences, self.rubric, self.embedder.name,
                               report=report)
        model.save(self.scorers_dir, activate=activate or classifier.active_version(self.scorers_dir) is None)
        self._forget_scorer()
        return model

    def held_out(self) -> list[dict]:
        """Leave-one-source-out evaluation of the training recipe on the labeled files, beside the raters'
        own agreement per source (`scoring/evaluation.py`)."""
        from scoring import evaluation

        rows = load_labeled(self.settings.rubrics_dir)
        raters = evaluation.rater_agreement(self.settings.rubrics_dir / "passes", rows)
        train = evaluation.scorer_trainer(evaluation.CachedEmbedder(self.embedder), self.rubric)
        return [fold.as_dict() for fold in evaluation.leave_one_source_out(rows, train, raters)]

    def _forget_scorer(self) -> None:
        with self._lock:
            self.__dict__.pop("scorer", None)
            self.__dict__.pop("practice", None)

    def scorer_version(self, version: str) -> Scorer:
        return Scorer(ScorerModel.load(self.scorers_dir, version), self.embedder, self.rubric)

    def compare(self, version: str, against: str | None = None) -> calibration.Comparison:
        """A version against the active one (or `against`) on the fixed gold set."""
        base = against or classifier.active_version(self.scorers_dir)
        before = self.scorer_version(base) if base and base != version else None
        return calibration.compare(before, self.scorer_version(version), self.gold())

    def activate(self, version: str) -> None:
        """Make a saved version the one in use: new replies are scored by it from now on."""
        classifier.activate_version(self.scorers_dir, version)
        self._forget_scorer()

    def verdicts(self, turn_ids: list[int]) -> dict[int, dict[str, bool]]:
        """The active classifiers' verdicts on stored replies (scored now: imported replies have no scores)."""
        found = self.db.turns(turn_ids)
        ids = [t for t in turn_ids if t in found]
        scores = self.scorer.score_many([found[t][0].text for t in ids]) if ids else []
        return {t: score.verdicts for t, score in zip(ids, scores, strict=True)}

    def finished_round(self, round_id: int) -> list[str]:
        """The raters of a round every reviewer has submitted; refused while it is still blind (and
        StoreError "no calibration round N" for an unknown id)."""
        self.db.round(round_id)
        raters = self.db.round_raters(round_id)
        waiting = [name for name, at in raters if at is None]
        if waiting:
            raise calibration.CalibrationError(
                f"round {round_id} is blind until every reviewer has submitted: waiting for {', '.join(waiting)} "
                f"({len(raters) - len(waiting)} of {len(raters)} submitted)")
        return [name for name, _ in raters]

    def round_report(self, round_id: int) -> calibration.RoundReport:
        """A finished round's statistics, with the active classifiers' verdicts on its replies."""
        raters = self.finished_round(round_id)
        items = self.db.round_items(round_id)
        return calibration.round_report(self.db.round_ratings(round_id), raters, items,
                                        self.verdicts(items), self.db.consensus(items))

    def tune_thresholds(self) -> tuple[ScorerModel, dict]:
        """A new version of the active model with per-criterion thresholds that agree best with the
        consensus labels (saved, not active)."""
        model = ScorerModel.load_active(self.scorers_dir)
        replies = calibration.consensus_rows(self.db.consensus_replies(), set())
        if len(replies) < 4:
            raise calibration.CalibrationError(
                f"only {len(replies)} replies have a full consensus; record at least 4 before tuning thresholds")
        scorer = Scorer(model, self.embedder, self.rubric)
        scores = scorer.score_many([r.text for r in replies])
        probabilities = {c: np.array([s.criteria[c].probability for s in scores]) for c in CRITERIA}
        labels = {c: np.array([r.labels[c] for r in replies]) for c in CRITERIA}
        current = {c: m.threshold for c, m in model.models.items()}
        thresholds, gains = calibration.tune_thresholds(probabilities, labels, current)
        tuned = model.with_thresholds(thresholds, {"consensus_replies": len(replies),
                                                   "kappa_before_after": gains})
        tuned.save(self.scorers_dir, activate=False)
        return tuned, gains

    def has_scorer(self) -> bool:
        """An active scorer made by the current training recipe (an older one is retrained by set-up)."""
        active = classifier.active_version(self.scorers_dir)
        return active is not None and f"-{classifier.RECIPE}-" in active

    # --- practice runs held by this process ------------------------------------------------------

    def start_run(self, scenario_id: str, seed: int | None = None, agent: str | None = None) -> Run:
        return self.start_scenario(self.library.get(scenario_id), seed, agent)

    def start_scenario(self, scenario: Scenario, seed: int | None = None, agent: str | None = None,
                       owner: str | None = None) -> Run:
        """A run of any scenario, e.g. a trainer's unsaved draft in a playtest.

        With an `agent` (a user name) the session is stored from its first reply on, and each turn is
        committed as it completes; without one, nothing is stored (a playtest, the no-database tests).
        `owner` (default: the agent) is the only user who may reply in it or read it.
        """
        run = self.practice.start(scenario, seed=self.settings.seed if seed is None else seed)
        user = self.db.agent(agent) if agent else None
        with self._lock:
            self._runs[run.session.id] = run
            self._owners[run.session.id] = owner or agent
            if user is not None:
                self._pending[run.session.id] = user
        return run

    def reply(self, run: Run, text: str, delay_s: float | None = None) -> TurnResult:
        """One practice turn; a recorded session commits it (reply, scores, rules, customer answer).

        A session is written at its first reply, not at its start: opening the page starts a session,
        and an untouched one is not practice."""
        undo = run.checkpoint()
        result = self.practice.reply(run, text, delay_s=delay_s)
        key = run.session.id
        with self._lock:
            user = self._pending.pop(key, None)
            recorded = key in self._recorded
            if user is not None:
                self._recorded.add(key)
        try:
            if user is not None:  # the first reply: the session row, its opening and this turn in one commit
                scorer = self.practice.scorer
                self.db.record_turn(run, result,
                                    (user, f"{scorer.rubric.id}@{scorer.rubric.version}", scorer.version))
            elif recorded:
                self.db.record_turn(run, result)
        except IntegrityError:
            # Another tab or server stored this turn first: this copy of the session is stale. Drop it (the
            # next request reads the session as stored) and keep the trainee's text in the box.
            undo()
            with self._lock:
                self._runs.pop(key, None)
            raise SessionMovedOn("This session took a reply in another tab or window while you were sending "
                                 "yours; it now shows where it is. Your text is still in the box.") from None
        except DBAPIError as exc:
            # Not stored, so not sent: the session goes back to before this reply, and the trainee sends it
            # again once the database answers. Nothing is half-written (one transaction per turn).
            undo()
            if user is not None:
                with self._lock:
                    self._recorded.discard(key)
                    self._pending[key] = user
            log.error("could not store a turn of session %s: %s", key, type(exc.orig or exc).__name__)
            raise StorageUnavailable(_storage_message(exc)) from None
        return result

    def review_context(self, turn_id: int) -> tuple[Scenario | None, PracticeSession, list[Turn]] | None:
        """What a reviewer reads beside a stored reply: the scenario (customer record, policy) as the session
        had it, else as the library has it now, else None (an imported transcript); the session; its turns."""
        found = self.db.conversation_of(turn_id)
        if found is None:
            return None
        row, turns = found
        scenario = stored_scenario(row.scenario_json)
        if scenario is None and row.source == "practice":
            scenario = self.library.scenarios.get(row.scenario_id)
        return scenario, row, turns

    def run(self, run_id: str, user: str | None = None) -> Run:
        """A practice run: a stored session as the database has it now (whichever process took its last
        turn), else one this process holds (a playtest, or a session before its first reply). With `user`,
        only if it is theirs (another user's run is answered exactly like a missing one, so ids cannot be
        probed)."""
        with self._lock:
            run = self._runs.get(run_id)
            owner = self._owners.get(run_id)
            recorded = run_id in self._recorded
        if run is None or recorded:
            try:
                run, owner = self._stored_run(run_id, run, owner)
            except NotResumable as exc:  # why, only to its owner: to anyone else it is missing
                run, owner = None, exc.owner
                if user is None or user == exc.owner:
                    raise UnknownRunError(str(exc)) from None
        if run is None or (user is not None and owner is not None and owner != user):
            raise UnknownRunError(f"no practice session {run_id!r}; start a new one")
        return run

    def _stored_run(self, run_id: str, held: Run | None, owner: str | None) -> tuple[Run | None, str | None]:
        """The stored session, reusing this process's copy while no other process has added a turn to it."""
        if not run_id or len(run_id) > 64:
            return None, None
        if held is not None and self.db.turn_count(run_id) == len(held.session.messages):
            return held, owner
        stored = self.db.load_run(run_id)
        if stored is None:
            return None, None
        run = self.practice.resume(stored.session, stored.results)
        with self._lock:
            self._runs[run_id] = run
            self._owners[run_id] = stored.owner
            self._recorded.add(run_id)
        return run, stored.owner

    def owner(self, run_id: str) -> str | None:
        with self._lock:
            return self._owners.get(run_id)

    def sessions(self, agent: str | None = None, unfinished: bool = False):
        """Stored practice sessions, newest first (`dojo sessions list`, "My sessions")."""
        return self.db.practice_sessions(agent, unfinished)
