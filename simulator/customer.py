"""The simulated customer: chooses what to convey from the script, and lets a model phrase it under guards.

State is explicit and replayable: `opening(scenario, seed) -> (turn, state)` and
`next_turn(scenario, state, reply, scores, seed) -> (turn, state)`; nothing is mutated in place.

What the customer conveys comes from the scenario (beats chosen from the reply's scores and acts, the fix it
offers judged against the scenario's resolutions and policy (`fixes.py`), the mood and patience); before the
beat they correct a wrong fact and answer the trainee's questions about themselves (`questions.py`). Only an
accepted resolution lets a beat end the session as resolved; a wrong fix never does. How it is phrased comes
from the backend. A phrasing is used only if it passes
every guard: close in meaning to the beat, no agent phrasing, keeps the beat's numbers and
references, keeps who does what (no I/you swap), its counts, days, times, question words and the customer's
own things, adds no demands, no hidden fact not yet unlocked, no repeat of an earlier turn, within the
channel's length; and, for the embedded model, which edits the line, drops or adds no word of meaning that is
not another word for one it replaces. The line itself is `says` or one of the scenario's other wordings
(`also_says`), drawn by the seed and, after the opening, the reply the turn answers: two trainees who write
differently get differently worded customers, and the same seed with the same replies replays the same session.
Otherwise that line itself is sent and the fallback is counted.

Then the persona's manner, drawn once at the opening from the scenario or its channel and difficulty
(`behaviour.py`): its writing style (`style.py`), and the uncooperative behaviours of harder customers (an
incomplete first message, "hello??" when the trainee is slow, an aside, a manager, a public threat), each a
scripted addition around the phrased line.
"""

from __future__ import annotations

import difflib
import logging
import re
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from simulator import behaviour
from simulator.backends import Backend, BackendUnavailable, Generation
from simulator.fixes import FixJudge, FixVerdict
from simulator.questions import Answer, answer_questions
from simulator.register import frame
from simulator.reply_acts import ReplyActs, analyse
from simulator.scenario import Beat, Scenario
from simulator.style import apply_style

log = logging.getLogger(__name__)
NO_FIX = FixVerdict()
MOOD_START = {"calm": 0.1, "annoyed": 0.35, "frustrated": 0.6, "angry": 0.8}


@dataclass(frozen=True)
class Difficulty:
    """What a scenario's difficulty level does to the customer."""

    gain: float  # how fast frustration moves with each reply
    patience_drop: int  # unhelpful replies fewer than the persona's patience before they give up
    volunteers: bool  # offers a hidden fact unasked when they have nothing new to say
    escalate_at: float  # frustration at which they escalate or leave whatever the reply
    extra_frustration: float  # added to the persona's starting mood


DIFFICULTY = {
    1: Difficulty(gain=0.7, patience_drop=0, volunteers=True, escalate_at=0.97, extra_frustration=0.0),
    2: Difficulty(gain=1.0, patience_drop=1, volunteers=False, escalate_at=0.92, extra_frustration=0.0),
    3: Difficulty(gain=1.4, patience_drop=2, volunteers=False, escalate_at=0.85, extra_frustration=0.1),
}

AGENT_PHRASES = re.compile(
    r"how (can|may) i (help|assist)|thank(s| you) for (contacting|reaching out|your patience)|"
    r"i('m| am) (sorry|happy to help)|i apologi[sz]e|is there anything else|as an ai|"
    r"we('re| are) (sorry|happy to)|our team (will|is)|dear customer|please provide|"
    r"i can help you|let me (check|look)|your (order|parcel|package|account) (has|is|was)", re.I)
META = re.compile(r"\b(rewrite|reword|paraphrase|rephrase|smollm|assistant|language model|the message|"
                  r"mood:|message:|text:)\b|\[[^\]]*\]|\(insert|<\|", re.I)
AGAIN = ("Again,", "Like I said,", "I'll ask again:", "As I said,")
NEGATION = re.compile(r"n't\b|\b(not|no|never|nothing|nobody|none|cannot|neither|nor)\b", re.I)
GOODBYE = re.compile(r"\b(bye|goodbye|have a (good|great|nice) (day|one|evening)|take care|that's all( i need)?|"
                     r"all sorted|thanks for (all )?your help|problem solved)\b", re.I)
_STOPWORDS = (
    "the and for that this with have has had are was were you your yours it's its i'm i've i'll i'd me my mine "
    "our ours they them their what when where which who will would could should can just also been being "
    "from into then than there here about please really very still some any")
STOPWORDS = frozenset(_STOPWORDS.split())
FEW_SHOT = (
    "Each customer message below is rewritten in the customer's own words. The meaning, names and numbers "
    "stay the same.\n\n"
    "Original: My order hasn't arrived and it's been a week.\n"
    "Rewritten (angry): It's been a WEEK and my order still isn't here.\n\n"
    "Original: Can you tell me when the refund will come?\n"
    "Rewritten (calm): Could you let me know when I should expect the refund?\n\n"
    "Original: The app logs me out every time I open it.\n"
    "Rewritten (frustrated): Every single time I open the app it logs me out again.\n\n")
