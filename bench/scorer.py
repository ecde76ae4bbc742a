"""Benchmark of reply scoring: speed, and how well the verdicts agree with the raters on sources held out.

    python bench/scorer.py [--repeats 235] [--batch 1024] [--folds NAME ...]
    python bench/scorer.py --smoke       # seconds: hashing embedder, small sizes, one fold (CI runs this)
    python bench/scorer.py --folds star --finetune   # adds MiniLM fine-tuned end to end (5-6 min a fold on 2 cores)

Speed: the active scorer as the app runs it (one MiniLM pass per batch giving every reply's and sentence's
vector, n-grams and guideline cues, the four calibrated heads, the higher of whole reply and best sentence where
the recipe asks for it): single-reply latency and batch throughput.

Quality, leave one source out (`scoring/evaluation.py`): for each source, every approach is trained on the
other sources (thresholds on their validation splits) and its verdicts on the held-out source are compared
with the raters' majority (Cohen's kappa), next to the raters' own agreement on that source. Approaches:
the scorer's recipe; the previous recipe (s5: every criterion by the higher of whole reply and best sentence);
the recipe before issue 15 (s3: MiniLM + n-grams, no cues, thresholds on pooled
validation); an n-gram baseline (word and character TF-IDF + logistic regression on the whole reply); and
keyword cues alone (met when any of the criterion's guideline cues occurs; nothing learned); with
`--finetune`, MiniLM fine-tuned end to end with four heads (minutes per fold on a CPU, so not by default).
Beside the scorer's verdicts the table shows its kappa at the held-out source's own best threshold: a bound
on what any choice of threshold could reach with the same probabilities (it looks at the test labels, so it
is a diagnosis, never a result).

Never trained on: the active scorer and the n-gram baseline on the labeled replies waiting in rubrics/pending/
(real turns from sources it has seen, labeled by three blind passes, no model trained on them): how it does on
new turns of a known source, beside the harder held-out-source measure.

Evidence: on replies composed from labeled sentence pools (`rubrics/compose_examples.py`, not training data)
we know which sentence carries which criterion, so we check that a met verdict cites one that does.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

CRITERIA = ("empathy", "ownership", "solution", "follow_up")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(q * len(ordered)) - 1)]


def ngram_trainer():
    """Word and character TF-IDF + logistic regression on the whole reply, thresholds like the scorer's."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    from scoring.classifier import best_threshold, source_group

    def train(rows, split_of):
        train_rows = [r for r in rows if split_of(r) == "train"]
        valid = [r for r in rows if split_of(r) == "validation"]
        models, thresholds = {}, {}
        for c in CRITERIA:
            features = make_union(TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True),
                                  TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True))
            models[c] = make_pipeline(features, LogisticRegression(max_iter=2000, class_weight="balanced"))
            models[c].fit([r.text for r in train_rows], [r.labels[c] for r in train_rows])
            thresholds[c] = best_threshold(np.array([r.labels[c] for r in valid]),
                                           models[c].predict_proba([r.text for r in valid])[:, 1],
                                           [source_group(r.source) for r in valid])

        def predict(texts):
            p = {c: models[c].predict_proba(list(texts))[:, 1] for c in CRITERIA}
            return p, {c: (p[c] >= thresholds[c]).astype(int) for c in CRITERIA}
        return predict
    return train


def keyword_trainer():
    """Met when any of the criterion's guideline cues occurs in the reply (`scoring/cues.py`)."""
    from scoring.cues import NAMES, cue_matrix

    columns = {c: [i for i, name in enumerate(NAMES) if name.startswith(c + ":")] for c in CRITERIA}

    def train(rows, split_of):
        def predict(texts):
            cues = cue_matrix(list(texts))
            p = {c: cues[:, columns[c]].max(axis=1) for c in CRITERIA}
            return p, {c: p[c].astype(int) for c in CRITERIA}
        return predict
    return train


