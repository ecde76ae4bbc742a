"""Benchmark of the embedded customer engines on the customer's own prompts: speed alone and batched, and how
often the guards accept what each engine writes.

    python bench/engines.py [--engines transformers,llamacpp] [--requests 48] [--seeds 1]
    python bench/engines.py --smoke      # seconds: the scripted engine only, two scenarios (CI runs this)

The prompts are the ones a practice session sends: the scenario library is played once with the scripted
customer and every completion request is recorded. Then, for each engine, on the same requests (3 candidates
each, as the app asks):

* one request alone: p50 / p95 over the first half of the sample;
* B requests of different sessions at once (B = 4, 8, 16): the median time of one batch, which is what the
  last of B trainees who replied together waits for the customer;
* guards: the whole library played through that engine (bench/customer.py's trainee styles, `--seeds`), the
  share of customer turns whose sent text came from the model ("model candidate accepted"), and of them the
  share reworded.

The baseline is transformers (bf16), the engine before llama.cpp; "x" is its batch-of-16 time over each
engine's. Engines: `transformers` (the bf16 cache), `llamacpp` (the Q4_1 GGUF), `scripted` (no model).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from customer import STYLES, play, rows  # noqa: E402  (bench/customer.py: the same trainee styles)

from dojo.services import Services  # noqa: E402
from simulator.backends import Generation, ScriptedBackend  # noqa: E402
from simulator.settings import Settings  # noqa: E402

BATCHES = (4, 8, 16)


def recorded_requests(settings: Settings, scenarios: int | None) -> list[Generation]:
    """Every completion request of one pass over the library (scripted customer, one seed)."""
    services = Services.from_settings(replace(settings, customer_backend="scripted"))
    if not services.has_scorer():
        services.train()
    seen: list[Generation] = []
    backend = services.backend
    original = backend.generate

    def record(request: Generation) -> list[str]:
        seen.append(request)
        return original(request)

    backend.generate = record  # type: ignore[method-assign]
    library = list(services.library)[:scenarios] if scenarios else list(services.library)
    play(services.practice, library, 1)
    return [r for r in seen if r.prompt]


def timings(backend, sample: list[Generation]) -> dict[str, float]:
    """Seconds: one request alone (p50, p95), and the median batch of B requests run together."""
    backend.generate(sample[0])  # load, and warm the cached prompt head
    alone = []
    for r in sample[: max(1, len(sample) // 2)]:
        started = time.perf_counter()
        backend.generate(r)
        alone.append(time.perf_counter() - started)
    alone.sort()
    out = {"alone p50": statistics.median(alone), "alone p95": alone[max(0, round(0.95 * len(alone)) - 1)]}
    run_batch = getattr(backend, "_generate_batch", None)
    for b in BATCHES:
        times = []
        for start in range(0, len(sample) - b + 1, b)[:3]:
            chunk = sample[start:start + b]
            started = time.perf_counter()
            run_batch(chunk) if run_batch else [backend.generate(r) for r in chunk]
            times.append(time.perf_counter() - started)
        out[f"batch of {b}"] = statistics.median(times) if times else float("nan")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="transformers,llamacpp", help="comma-separated engines to compare")
    parser.add_argument("--requests", type=int, default=48, help="recorded requests timed per engine")
    parser.add_argument("--seeds", type=int, default=1, help="seeds of the library played for the guard figures")
    parser.add_argument("--smoke", action="store_true",
                        help="check that the benchmark runs, in seconds: the scripted engine, two scenarios")
    args = parser.parse_args(argv)
    scenarios = None
    if args.smoke:
        args.engines, args.requests, scenarios = "scripted", 8, 2
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    settings = Settings.from_env(**({"embedder": "hashing"} if args.smoke else {}))

    requests = recorded_requests(settings, scenarios)
    sample = random.Random(0).sample(requests, min(args.requests, len(requests)))
    results: dict[str, dict[str, str]] = {}
    raw: dict[str, dict[str, float]] = {}
    for engine in engines:
        services = Services.from_settings(replace(settings, customer_backend=engine))
        backend = services.backend
        if isinstance(backend, ScriptedBackend) and engine != "scripted":
            raise SystemExit(f"engine {engine}: not a model engine")
        raw[engine] = timings(backend, sample)
        library = list(services.library)[:scenarios] if scenarios else list(services.library)
        guard = rows(play(services.practice, library, args.seeds), len(library))
        results[engine] = {k: f"{v:.2f} s" for k, v in raw[engine].items()}
        results[engine]["model candidate accepted"] = guard["model candidate accepted"]
        results[engine]["  of which reworded"] = guard["  of which reworded (not verbatim)"]
        results[engine]["customer turn p50 in sessions"] = guard["turn latency p50"]
        close = getattr(backend, "close", None)
        if close:
            close()
    base = raw.get("transformers")
    for engine in engines:
        last = f"batch of {BATCHES[-1]}"
        results[engine]["x transformers (batch of 16)"] = (f"{base[last] / raw[engine][last]:.1f}x"
                                                          if base and raw[engine][last] else "n/a")

    print(f"\nCustomer engines: {len(sample)} of {len(requests)} recorded prompts, 3 candidates each; guards over "
          f"the library x {len(STYLES)} trainee styles x {args.seeds} seed(s); {platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}\n")
    keys = list(next(iter(results.values())))
    width = max(len(k) for k in keys)
    print(f"| {'measure':<{width}} | " + " | ".join(f"{e:<14}" for e in engines) + " |")
    print(f"|{'-' * (width + 2)}|" + "|".join("-" * 16 for _ in engines) + "|")
    for k in keys:
        print(f"| {k:<{width}} | " + " | ".join(f"{results[e][k]:<14}" for e in engines) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