TOKENS_TO_KEEP = re.compile(r"[A-Za-z]*\d[\w-]*|£\d+(?:\.\d+)?|\$\d+(?:\.\d+)?|€\d+(?:\.\d+)?")


class Embedder(Protocol):
    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class CustomerState:
    frustration: float
    replies: int = 0
    played: tuple[str, ...] = ()
    revealed: tuple[str, ...] = ()
    said: tuple[str, ...] = ()
    strikes: int = 0
    outcome: str | None = None
    cited: tuple[str, ...] = ()  # knowledge-base articles the trainee has cited so far
    resolution: str | None = None  # the accepted resolution that resolved the case
    style: tuple[str, ...] = ()  # how this customer writes (style.py), drawn once at the opening
    behaviours: tuple[str, ...] = ()  # what this customer may do beyond the script (behaviour.py)
    done: tuple[str, ...] = ()  # the once-a-session behaviours already done
    pending: str = ""  # what an incomplete first message left out, said with the next message

    @property
    def mood(self) -> str:
        return mood_name(self.frustration)


@dataclass(frozen=True)
class CustomerTurn:
    text: str
    beat: str
    guard: str
    latency_ms: float
    candidates: int
    outcome: str | None = None
    rejected: tuple[str, ...] = ()  # the guard that refused each refused candidate
    fix: FixVerdict = NO_FIX  # the fix the reply it answers offered, judged against the scenario
    answers: tuple[Answer, ...] = ()  # the reply's questions the customer answered
    behaviours: tuple[str, ...] = ()  # the uncooperative behaviours this turn shows


def mood_name(frustration: float) -> str:
    if frustration < 0.2:
        return "calm"
    if frustration < 0.5:
        return "annoyed"
    if frustration < 0.8:
        return "frustrated"
    return "angry"


@dataclass(frozen=True)
class CustomerConfig:
    candidates: int = 3
    max_new_tokens: int = 56  # upper bound; each request asks for about what the beat needs
    min_similarity: float = 0.7
    temperature: float = 0.7
    min_coverage: float = 0.5  # share of the beat's content words a phrasing keeps (0 for free rewriters)
    # Every content word the phrasing drops or adds must be a known rewording (`edited_content`): for a model
    # that edits the line (the embedded completion model) always; for a free rewriter only when its phrasing
    # is a near-copy of the line (at least `COPY` of the words in order), where one changed word is the change.
    strict_edits: bool = True
    fix_match: float = 0.0  # least similarity for a reply to offer a scenario fix; 0 = the embedder's default
    # The wording of a turn (which of the line's wordings, the sentence the model rewrites, its sampling, the
    # style's slips) drawn by the seed and the reply it answers; False: by the seed alone, so that every trainee
    # of one seed gets the same words wherever the script takes the same turn (the customer before issue 17).
    wording_follows_reply: bool = True


