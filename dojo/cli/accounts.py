"""`dojo users` (accounts and roles) and `dojo progress` (an agent's skill progress)."""

from __future__ import annotations

import json
import sys

from dojo.cli.common import EXIT_USAGE, UsageError
from simulator.settings import Settings


def add_commands(sub) -> None:
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
    from dojo.services import Services
    from dojo.store import StoreError

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
    from dojo import progress
    from dojo.services import Services
    from dojo.store import StoreError

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
