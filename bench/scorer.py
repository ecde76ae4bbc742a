"""Benchmark of reply scoring: per-reply latency, batch throughput, test-split quality, against a baseline.

    python bench/scorer.py [--repeats 235] [--batch 1024]
    python bench/scorer.py --smoke       # seconds: hashing embedder, small sizes (CI runs this)

The scorer as the app runs it (one MiniLM pass per reply giving the reply's and each sentence's vector,
plus word and character n-grams, one calibrated logistic regression per criterion, the higher of whole
reply and best sentence) against a baseline of word and character n-grams alone (TF-IDF + logistic
regression, whole reply), both trained on the same train split of `rubrics/` and measured on the same
fixed test split. Throughput is the median of three runs over the batch.

Evidence: on composed replies outside the train split we know which sentence carries which criterion
(`rubrics/compose_examples.py`), so we can check that a met verdict cites a sentence that earns it.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.pipeline import make_pipeline, make_union

CRITERIA = ("empathy", "ownership", "solution", "follow_up")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(q * len(ordered)) - 1)]


def ngram_baseline(train, test) -> tuple[dict[str, float], float, float]:
    """Macro-F1 per criterion, p50 single-reply latency (ms), batch replies/s."""
    f1, models = {}, {}
    for c in CRITERIA:
        features = make_union(TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True),
                              TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True))
        model = make_pipeline(features, LogisticRegression(max_iter=2000, class_weight="balanced"))
        model.fit([r.text for r in train], [r.labels[c] for r in train])
        models[c] = model
        f1[c] = f1_score([r.labels[c] for r in test], model.predict([r.text for r in test]), average="macro")
    texts = [r.text for r in test]
    single = []
    for text in texts * 2:
        started = time.perf_counter()
        for m in models.values():
            m.predict_proba([text])
        single.append((time.perf_counter() - started) * 1000)
    batch = texts * 6
    started = time.perf_counter()
    for m in models.values():
        m.predict_proba(batch)
    return f1, statistics.median(single), len(batch) / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=235, help="single replies timed")
    parser.add_argument("--batch", type=int, default=1024, help="replies in the throughput batch")
    parser.add_argument("--smoke", action="store_true",
                        help="check that the benchmark runs, in seconds: hashing embedder, 20 single replies, "
                             "a batch of 64 (CI runs this)")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from dojo.services import Services
    from scoring.rubric import load_labeled
    from simulator.settings import Settings

    if args.smoke:
        args.repeats, args.batch = 20, 64
    services = Services.from_settings(Settings.from_env(embedder="hashing" if args.smoke else None))
    if not services.has_scorer():
        services.train()
    scorer = services.scorer
    rows = load_labeled(services.settings.rubrics_dir)
    train = [r for r in rows if r.split == "train"]
    test = [r for r in rows if r.split == "test"]
    texts = [r.text for r in test]
    scorer.score_many(texts[:8])  # load the embedder before timing

    single = []
    for i in range(args.repeats):
        started = time.perf_counter()
        scorer(texts[i % len(texts)])
        single.append((time.perf_counter() - started) * 1000)
    batch = (texts * (args.batch // len(texts) + 1))[: args.batch]
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        scored = scorer.score_many(batch)
        runs.append(len(batch) / (time.perf_counter() - started))
    throughput = statistics.median(runs)
    if len(scored) < len(test):  # a batch smaller than the test split (--smoke): score the split on its own
        scored = scorer.score_many(texts)
    ours = {c: f1_score([r.labels[c] for r in test], [s.criteria[c].verdict for s in scored[: len(test)]],
                        average="macro") for c in CRITERIA}
    handwritten = [i for i, r in enumerate(test) if r.source.startswith("handwritten")]
    ours_hw = {c: f1_score([test[i].labels[c] for i in handwritten],
                           [scored[i].criteria[c].verdict for i in handwritten], average="macro") for c in CRITERIA}
    cited, earned = evidence_accuracy(scorer, rows)
    base_f1, base_p50, base_throughput = ngram_baseline(train, test)

    dtype = getattr(scorer.embedder, "dtype", "-")
    print(f"\nScoring benchmark: {len(train)} train / {len(test)} test replies ({scorer.version}, embedder "
          f"{dtype}); {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}\n")
    print("| metric | target | scorer (MiniLM + n-grams) | n-gram baseline |")
    print("|---|---|---|---|")
    print(f"| per-reply latency p50 | <= 15 ms | {statistics.median(single):.1f} ms | {base_p50:.1f} ms |")
    print(f"| per-reply latency p95 | | {percentile(single, 0.95):.1f} ms | |")
    print(f"| batch throughput ({len(batch)} replies) | >= 300 /s | {throughput:.0f} /s | {base_throughput:.0f} /s |")
    for c in CRITERIA:
        print(f"| test macro-F1 {c} | >= 0.85 | {ours[c]:.3f} | {base_f1[c]:.3f} |")
    print(f"| test macro-F1 mean | | {np.mean(list(ours.values())):.3f} | {np.mean(list(base_f1.values())):.3f} |")
    print(f"| test macro-F1, handwritten replies only ({len(handwritten)}) | | "
          + " / ".join(f"{ours_hw[c]:.2f}" for c in CRITERIA) + " | |")
    print(f"| met verdicts citing a sentence that earns them | | {earned}/{cited} | (no evidence) |")
    return 0


def evidence_accuracy(scorer, rows) -> tuple[int, int]:
    """(met verdicts, of which the evidence is a sentence carrying that criterion) on composed replies
    outside the train split, whose sentences' criteria are known."""
    from rubrics.compose_examples import compose_with_parts

    parts = {row["text"]: filled for row, filled in compose_with_parts(600)}
    held = [r for r in rows if r.source == "composed-v1" and r.split != "train" and r.text in parts]
    cited = earned = 0
    for r, score in zip(held, scorer.score_many([r.text for r in held]), strict=True):
        for c, s in score.criteria.items():
            if s.verdict and r.labels[c]:
                cited += 1
                carriers = [p.lower() for p, labs in parts[r.text] if c in labs]
                earned += any(s.evidence.lower() in p or p in s.evidence.lower() for p in carriers)
    return cited, earned


if __name__ == "__main__":
    raise SystemExit(main())