class Customer:
    def __init__(self, backend: Backend, embedder: Embedder, config: CustomerConfig | None = None):
        self.backend = backend
        self.embedder = embedder
        self.config = config or CustomerConfig()
        self.fixes = FixJudge(embedder, self.config.fix_match or None)

    # --- the two moves ----------------------------------------------------------------------------

    def opening(self, scenario: Scenario, seed: int = 0) -> tuple[CustomerTurn, CustomerState]:
        level = DIFFICULTY[scenario.difficulty]
        manner = behaviour.draw(scenario.channel.value, scenario.difficulty, seed, scenario.persona.style,
                                scenario.persona.behaviours, scenario.id)
        state = CustomerState(frustration=min(1.0, MOOD_START[scenario.persona.mood] + level.extra_frustration),
                              style=manner.style, behaviours=manner.behaviours)
        line, pending = wording(scenario.opening, scenario.opening_also_says, seed, "opening"), ""
        cut = behaviour.incomplete_opening(line, scenario.channel.value)
        if "incomplete_opening" in manner.behaviours and cut:
            line, pending = cut
        turn = self._phrase(scenario, state, "opening", line, seed, first=True)
        shown = ("incomplete_opening",) if pending else ()
        return replace(turn, behaviours=shown), replace(state, said=(turn.text,), played=("opening",),
                                                        pending=pending, done=shown)

    def next_turn(self, scenario: Scenario, state: CustomerState, reply: str,
                  scores: Mapping[str, float], seed: int = 0,
                  waited_s: float | None = None) -> tuple[CustomerTurn, CustomerState]:
        """`waited_s`: how long the trainee took to answer (an impatient customer on a live channel notices)."""
        if state.outcome:
            raise ValueError(f"the session already ended ({state.outcome})")
        acts = analyse(reply, scenario)
        fix = self.fixes.judge(reply, scenario, revealed=(*state.revealed, *acts.asked_for), cited=state.cited)
        voice = reply_seed(seed, reply) if self.config.wording_follows_reply else seed  # how it is worded
        answers = answer_questions(reply, scenario, acts, voice)
        before = state
        state = self._react(scenario, state, scores, acts, fix, answers)
        state = replace(state, cited=tuple(dict.fromkeys((*state.cited, *acts.cited))),
                        revealed=tuple(dict.fromkeys((*state.revealed, *fix.corrected_facts))))
        nudge = ""
        if "impatience" in state.behaviours:
            nudge = behaviour.nudge(scenario.channel.value, waited_s, scenario.response_standard_s, seed)
        shown = ("impatience",) if nudge else ()
        # What the customer says first: corrections of what the trainee got wrong, answers to their questions.
        lead = " ".join([*fix.corrections, *(a.says for a in answers if a.says)])
        lead = " ".join(x for x in (nudge, lead) if x)
        if state.pending:  # the rest of an incomplete first message: the trainee could not have answered it yet
            state = replace(state, strikes=before.strikes, frustration=max(before.frustration, state.frustration))
            turn = self._phrase(scenario, state, "opening:rest", state.pending, voice, lead=lead)
            turn = replace(turn, fix=fix, answers=answers, behaviours=shown)
            return turn, replace(state, pending="", said=(*state.said, turn.text))
        beat = self._choose(scenario, state, scores, acts, fix, answers)
        if beat is None:
            outcome = "escalated" if state.frustration >= 0.5 else "abandoned"
            if state.replies >= scenario.max_turns:
                outcome = "max_turns"
            text = scenario.endings.get(outcome, scenario.endings["abandoned"])
            turn = self._phrase(scenario, state, f"ending:{outcome}", text, voice, lead=lead)
            turn = replace(turn, outcome=outcome, fix=fix, answers=answers, behaviours=shown)
            return turn, replace(state, outcome=outcome, said=(*state.said, turn.text))
        revealed = tuple(dict.fromkeys((*state.revealed, *beat.reveals)))
        state = replace(state, revealed=revealed)
        outcome = beat.ends
        if outcome is None and state.replies >= scenario.max_turns:
            outcome = "max_turns"
        extras = behaviour.extras(state.behaviours, state.done, state.frustration, state.replies,
                                  scenario.channel.value, seed, ending=outcome is not None)
        line = wording(beat.says, beat.also_says, voice, beat.id)
        turn = self._phrase(scenario, state, beat.id, line, voice, lead=lead, tail=extras)
        shown = (*shown, *turn.behaviours)  # the extras the channel had room for
        turn = replace(turn, outcome=outcome, fix=fix, answers=answers, behaviours=shown)
        resolution = fix.offered if outcome == "resolved" else state.resolution
        return turn, replace(state, played=(*state.played, beat.id), said=(*state.said, turn.text),
                             outcome=outcome, resolution=resolution,
                             done=tuple(dict.fromkeys((*state.done, *shown))))

    # --- what the customer feels and conveys -----------------------------------------------------

    def _react(self, scenario: Scenario, state: CustomerState, scores: Mapping[str, float],
               acts: ReplyActs, fix: FixVerdict, answers: Sequence[Answer]) -> CustomerState:
        care = (scores.get("empathy", 0.5) + scores.get("ownership", 0.5)) / 2
        # A clarifying question (a hidden fact, or anything they can answer) is progress, never a wasted turn.
        pertinent = [a for a in answers if a.topic != "secret"]
        helps = max(scores.get("solution", 0.5), 0.6 if (acts.asked_for or pertinent) else 0.0)
        if fix.wrong:  # a wrong fix does not help, however confidently it is put
            helps = min(helps, 0.2)
        elif fix.offered and scenario.resolutions:
            helps = max(helps, 0.6)
        gain = DIFFICULTY[scenario.difficulty].gain
        delta = gain * (0.25 * (0.5 - care) + 0.35 * (0.5 - helps))
        if acts.personal_data_in_public or acts.reasked_bot_data or acts.secrets_requested:
            delta += 0.2 * gain
        frustration = float(np.clip(state.frustration + delta, 0.0, 1.0))
        strikes = state.strikes + (1 if helps < 0.35 else 0)
        return replace(state, frustration=frustration, strikes=strikes, replies=state.replies + 1)

    def _choose(self, scenario: Scenario, state: CustomerState, scores: Mapping[str, float],
                acts: ReplyActs, fix: FixVerdict, answers: Sequence[Answer] = ()) -> Beat | None:
        level = DIFFICULTY[scenario.difficulty]
        patience = max(1, scenario.persona.patience - level.patience_drop)
        if state.frustration >= level.escalate_at or state.strikes > patience:
            return None
        asked = bool(acts.asked_for or any(a.topic != "secret" for a in answers))
        if fix.wrong:  # the scenario's own beat for a wrong fix, else the wrong answer's reaction, said once
            for beat in scenario.beats:
                if beat.id not in state.played and beat.when.wrong_fix and _holds(beat, state, scores, acts, fix,
                                                                                    scenario):
                    return beat
            wrong = next(w for w in scenario.wrong_answers if w.id == fix.wrong)
            if wrong.customer_says and f"wrong:{wrong.id}" not in state.played:
                return Beat(id=f"wrong:{wrong.id}", says=wrong.customer_says)
        for beat in scenario.beats:
            if beat.id in state.played:
                continue
            if asked and beat.when.below and beat.ends != "resolved":
                continue  # a reaction to an unhelpful reply: a pertinent question is not one
            if _holds(beat, state, scores, acts, fix, scenario):
                return beat
        if state.replies >= scenario.max_turns:
            return None
        if level.volunteers:  # an easy customer offers what they know before they repeat themselves
            unsaid = [f for f in scenario.facts if f.id not in state.revealed and f.id not in scenario.bot_collected]
            if unsaid:
                return Beat(id=f"volunteers:{unsaid[0].id}", says=unsaid[0].says, reveals=(unsaid[0].id,))
        # Nothing new to say: the last unconditioned beat again, phrased anew by the model.
        repeatable = [b for b in scenario.beats if b.when == type(b.when)() and not b.ends]
        return repeatable[-1] if repeatable else None

    # --- phrasing under guards -------------------------------------------------------------------

    def _phrase(self, scenario: Scenario, state: CustomerState, beat_id: str, line: str, seed: int,
                first: bool = False, lead: str = "", tail: Sequence[tuple[str, str]] = ()) -> CustomerTurn:
        """Phrase the beat's line under the guards; `lead` (answers, corrections) goes before it as written,
        `tail` ((behaviour, words): an aside, a demand) after it where the channel has room; the turn's
        `behaviours` are those added."""
        started = time.perf_counter()
        before, part, after = split_for_rewrite(line, seed)
        prompt, prefix = self.completion_prompt(state, part)
        words_left = max(1, len(part.split()) - len(prefix.split()))
        request = Generation(messages=self.prompt(scenario, state, line, first), reference=line,
                             n=self.config.candidates,
                             max_new_tokens=min(self.config.max_new_tokens, int(1.5 * words_left) + 6),
                             temperature=self.config.temperature, seed=seed, prompt=prompt, prefix=prefix)
        unavailable = False
        try:
            raw = self.backend.generate(request)
        except BackendUnavailable as exc:  # an endpoint went away: the session goes on with the scenario's line
            log.warning("customer backend unavailable, sending the scenario's line: %s", exc)
            raw, unavailable = [], True
        if request.prompt and getattr(self.backend, "style", "chat") == "completion":
            # A completion model rewrote one sentence of the line: put it back among the others.
            raw = [" ".join(x for x in (before, clean(c, part), after) if x) for c in raw]
        candidates = [clean(c, line) for c in raw]
        verdicts, similarity = self._judge(scenario, state, line, candidates)
        passing = [(similarity[i], c) for i, (c, reason) in enumerate(zip(candidates, verdicts, strict=True))
                   if reason is None]
        changed = [(sim, c) for sim, c in passing if c.strip() != line.strip()]
        if changed:  # the closest in meaning among those that really rephrase
            text, guard = max(changed)[1], "model"
        elif passing:  # the model gave the line back unchanged (the scripted backend always does)
            text, guard = line, "script" if self.backend.name == "scripted" else "model_verbatim"
        else:
            reasons = sorted({r for r in verdicts if r})
            text, guard = line, "fallback:" + (",".join(reasons) or ("backend_unavailable" if unavailable
                                                                      else "no candidates"))
        if guard != "model" and any(line.strip() in said for said in state.said):
            # The same beat again (nothing new to say) and no fresh phrasing: say so, as people do.
            text = f"{AGAIN[seed % len(AGAIN)]} {line[0].lower()}{line[1:]}" if line else line
        if lead:
            room = scenario.channel_spec.max_chars - len(lead) - 1
            text = f"{lead} {text}" if len(text) <= room else lead
        added = []
        for name, words in tail:
            if len(text) + len(words) + 1 <= scenario.channel_spec.max_chars:
                text, added = f"{text} {words}", [*added, name]
        text = apply_style(text, state.style, state.mood, scenario.channel.value, seed)
        text = frame(scenario, state, text, first, seed)
        latency = (time.perf_counter() - started) * 1000
        return CustomerTurn(text=text, beat=beat_id, guard=guard, latency_ms=latency, candidates=len(candidates),
                            rejected=tuple(r for r in verdicts if r), behaviours=tuple(added))

    def completion_prompt(self, state: CustomerState, line: str) -> tuple[str, str]:
        """Few-shot text for completion models, and the forced start of the rewrite: the beat's first
        words, which keeps a small model on this message instead of inventing another."""
        words = line.split()
        keep = 3 if len(words) >= 8 else (2 if len(words) >= 4 else 1)
        prefix = " ".join(words[:keep])
        return f"{FEW_SHOT}Original: {' '.join(words)}\nRewritten ({state.mood}): ", prefix

    def prompt(self, scenario: Scenario, state: CustomerState, line: str, first: bool) -> list[dict[str, str]]:
        """Chat messages for models that can rewrite freely (larger local models, OpenAI-compatible servers).
        Only the scenario's line goes in: the trainee's text never reaches the model."""
        persona = scenario.persona
        register = scenario.channel_spec.register
        system = ("You are a customer writing to a company's support team. You rewrite a message in your "
                  "own words. Keep every fact, name and number, and add nothing new. Write only the "
                  "message body, as the customer: no greeting line, no signature, no quotes.")
        user = (f"Rewrite this message as {register}. You are {persona.name}; you feel {state.mood}; "
                f"your style: {persona.voice}.\n\nMessage: {line}")
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def guard(self, scenario: Scenario, state: CustomerState, line: str,
              candidates: Sequence[str]) -> list[str | None]:
        """For each candidate: None if it may be sent, else the name of the first guard it fails."""
        return self._judge(scenario, state, line, candidates)[0]

    def _judge(self, scenario: Scenario, state: CustomerState, line: str,
               candidates: Sequence[str]) -> tuple[list[str | None], list[float]]:
        if not candidates:
            return [], []
        vectors = self.embedder.embed([line, *candidates, *state.said])
        beat_vec, cand_vecs, said_vecs = vectors[0], vectors[1:1 + len(candidates)], vectors[1 + len(candidates):]
        hidden = [f for f in scenario.facts if f.id not in state.revealed and f.says not in line]
        keep = set(TOKENS_TO_KEEP.findall(line))
        names = proper_nouns(line)
        limit = min(scenario.channel_spec.max_chars, int(2.5 * len(line)) + 60)
        content = _content_words(line)
        negations = len(NEGATION.findall(line))
        says_goodbye = bool(GOODBYE.search(line))
        out: list[str | None] = []
        sims: list[float] = []
        for text, vec in zip(candidates, cand_vecs, strict=True):
            sim = float(beat_vec @ vec)
            earlier = float((said_vecs @ vec).max()) if len(said_vecs) else 0.0
            sims.append(sim)
            if not text.strip():
                out.append("empty")
            elif len(text) > limit:
                out.append("too_long")
            elif _rambles(text):
                out.append("rambling")
            elif AGENT_PHRASES.search(text):
                out.append("role_swap")
            elif META.search(text):
                out.append("meta")
            elif not keep.issubset(set(TOKENS_TO_KEEP.findall(text))) or not names.issubset(proper_nouns(text)
                                                                                          | set(text.split())):
                out.append("lost_detail")
            elif any(_leaks(text, fact.says) for fact in hidden):
                out.append("leak")
            elif len(said_vecs) and earlier > max(sim, 0.8) and float(said_vecs[0] @ vec) == earlier:
                out.append("restart")  # closer to the opening than to what is due now: starting over
            elif any(t.strip().lower() == text.strip().lower() for t in state.said) or earlier > 0.97 or (
                    earlier > max(sim, 0.8)):
                out.append("repeat")
            elif GOODBYE.search(text) and not says_goodbye:
                out.append("ends_early")
            elif len(NEGATION.findall(text)) != negations:
                out.append("meaning_flip")
            elif swaps_person(line, text):
                out.append("swap")
            elif not numbers_kept(line, text):
                out.append("changed_quantity")
            elif not own_things_kept(line, text):
                out.append("changed_object")
            elif not times_kept(line, text):
                out.append("changed_time")
            elif not questions_kept(line, text):
                out.append("changed_request")
            elif (edit := word_edit(line, text)) is not None:
                out.append(edit)
            elif content and len(content & _content_words(text)) < self.config.min_coverage * len(content):
                out.append("dropped_content")
            elif sim < self.config.min_similarity:
                out.append("off_script")
            elif ((self.config.strict_edits or copy_ratio(line, text) >= COPY)
                  and content_edit(line, text, self.embedder) is not None):
                out.append("edited_content")
            else:
                out.append(None)
        return out, sims


