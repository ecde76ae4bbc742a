"""`dojo`: every user-facing command, one module per command group. Errors a user can cause print one line
and exit non-zero."""

from __future__ import annotations

import argparse
import sys

from dojo.cli import accounts, content, models, play, qa, score, serve
from dojo.cli.common import EXIT_USAGE
from dojo.store import StoreError
from scoring.classifier import NoScorerError
from scoring.rubric import RubricError
from simulator import model_files
from simulator.backends import BackendError
from simulator.settings import SettingError, Settings, settings_table

# The order of `dojo --help`.
GROUPS = (serve, models, content, score, accounts, qa, play)


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
    for group in GROUPS:
        group.add_commands(sub)
    return parser


if __name__ == "__main__":
    sys.exit(main())
