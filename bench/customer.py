"""Benchmark of the simulated customer: latency, model acceptance, guards, diversity, outcomes per trainee style.

    python bench/customer.py [--seeds 2] [--scenarios ID ...] [--backend transformers] [--no-baseline] [--json F]
    python bench/customer.py --smoke     # seconds: scripted customer, hashing embedder, two scenarios, one seed

Plays every scenario with three scripted trainee styles (solving, neutral, dismissive) and several seeds
through the real practice loop (the real scorer decides the beats), once with the chosen backend and
once with the scripted backend as the baseline, and prints one table against the issue's targets.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from dojo.practice import Practice, Run
from dojo.services import Services
from simulator.customer import AGENT_PHRASES
from simulator.scenario import Scenario
from simulator.settings import Settings

STYLES = ("solving", "neutral", "dismissive")
NEUTRAL = ("Thanks for your message. Let me look into this for you.",
           "I've passed this on to the relevant team.",
           "Thanks for waiting. I'm still checking.",
           "Okay, noted.")
DISMISSIVE = ("That's our policy, there's nothing I can do.",
              "Please check the website, it's all explained there.",
              "You'll have to wait like everyone else.",
              "I can't help with that.")


def trainee_reply(style: str, scenario: Scenario, run: Run, turn: int) -> str:
    if style == "neutral":
        return NEUTRAL[turn % len(NEUTRAL)]
    if style == "dismissive":
        return DISMISSIVE[turn % len(DISMISSIVE)]
    state = run.session.state
    wanted = [f for f in scenario.facts if f.id not in state.revealed and f.id not in scenario.bot_collected]
    asks = " ".join(f"Could you tell me {f.asked_by[0]}?" for f in wanted[:2])
    cites = " ".join(f"kb:{a}" for a in scenario.kb_articles)
    return (f"I'm so sorry about this, I understand how frustrating it is, and it's our mistake. {asks} "
            "I've sorted it for you today at no cost: the fix is done on your account now, as set out in "
            f"{cites}. I'll message you tomorrow morning to confirm it's all complete.")


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    guards: Counter = field(default_factory=Counter)
    rejected: Counter = field(default_factory=Counter)
    swaps_sent: int = 0
    texts: dict[tuple, list[str]] = field(default_factory=dict)
    outcomes: dict[str, Counter] = field(default_factory=lambda: {s: Counter() for s in STYLES})
    wall_s: float = 0.0

    def turns(self) -> int:
        return sum(self.guards.values())


def play(services: Services, scenarios: list[Scenario], seeds: int) -> Tally:
    practice: Practice = services.practice
    tally = Tally()
    started = time.perf_counter()
    for scenario in scenarios:
        for style in STYLES:
            for seed in range(seeds):
                run = practice.start(scenario, seed=1000 + seed)
                turn = 0
                while not run.session.ended:
                    practice.reply(run, trainee_reply(style, scenario, run, turn), delay_s=30)
                    turn += 1
                customer = [m for m in run.session.messages if m.role == "customer"]
                for i, m in enumerate(customer):
                    tally.latencies.append(m.latency_ms or 0.0)
                    tally.guards[m.guard.split(":")[0] if m.guard else "?"] += 1
                    tally.swaps_sent += bool(AGENT_PHRASES.search(m.text))
                    tally.texts.setdefault((scenario.id, style, i), []).append(m.text)
                for r in run.results:
                    tally.rejected.update(r.customer.rejected)
                outcome = run.session.outcome
                tally.outcomes[style]["resolved" if outcome == "resolved" else
                                      "escalated/abandoned" if outcome in ("escalated", "abandoned") else outcome] += 1
    tally.wall_s = time.perf_counter() - started
    return tally


def distinct_2(tally: Tally) -> float:
    """Distinct bigrams / all bigrams of the customer turns at the same point of the same session across
    seeds, averaged: 0 when every seed reads the same, near 1 when they share no bigram."""
    values = []
    for texts in tally.texts.values():
        if len(texts) < 2:
            continue
        grams = [tuple(t.lower().split()[i:i + 2]) for t in texts for i in range(len(t.split()) - 1)]
        if grams:
            values.append(len(set(grams)) / len(grams))
    return statistics.mean(values) if values else 0.0


def pct(n: float, d: float) -> str:
    return f"{100 * n / d:.0f} %" if d else "n/a"


def rows(tally: Tally, scenarios: int) -> dict[str, str]:
    lat = sorted(tally.latencies)
    n = tally.turns()
    accepted = tally.guards["model"] + tally.guards["model_verbatim"]

    def share(style: str, key: str) -> str:
        c = tally.outcomes[style]
        return pct(c[key], sum(c.values()))

    return {
        "customer turns": str(n),
        "turn latency p50": f"{statistics.median(lat) / 1000:.2f} s" if lat else "n/a",
        "turn latency p95": f"{lat[max(0, int(0.95 * len(lat)) - 1)] / 1000:.2f} s" if lat else "n/a",
        "model candidate accepted": pct(accepted, n),
        "  of which reworded (not verbatim)": pct(tally.guards["model"], n),
        "fallback to the scenario line": pct(tally.guards["fallback"], n),
        "role swaps caught by the guards": str(tally.rejected["role_swap"]),
        "role swaps that reached the trainee": str(tally.swaps_sent),
        "distinct-2 across seeds": f"{distinct_2(tally):.2f}",
        "solving style resolves": share("solving", "resolved"),
        "dismissive style escalates/abandons": share("dismissive", "escalated/abandoned"),
        "neutral style resolves": share("neutral", "resolved"),
        "wall time": f"{tally.wall_s:.0f} s",
    }


TARGETS = {"turn latency p50": "<= 1.50 s", "turn latency p95": "<= 3.00 s", "model candidate accepted": ">= 80 %",
           "role swaps that reached the trainee": "0", "solving style resolves": ">= 80 %",
           "dismissive style escalates/abandons": ">= 80 %"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--scenarios", nargs="*", help="scenario ids (default: the whole library)")
    parser.add_argument("--backend", default=None, help="customer backend (default: DOJO_CUSTOMER_BACKEND)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the scripted-backend baseline run")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    parser.add_argument("--smoke", action="store_true",
                        help="check that the benchmark runs, in seconds: scripted customer, hashing embedder, "
                             "two scenarios, one seed, no baseline (CI runs this)")
    args = parser.parse_args(argv)
    embedder = ""
    if args.smoke:
        args.backend, args.seeds, args.no_baseline, embedder = "scripted", 1, True, "hashing"

    settings = Settings.from_env(customer_backend=args.backend, embedder=embedder or None)
    services = Services.from_settings(settings)
    if not services.has_scorer():
        services.train()
    library = services.library
    scenarios = [library.get(i) for i in args.scenarios] if args.scenarios else list(library)
    if args.smoke and not args.scenarios:
        scenarios = scenarios[:2]
    runs = {settings.customer_backend: services}
    if not args.no_baseline and settings.customer_backend != "scripted":
        runs["scripted (baseline)"] = Services.from_settings(Settings.from_env(customer_backend="scripted",
                                                                               embedder=embedder or None))
    results = {name: rows(play(svc, scenarios, args.seeds), len(scenarios)) for name, svc in runs.items()}

    names = list(results)
    print(f"\nCustomer benchmark: {len(scenarios)} scenarios x {len(STYLES)} trainee styles x {args.seeds} seeds; "
          f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}\n")
    width = max(len(k) for k in next(iter(results.values())))
    print(f"| {'metric':<{width}} | target     | " + " | ".join(f"{n:<20}" for n in names) + " |")
    print(f"|{'-' * (width + 2)}|------------|" + "|".join("-" * 22 for _ in names) + "|")
    for key in next(iter(results.values())):
        print(f"| {key:<{width}} | {TARGETS.get(key, ''):<10} | "
              + " | ".join(f"{results[n][key]:<20}" for n in names) + " |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