FIRST_PERSON = frozenset(["i", "i'm", "im", "i've", "ive", "i'll", "ill", "i'd", "me", "my", "mine", "myself"])
SECOND_PERSON = frozenset(["you", "you're", "youre", "you've", "you'll", "you'd", "your", "yours", "yourself", "u",
                           "ur"])


def _persons(text: str) -> tuple[int, int]:
    text = re.sub(r"\b(thank you|thank u|see you|you know|if you (like|want|can))\b", " ", text.lower())
    words = re.findall(r"[a-z']+", text.replace("’", "'"))
    return sum(w in FIRST_PERSON for w in words), sum(w in SECOND_PERSON for w in words)


def swaps_person(line: str, text: str) -> bool:
    """Who does what, or whose it is, flipped: fewer I/my and more you/your than the line, or the reverse
    ("send my headphones to my work" -> "send me your headphones"); or, with the counts unchanged, a person
    put in another's place ("YOUR website with MY account" -> "MY website with YOUR account")."""
    (l1, l2), (c1, c2) = _persons(line), _persons(text)
    return (c1 < l1 and c2 > l2) or (c1 > l1 and c2 < l2) or _swapped_in_place(line, text)


PERSON = {**dict.fromkeys(FIRST_PERSON | {"we", "us", "our", "ours"}, 1), **dict.fromkeys(SECOND_PERSON, 2)}


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower().replace("’", "'").replace("'", " "))