def finetune_trainer(epochs: float = 3.0, lr: float = 5e-5, steps: int | None = None, batch: int = 32):
    """MiniLM (the packaged weights) fine-tuned end to end with four logistic heads on mean-pooled tokens:
    weighted binary cross-entropy (each criterion's positives weigh as much as its negatives), AdamW, linear
    warm-up and decay; thresholds like the scorer's, on the validation replies of the other sources."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from scoring.classifier import best_threshold, source_group
    from simulator.model_files import verify_embedder

    directory = verify_embedder()
    tokenizer = AutoTokenizer.from_pretrained(directory)

    class Heads(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = AutoModel.from_pretrained(directory)
            self.heads = torch.nn.Linear(self.encoder.config.hidden_size, len(CRITERIA))

        def forward(self, texts: list[str]) -> torch.Tensor:
            tokens = tokenizer(texts, padding=True, truncation=True, max_length=96, return_tensors="pt")
            hidden = self.encoder(**tokens).last_hidden_state
            mask = tokens["attention_mask"].unsqueeze(-1).float()
            return self.heads((hidden * mask).sum(1) / mask.sum(1))

    def probabilities(model: Heads, texts: list[str]) -> np.ndarray:
        model.eval()
        with torch.no_grad():
            parts = [torch.sigmoid(model(texts[i:i + 64])).numpy() for i in range(0, len(texts), 64)]
        return np.concatenate(parts) if parts else np.zeros((0, len(CRITERIA)))

    def train(rows, split_of):
        torch.manual_seed(0)
        train_rows = [r for r in rows if split_of(r) == "train"]
        valid = [r for r in rows if split_of(r) == "validation"]
        y = torch.tensor([[r.labels[c] for c in CRITERIA] for r in train_rows], dtype=torch.float)
        share = y.mean(0).clamp(0.01, 0.99)
        model = Heads()
        optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
        total = steps or max(1, int(epochs * len(train_rows) / batch))
        warm = max(1, total // 10)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimiser, lambda k: min(1.0, (k + 1) / warm) * max(0.0, 1 - k / total))
        shuffle = np.random.default_rng(0)
        done = 0
        while done < total:  # one pass over the shuffled train replies per epoch
            order = shuffle.permutation(len(train_rows))
            for idx in (order[i:i + batch] for i in range(0, len(order), batch)):
                if done >= total:
                    break
                model.train()
                logits = model([train_rows[i].text for i in idx])
                loss = torch.nn.functional.binary_cross_entropy_with_logits(
                    logits, y[torch.as_tensor(idx)], pos_weight=(1 - share) / share)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                schedule.step()
                done += 1
        p_valid = probabilities(model, [r.text for r in valid])
        groups = [source_group(r.source) for r in valid]
        thresholds = {c: best_threshold(np.array([r.labels[c] for r in valid]), p_valid[:, k], groups)
                      for k, c in enumerate(CRITERIA)}

        def predict(texts):
            p = probabilities(model, list(texts))
            scores = {c: p[:, k] for k, c in enumerate(CRITERIA)}
            return scores, {c: (scores[c] >= thresholds[c]).astype(int) for c in CRITERIA}
        return predict
    return train


def speed(scorer, texts: list[str], repeats: int, batch_size: int) -> tuple[list[float], float]:
    scorer.score_many(texts[:8])  # load the embedder before timing
    single = []
    for i in range(repeats):
        started = time.perf_counter()
        scorer(texts[i % len(texts)])
        single.append((time.perf_counter() - started) * 1000)
    batch = (texts * (batch_size // len(texts) + 1))[:batch_size]
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        scorer.score_many(batch)
        runs.append(len(batch) / (time.perf_counter() - started))
    return single, statistics.median(runs)


def evidence_accuracy(scorer, replies: int) -> tuple[int, int]:
    """(met verdicts that the composed reply's labels agree with, of which the evidence is a sentence
    carrying that criterion)."""
    from rubrics.compose_examples import compose_with_parts

    composed = compose_with_parts(replies)
    cited = earned = 0
    scores = scorer.score_many([row["text"] for row, _ in composed])
    for (row, parts), score in zip(composed, scores, strict=True):
        for c, s in score.criteria.items():
            if s.verdict and row[c]:
                cited += 1
                carriers = [p.lower() for p, labs in parts if c in labs]
                earned += any(s.evidence.lower() in p or p in s.evidence.lower() for p in carriers)
    return cited, earned


def pending_rows(scorer, rows, pending_dir) -> list[str]:
    """The active scorer and the n-gram baseline (trained on the fixed train split) on the labeled replies in
    rubrics/pending/: real turns labeled by three blind passes that no model has trained on."""
    from sklearn.metrics import cohen_kappa_score, roc_auc_score

    from scoring.rubric import load_labeled

    if not pending_dir.is_dir():
        return []
    pending = load_labeled(pending_dir)
    texts = [r.text for r in pending]
    scores = scorer.score_many(texts)
    _, baseline = ngram_trainer()(rows, lambda r: r.split)(texts)
    out = []
    for source in sorted({r.source for r in pending}):
        idx = [i for i, r in enumerate(pending) if r.source == source]
        cells = []
        for c in CRITERIA:
            y = np.array([pending[i].labels[c] for i in idx])
            if not 5 <= y.sum() <= len(y) - 5:
                cells.append(f"n/a (+{y.sum()})")
                continue
            verdicts = np.array([scores[i].criteria[c].verdict for i in idx], dtype=int)
            probability = np.array([scores[i].criteria[c].probability for i in idx])
            cells.append(f"{cohen_kappa_score(y, verdicts):.2f} / {roc_auc_score(y, probability):.2f} "
                         f"({cohen_kappa_score(y, baseline[c][idx]):.2f}; +{y.sum()})")
        out.append(f"| {source} | {len(idx)} | " + " | ".join(cells) + " |")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=235, help="single replies timed")
    parser.add_argument("--batch", type=int, default=1024, help="replies in the throughput batch")
    parser.add_argument("--folds", nargs="*", help="held-out folds to run (default: every source)")
    parser.add_argument("--speed-only", action="store_true", help="only the speed table (seconds, not minutes)")
    parser.add_argument("--finetune", action="store_true",
                        help="also MiniLM fine-tuned end to end with four heads (5-6 minutes a fold on 2 cores)")
    parser.add_argument("--finetune-steps", type=int, help="fine-tuning steps (default: 3 epochs)")
    parser.add_argument("--smoke", action="store_true",
                        help="check that the benchmark runs, in seconds: hashing embedder, 20 single replies, "
                             "a batch of 64, the smallest fold, no previous recipe (CI runs this)")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from dojo.services import Services
    from scoring import evaluation
    from scoring.classifier import RECIPE
    from scoring.rubric import load_labeled
    from simulator.settings import Settings

    if args.smoke:
        args.repeats, args.batch = 20, 64
    services = Services.from_settings(Settings.from_env(embedder="hashing" if args.smoke else None))
    if not services.has_scorer():
        services.train()
    scorer = services.scorer
    rows = load_labeled(services.settings.rubrics_dir)
    test = [r for r in rows if r.split == "test"]
    single, throughput = speed(scorer, [r.text for r in test], args.repeats, args.batch)
    cited, earned = evidence_accuracy(scorer, 60 if args.smoke else 600)

    folds = evaluation.folds(rows)
    chosen = args.folds or ([min(folds, key=lambda f: sum(r.source in folds[f] for r in rows))] if args.smoke
                            else list(folds))
    if args.speed_only:
        chosen = []
    raters = evaluation.rater_agreement(services.settings.rubrics_dir / "passes", rows)
    embedder = evaluation.CachedEmbedder(services.embedder)
    scorer_name = f"scorer ({RECIPE})"
    approaches = {scorer_name: evaluation.scorer_trainer(embedder, services.rubric)}
    if not args.smoke:
        approaches["previous recipe (s5)"] = evaluation.scorer_trainer(embedder, services.rubric, recipe="s5")
        approaches["before issue 15 (s3)"] = evaluation.scorer_trainer(embedder, services.rubric, recipe="s3")
    if args.finetune:
        approaches["MiniLM fine-tuned"] = finetune_trainer(steps=args.finetune_steps)
    approaches["n-gram baseline"] = ngram_trainer()
    approaches["keyword cues"] = keyword_trainer()
    started = time.perf_counter()
    results = {name: evaluation.leave_one_source_out(rows, train, raters, only=chosen) if chosen else []
               for name, train in approaches.items()}
    held_out_s = time.perf_counter() - started

    dtype = getattr(scorer.embedder, "dtype", "-")
    print(f"\nScoring benchmark: {scorer.version} (embedder {scorer.embedder.name} {dtype}); {len(rows)} labeled "
          f"replies; {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}\n")
    print("| speed | target | scorer |")
    print("|---|---|---|")
    print(f"| per-reply latency p50 | <= 15 ms | {statistics.median(single):.1f} ms |")
    print(f"| per-reply latency p95 | | {percentile(single, 0.95):.1f} ms |")
    print(f"| batch throughput ({args.batch} replies) | >= 300 /s | {throughput:.0f} /s |")
    print(f"| met verdicts citing a sentence that earns them (composed replies) | | {earned}/{cited} |")
    pending = [] if args.smoke or args.speed_only else pending_rows(scorer, rows,
                                                                     services.settings.rubrics_dir / "pending")
    if pending:
        print("\nNever trained on (rubrics/pending/): the scorer's kappa against the raters' majority / AUC "
              "(n-gram baseline's kappa; replies that meet it):\n")
        print("| source | n | " + " | ".join(CRITERIA) + " |")
        print("|---|---:|" + "---|" * len(CRITERIA))
        print("\n".join(pending))
    if not chosen:
        return 0
    print(f"\nHeld-out sources (Cohen's kappa against the raters' majority; raters = their own Fleiss' kappa; "
          f"{held_out_s:.0f} s):\n")
    print("| held out | n | approach | " + " | ".join(CRITERIA) + " |")
    print("|---|---:|---|" + "---:|" * len(CRITERIA))

    def num(v) -> str:
        return "n/a" if v is None else f"{v:.2f}"

    for i, fold in enumerate(next(iter(results.values()))):
        real = " (real)" if fold.real else ""
        print(f"| {fold.fold}{real} | {fold.n} | raters | "
              + " | ".join(num(fold.criteria[c].raters_kappa) for c in CRITERIA) + " |")
        for name, folds_of in results.items():
            f = folds_of[i]
            print(f"| | | {name} | " + " | ".join(num(f.criteria[c].kappa) for c in CRITERIA) + " |")
            if name == scorer_name:
                print(f"| | | {name} at the source's best threshold (bound) | "
                      + " | ".join(num(f.criteria[c].best_kappa) for c in CRITERIA) + " |")

    def means(folds_of, pick, field: str) -> str:
        """Per criterion, the mean of `field` (kappa, best_kappa) over the picked folds that measured it."""
        cells = []
        for c in CRITERIA:
            values = [getattr(f.criteria[c], field) for f in folds_of if pick(f)]
            values = [v for v in values if v is not None]
            cells.append(num(float(np.mean(values))) if values else "n/a")
        return " | ".join(cells)

    for label, pick in (("real sources", lambda f: f.real), ("all sources", lambda f: True)):
        for name, folds_of in results.items():
            print(f"| mean, {label} | | {name} | {means(folds_of, pick, 'kappa')} |")
            if name == scorer_name:
                print(f"| mean, {label} | | {name} at each source's best threshold (bound) | "
                      f"{means(folds_of, pick, 'best_kappa')} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
