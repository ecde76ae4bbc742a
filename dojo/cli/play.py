"""`dojo play`: a whole session from a file of trainee replies."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from dojo.cli.common import EXIT_USAGE, UsageError
from scoring import inputs
from scoring import scorecard as scorecards
from simulator.settings import Settings


def add_commands(sub) -> None:
    p = sub.add_parser("play", help="play a whole session from a file of trainee replies",
                       description="Play a scenario with trainee replies from FILE: plain text (one reply per "
                                   "line) or JSON lines ({\"text\": ..., \"delay_seconds\": ...}). Prints the "
                                   "transcript with each reply's scores and each customer turn's mood, beat, "
                                   "guard outcome and latency; --json prints one JSON document.")
    p.add_argument("scenario_id", metavar="SCENARIO_ID", nargs="?",
                   help="the scenario to play (not with --resume, which continues a stored session's)")
    p.add_argument("--replies", type=Path, required=True, metavar="FILE", help="the trainee's replies")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--seed", type=int, help="sampling seed (default: DOJO_SEED, else 0)")
    p.add_argument("--difficulty", type=int, choices=[1, 2, 3],
                   help="play the scenario at this difficulty instead of its own (1 patient ... 3 impatient, "
                        "uncooperative)")
    p.add_argument("--backend", choices=["scripted", "llamacpp", "transformers", "openai", "auto"],
                   help="who phrases the customer (default: DOJO_CUSTOMER_BACKEND)")
    p.add_argument("--agent", default="", metavar="NAME",
                   help="record the session and its turns under this user (a new name becomes a trainee), so that "
                        "`dojo progress NAME` reflects it")
    p.add_argument("--resume", metavar="SESSION_ID",
                   help="continue a stored, unfinished session (see `dojo sessions list --unfinished`) with the "
                        "replies from FILE; the JSON lists every turn of the session, the earlier ones included")
    p.set_defaults(handler=_play)

    s = sub.add_parser("sessions", help="stored practice sessions",
                       description="Practice sessions stored in the database, newest first.")
    ssub = s.add_subparsers(title="actions", metavar="ACTION")
    lst = ssub.add_parser("list", help="list practice sessions",
                          description="List stored practice sessions: id, agent, scenario, replies, outcome. An "
                                      "unfinished one can be continued in the app (My sessions) or with "
                                      "`dojo play --resume ID`.")
    lst.add_argument("--agent", metavar="NAME", help="only this agent's sessions")
    lst.add_argument("--unfinished", action="store_true", help="only sessions that have not ended")
    lst.add_argument("--json", action="store_true", help="print JSON")
    lst.set_defaults(handler=_sessions_list)


def read_replies(path: Path) -> list[tuple[str, float | None]]:
    """(text, delay in seconds or None) per reply: plain lines, or JSON lines with text/delay_seconds."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the replies file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None
    lines = [(i, line.strip()) for i, line in enumerate(inputs.lines(text), 1) if line.strip()]
    if not lines:
        raise UsageError(f"{path}: no replies in the file (one reply per line, or JSON lines)")
    if not all(line.startswith("{") for _, line in lines):
        return [(line, None) for _, line in lines]
    out = []
    for number, line in lines:
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise UsageError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        reply, delay = item.get("text") if isinstance(item, dict) else None, (item or {}).get("delay_seconds")
        if not isinstance(reply, str) or not reply.strip():
            raise UsageError(f"{path}:{number}: text: needs a non-empty string")
        if delay is not None and (isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0):
            raise UsageError(f"{path}:{number}: delay_seconds: {delay!r} is not a number of seconds >= 0")
        out.append((reply, None if delay is None else float(delay)))
    return out