def _swapped_in_place(line: str, text: str) -> bool:
    """Aligned word for word, a stretch of the phrasing that replaces the line's words has the same number of
    persons but not in the same order ("you can send me" -> "I can send you")."""
    a, b = _words(line), _words(text)
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "replace":
            old = [PERSON[w] for w in a[i1:i2] if w in PERSON]
            new = [PERSON[w] for w in b[j1:j2] if w in PERSON]
            if old and len(old) == len(new) and old != new:
                return True
    return False


COPY = 0.85  # share of a free rewriter's words that follow the line in order, above which it is a near-copy


def copy_ratio(line: str, text: str) -> float:
    """How much of the phrasing is the line's own words in the line's order (1.0: the same words)."""
    return difflib.SequenceMatcher(None, _words(line), _words(text), autojunk=False).ratio()


_TIME_WORDS = (
    "monday tuesday wednesday thursday friday saturday sunday today tonight tomorrow yesterday morning afternoon "
    "evening night weekend week month year hour minute am pm january february march april june july august "
    "september october november december")
TIME_WORDS = frozenset(_TIME_WORDS.split())


def times_kept(line: str, text: str) -> bool:
    """Every day and time the line names is still there ("Thursday morning" -> "Thursday afternoon" is not)."""
    return {w for w in _words(line) if w in TIME_WORDS} <= {w for w in _words(text) if w in TIME_WORDS}


QUESTION_WORDS = frozenset(("when", "where", "what", "why", "how", "who", "which", "whose"))


def questions_kept(line: str, text: str) -> bool:
    """The line's questions still ask the same thing: no when/where/what/... is lost ("When is the new
    appointment?" -> "Is there a new appointment?")."""
    return {w for w in _words(line) if w in QUESTION_WORDS} <= set(_words(text))


NUMBER_WORDS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
                "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "twenty": "20",
                "thirty": "30", "hundred": "100", "dozen": "12", "twice": "2", "once": "1", "half": "half",
                "both": "2"}


def _numbers(text: str) -> set[str]:
    words = re.findall(r"[a-z]+|\d+", text.lower())
    return {NUMBER_WORDS.get(w, w) for w in words if w in NUMBER_WORDS or w.isdigit()}


def numbers_kept(line: str, text: str) -> bool:
    """Every count in the line, in words or digits ("four days", "twice", "both"), is still in the phrasing."""
    return _numbers(line) <= _numbers(text)


# What the customer's own things may also be called: a rewording may say "package" for "parcel".
SAME_THING = [{"parcel", "package", "delivery", "order", "item", "box"}, {"refund", "money"},
              {"account", "login"}, {"card", "payment"}, {"bill", "invoice", "charge"}, {"email", "message"},
              {"work", "office", "job"}, {"home", "house", "flat", "place"}, {"phone", "mobile"}]


def _stem(word: str) -> str:
    """A plural or third-person "-s" off: "boxes" -> "box", "charges" -> "charge", "parcels" -> "parcel"."""
    if len(word) > 4 and re.search(r"(ss|sh|ch|x|z)es$", word):
        return word[:-2]
    return word[:-1] if word.endswith("s") and not word.endswith("ss") and len(word) > 3 else word


def own_things_kept(line: str, text: str) -> bool:
    """The customer's own things in the line ("my rent", "my headphones", "my work") are still named, or called
    something that means the same ("my rent goes out" -> "I have to pay for it" changes what it is about)."""
    said = {_stem(w) for w in re.findall(r"[a-z]+", text.lower())}
    for word in re.findall(r"\bmy\s+([a-z]+)", line.lower()):
        stem = _stem(word)
        same = next((g for g in SAME_THING if stem in g or word in g), {stem})
        if not ({_stem(w) for w in same} | {stem}) & said:
            return False
    return True