def _play(args, settings: Settings) -> int:
    from dataclasses import replace

    from dojo.practice import ReplyError
    from dojo.services import Services, SessionMovedOn, StorageUnavailable, UnknownRunError

    if args.backend:
        settings = replace(settings, customer_backend=args.backend)
    services = Services.from_settings(settings)
    if bool(args.resume) == bool(args.scenario_id):
        print("dojo: play: give a SCENARIO_ID to start a session, or --resume SESSION_ID to continue one",
              file=sys.stderr)
        return EXIT_USAGE
    if args.resume and (args.difficulty or args.seed is not None):
        print("dojo: play --resume: the session keeps its own seed and difficulty", file=sys.stderr)
        return EXIT_USAGE
    try:
        replies = read_replies(args.replies)
        if not args.resume:
            scenario = services.library.get(args.scenario_id)
            if args.difficulty:
                scenario = replace(scenario, difficulty=args.difficulty)
    except KeyError as exc:
        print(f"dojo: {exc.args[0]}", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as exc:
        print(f"dojo: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not services.has_scorer():
        services.train()
    if args.resume:
        try:
            run = services.run(args.resume)
        except UnknownRunError as exc:
            print(f"dojo: {exc.args[0]}", file=sys.stderr)
            return EXIT_USAGE
        if run.session.ended:
            print(f"dojo: session {args.resume} has ended ({run.session.outcome}); nothing to continue",
                  file=sys.stderr)
            return EXIT_USAGE
        args.agent = services.owner(args.resume) or ""
    else:
        seed = args.seed if args.seed is not None else (settings.seed or 0)
        run = services.start_scenario(scenario, seed=seed, agent=args.agent or None)
    for text, delay in replies:
        if run.session.ended:
            break
        try:
            services.reply(run, text, delay_s=delay)
        except (ReplyError, StorageUnavailable, SessionMovedOn) as exc:
            print(f"dojo: {exc}", file=sys.stderr)
            return EXIT_USAGE
    doc = play_document(run, args.agent, len(replies))
    if args.json:
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        print_transcript(doc)
    return 0


def play_document(run, agent: str, supplied: int) -> dict:
    session = run.session
    turns = []
    results = iter(run.results)
    for i, m in enumerate(session.messages):
        turn = {"role": m.role, "text": m.text, "at_s": round(m.at, 3)}
        if m.role == "customer":
            following = session.messages[i + 1] if i + 1 < len(session.messages) else None
            turn.update(beat=m.beat, guard=m.guard, mood=m.mood, latency_ms=round(m.latency_ms or 0.0, 1),
                        behaviours=list(m.behaviours), answered_at_s=round(following.at, 3) if following else None)
        else:
            result = next(results)
            turn.update(response_s=round(result.response_s, 3),
                        scores={c: round(p, 4) for c, p in result.score.probabilities.items()},
                        verdicts=result.score.verdicts,
                        rules=[{"rule": r.rule, "passed": r.passed, "message": r.message} for r in result.rules],
                        resolution=result.customer.fix.resolution,
                        flags=[{"kind": f.kind, "evidence": f.evidence, "message": f.message}
                               for f in result.customer.fix.flags],
                        answered=[{"topic": a.topic, "says": a.says} for a in result.customer.answers])
        turns.append(turn)
    state = session.state
    card = scorecards.build(run)
    scorecard = {"outcome": card.outcome, "clean": card.clean, "csat": card.csat,
                 "resolution": state.resolution, "rule_breaks": card.rule_breaks,
                 "faults": [{"reply": f.reply, "kind": f.kind, "message": f.message, "evidence": f.evidence}
                            for f in card.faults]}
    return {"session_id": session.id if agent else None,
            "scenario": session.scenario.id, "scenario_version": session.scenario.version, "agent": agent,
            "seed": session.seed, "channel": session.scenario.channel.value,
            "difficulty": session.scenario.difficulty, "style": list(state.style),
            "behaviours": list(state.behaviours), "outcome": session.outcome,
            "ended": session.ended, "final_mood": state.mood, "frustration": round(state.frustration, 3),
            "replies_supplied": supplied, "replies_used": session.agent_turns, "turns": turns,
            "scorecard": scorecard}


def print_transcript(doc: dict) -> None:
    print(f"{doc['scenario']} (v{doc['scenario_version']}, {doc['channel']}, difficulty {doc['difficulty']}, "
          f"seed {doc['seed']})"
          + (f" · agent {doc['agent']}" if doc["agent"] else ""))
    for t in doc["turns"]:
        if t["role"] == "customer":
            shows = "".join(f" · {b}" for b in t["behaviours"])
            print(f"\nCUSTOMER [{t['beat']} · {t['mood']} · {t['guard']} · {t['latency_ms']:.0f} ms{shows}]")
        else:
            scores = " ".join(f"{c}={p:.2f}" for c, p in t["scores"].items())
            print(f"\nAGENT [after {t['response_s']:.0f} s · {scores}]")
            for r in t["rules"]:
                if not r["passed"]:
                    print(f"  ! {r['message']}")
            if t.get("resolution"):
                print(f"  = offers the accepted fix {t['resolution']!r}")
        print("  " + t["text"].replace("\n", "\n  "))
    ended = doc["outcome"] or f"not ended ({doc['replies_used']} of {doc['replies_supplied']} replies used)"
    print(f"\noutcome: {ended} · final mood: {doc['final_mood']} (frustration {doc['frustration']:.2f})")
    card = doc["scorecard"]
    if card["faults"]:
        print(f"faults ({len(card['faults'])}): the session is not a clean success")
        for f in card["faults"]:
            print(f"  reply {f['reply']}: {f['kind']}: {f['message']}")
    elif card["clean"]:
        print(f"clean success: resolved with {card['resolution'] or 'an accepted fix'}, no faults")


def _sessions_list(args, settings: Settings) -> int:
    from dojo.services import Services

    found = Services.from_settings(settings).sessions(args.agent or None, args.unfinished)
    if args.json:
        print(json.dumps([f.as_dict() for f in found], indent=2, ensure_ascii=False))
        return 0
    if not found:
        print("no practice sessions" + (f" of {args.agent}" if args.agent else "")
              + (" that have not ended" if args.unfinished else ""))
        return 0
    print(f"{'session':<32}  {'agent':<16} {'scenario':<28} {'started (UTC)':<16} replies  outcome")
    for f in found:
        state = f.outcome or ("unfinished" if f.resumable else "unfinished (not resumable)")
        print(f"{f.id:<32}  {f.agent:<16} {f.scenario_id + ' v' + str(f.scenario_version):<28} "
              f"{f.started_at:%Y-%m-%d %H:%M} {f.replies:>7}  {state}")
    return 0