def _norm_words(text: str) -> set[str]:
    words = {_stem(w) for w in _content_words(text)}
    for group in SAME_THING:  # one name for things that are the same thing
        stems = {_stem(g) for g in group}
        if words & stems:
            words = (words - stems) | {min(stems)}
    return words


def word_edit(line: str, text: str) -> str | None:
    """A phrasing that keeps every word of the line and tacks on new ones ("... and gift-wrapped") adds to what was
    said. (Refusing a one-word swap, "a kettle" -> "a toaster", caught more of the labeled edits but also most of
    the model's real synonym rewordings: not done.)"""
    old, new = _norm_words(line), _norm_words(text)
    if len(old) < 3:
        return None
    kept = len(old & new) / len(old)
    if kept == 1.0 and len(new - old) >= 2:
        return "added_content"
    return None


# Words a rewording may drop or add without changing what the customer says: articles, pronouns, fillers,
# softeners and intensifiers ("just", "really", "exactly", "already", "though"). "too", "again" and "now" are
# not among them: "I need it by Saturday too" says something new.
_LIGHT_WORDS = (
    "a an to of in on at by or but so if as is am be do does did not no yes yeah ok okay well hi hey hello thanks "
    "thank cheers just exactly actually truly literally totally quite even then sure right it that those these all "
    "already though anymore more next time before last able ability possible everything anything something "
    "thing myself honestly seriously like kind kinda sort bit little lot much going gonna want wanna need "
    "know let out up")
LIGHT_WORDS = STOPWORDS | frozenset(_LIGHT_WORDS.split())
# Words for the same thing in customers' messages, beyond SAME_THING (the customer's own things).
SYNONYMS = [{"sort", "sorting", "sorted", "fix", "fixed", "fixing", "resolve", "resolved"},
            {"quick", "quickly", "fast", "soon"}, {"ring", "rang", "call", "called", "phone"}, {"turn", "switch"},
            {"reply", "replied", "answer", "answered", "respond", "responded"},
            {"send", "sent", "post", "posted", "ship", "shipped", "dispatch", "dispatched"},
            {"get", "got", "receive", "received"}, {"present", "gift"}, {"shop", "store"}, {"broken", "faulty"},
            {"buy", "bought", "purchase", "purchased"}, {"ridiculous", "absurd", "joke"}, {"happy", "glad"},
            {"help", "assist"}, {"great", "brilliant", "lovely", "amazing", "fantastic"},
            {"hope", "hoped", "hoping", "expect", "expected"}, {"hassle", "trouble", "bother"}, {"cook", "make"},
            {"trip", "holiday", "vacation", "travel"}, {"appreciate", "grateful"}, {"long", "forever", "ages"},
            {"speak", "talk"}, {"get", "arrive", "come", "reach"}]
_SYNONYM_STEMS = [g | {_stem(w) for w in g} for g in SYNONYMS]
SAME_WORD = 0.8  # MiniLM similarity of two words above which a rewording may use one for the other
CONTRACTIONS = [(r"won't", "will not"), (r"can't|cannot", "can not"), (r"n't\b", " not"), (r"'re\b", " are"),
                (r"'ve\b", " have"), (r"'ll\b", " will"), (r"'d\b", " would"), (r"\bi'm\b|\bim\b", "i am"),
                (r"'s\b", "")]


def _canon(word: str) -> str:
    stem = _stem(word)
    group = next((g for g in SAME_THING if stem in {_stem(x) for x in g}), None)
    return min(_stem(x) for x in group) if group else stem


def _meaning_words(text: str) -> set[str]:
    text = text.lower().replace("’", "'")
    for pattern, full in CONTRACTIONS:
        text = re.sub(pattern, full, text)
    words = re.findall(r"[a-z]*\d[\w.-]*|£\d+(?:\.\d+)?|[a-z]+", text)
    return {_canon(w) for w in words if w not in LIGHT_WORDS and _stem(w) not in LIGHT_WORDS and len(w) > 1}


def _related(a: str, b: str, similarity: float) -> bool:
    return ((min(len(a), len(b)) >= 4 and a[:4] == b[:4]) or any(a in g and b in g for g in _SYNONYM_STEMS)
            or similarity >= SAME_WORD)


def content_edit(line: str, text: str, embedder: Embedder) -> str | None:
    """The first word of meaning the phrasing drops ("dropped: brand") or adds ("added: holiday") that is not
    another word for one it replaces, or None. A small model that edits the line changes what the customer
    says with one word ("off work for an installation" -> "for a holiday", "buy another brand" -> "get you a
    new one"); on its rewordings that three blind labelers judged, most that keep the meaning change only
    light words (bench/data/README.md)."""
    old, new = _meaning_words(line), _meaning_words(text)
    lost, gained = sorted(old - new), sorted(new - old)
    if not lost and not gained:
        return None
    similarity = np.zeros((len(lost), len(gained)))
    if lost and gained:
        vectors = embedder.embed([*lost, *gained])
        similarity = vectors[:len(lost)] @ vectors[len(lost):].T
    free = list(range(len(gained)))
    for i, word in enumerate(lost):
        match = next((j for j in free if _related(word, gained[j], float(similarity[i, j]))), None)
        if match is None:
            return f"dropped: {word}"
        free.remove(match)
    return f"added: {gained[free[0]]}" if free else None


def _holds(beat: Beat, state: CustomerState, scores: Mapping[str, float], acts: ReplyActs,
           fix: FixVerdict, scenario: Scenario) -> bool:
    w = beat.when
    if beat.ends == "resolved":
        if fix.wrong:
            return False  # a wrong fix never resolves the case
        if scenario.resolutions and fix.resolution is None:
            return False  # only an accepted resolution, with what it needs, resolves it
    checks = [
        w.offered is None or (fix.resolution is not None and w.offered in ("any", fix.resolution)),
        w.wrong_fix is None or w.wrong_fix == bool(fix.wrong),
        w.asked_for is None or w.asked_for in acts.asked_for,
        w.cited is None or w.cited in acts.cited,
        w.after is None or w.after in state.played,
        not w.below or any(scores.get(c, 0.5) < level for c, level in w.below.items()),
        not w.above or all(scores.get(c, 0.5) >= level for c, level in w.above.items()),
        w.min_turn is None or state.replies >= w.min_turn,
        w.personal_data_in_public is None or w.personal_data_in_public == bool(acts.personal_data_in_public),
        w.reasked_bot_data is None or w.reasked_bot_data == bool(acts.reasked_bot_data),
    ]
    return all(checks)


def reply_seed(seed: int, reply: str) -> int:
    """The seed a turn is worded by: the turn's seed and the reply it answers (stable across processes)."""
    return zlib.crc32(f"{seed}:{reply}".encode()) & 0x7FFFFFFF


def wording(says: str, also_says: Sequence[str], seed: int, key: str) -> str:
    """The wording of a line this turn: `says` or one of the scenario's other wordings, drawn by the seed and
    the beat (the same seed gives the same wording; another session or turn may give another)."""
    choices = [says, *also_says]
    return choices[zlib.crc32(f"{seed}:{key}".encode()) % len(choices)]


def split_for_rewrite(line: str, seed: int) -> tuple[str, str, str]:
    """(before, sentence, after): the one sentence a small model rewrites this time, chosen by the seed
    among the line's longer sentences; the rest is kept as written. A whole line is one sentence."""
    sentences = [x for x in re.split(r"(?<=[.!?])\s+", line.strip()) if x]
    if len(sentences) < 2:
        return "", line.strip(), ""
    longer = [i for i, x in enumerate(sentences) if len(x.split()) >= 4] or list(range(len(sentences)))
    i = longer[seed % len(longer)]
    return " ".join(sentences[:i]), sentences[i], " ".join(sentences[i + 1:])


def proper_nouns(text: str) -> set[str]:
    """Capitalised words inside a sentence (names, places, days, products): a rephrasing must keep them."""
    out = set()
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        for word in re.findall(r"[A-Za-z][\w'-]*", sentence)[1:]:
            if word[0].isupper() and not word.isupper() and word.split("'")[0] != "I":
                out.add(word)
    return out


def _content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z][a-z'-]{2,}", text.lower()) if w not in STOPWORDS}


def _rambles(text: str) -> bool:
    """Small models loop: the same sentence twice in one message."""
    parts = [p.strip().lower() for p in re.split(r"(?<=[.!?])\s+", text) if len(p.strip()) > 8]
    return len(parts) != len(set(parts))


def _leaks(text: str, fact: str) -> bool:
    """A candidate leaks a hidden fact if it repeats the fact's numbers or references."""
    tokens = set(TOKENS_TO_KEEP.findall(fact))
    return bool(tokens) and bool(tokens & set(TOKENS_TO_KEEP.findall(text)))


def clean(text: str, reference: str = ".") -> str:
    """Trim what small models wrap around a message: quotes, labels, and a trailing unfinished sentence
    (cut off by the token limit) unless the scenario's own line ends without punctuation too."""
    text = text.strip()
    text = re.sub(r"^(customer|message|reworded|rewritten)( message)?\s*:\s*", "", text, flags=re.I)
    if len(text) >= 2 and text[0] in "\"'“" and text[-1] in "\"'”":
        text = text[1:-1].strip()
    ends = ".!?)\"'"
    if text and text[-1] not in ends and re.search(r"[.!?]", text) and reference.rstrip()[-1:] in ends:
        text = text[: max(text.rfind(c) for c in ".!?") + 1]
    return text
