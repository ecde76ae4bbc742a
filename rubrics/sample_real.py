"""Draw real agent turns to label from ../shared/data/real-dialogue-turns (deterministic), and merge the blind
labeling passes over them into a labeled set.

    python rubrics/sample_real.py --out /tmp/real-v2.jsonl [--star 200] [--taskmaster 160] [--seed 2]
    python rubrics/sample_real.py --out /tmp/real-v3.jsonl --star 0 --taskmaster 0 --moves 180 --upset 120 \
        --seed 3 --prefix real3
    python rubrics/sample_real.py --out /tmp/real-v4.jsonl --star 200 --taskmaster 300 --seed 4 --prefix real4
    python rubrics/sample_real.py --merge /tmp/real-v2.jsonl --passes DIR ... --set real-v2

A uniform random sample of the free-typed agent turns of STAR and Taskmaster (TM-3 and TM-4 half each) with at
least three words, each with the customer message it answers (`context`), leaving out every text already labeled
in rubrics/. A uniform draw has almost no empathy and few apologies (5 of 360 empathic in real-v2), so the model
never sees how real agents word them; `--moves` and `--upset` draw STAR turns *enriched* for them: turns with a
word of regret, sympathy or encouragement (`MOVES`, written from the guideline's examples), and turns answering
a customer whose message shows distress (`UPSET`, chosen by the customer's words only). Such a sample is not
uniform: the model card reports the uniform sets on their own too. The output has the labeled-reply fields but
no labels: the three blind passes add them (rubrics/README.md, "How the replies are labeled"). `--merge` takes
the drawn replies and one labels file per pass (`{"id", "empathy", "ownership", "solution", "follow_up"}` per
line, every id once), copies the passes to rubrics/passes/<set>/rater-{a,b,c}.jsonl and writes
rubrics/labeled-<set>.jsonl: each label the passes' majority, `votes` the share that said met.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

from simulator.scenario import CRITERIA

HERE = Path(__file__).resolve().parent
TURNS = HERE.parent.parent / "shared" / "data" / "real-dialogue-turns"
ORIGIN = {"star": "STAR (RasaHQ/STAR, MIT)",
          "taskmaster": "Taskmaster (google-research-datasets/Taskmaster, CC BY 4.0)"}


# A word of regret, sympathy or encouragement in the agent's turn: where empathy and apologies could be.
MOVES = re.compile(r"\b(sorry|apolog\w*|unfortunate\w*|afraid|understand\w*|glad|happy for|hope|congrat\w*|"
                   r"excit\w*|awesome|wonderful|great|oh no|oh dear|worr\w*|frustrat\w*|upset|stress\w*)\b", re.I)
# Distress in the customer's message the agent answers (selection by the customer's words, not the agent's).
UPSET = re.compile(r"\b(worr\w*|frustrat\w*|angry|upset|annoy\w*|scared|afraid|panic\w*|stress\w*|terrible|"
                   r"awful|horrible|ridiculous|hurry|urgent\w*|emergency|please help|stolen|fraud\w*|lost|hack\w*|"
                   r"can't believe|unacceptable|disappoint\w*|sad|sick|hurt|pain|late|confus\w*|ugh|damn)\b|!!", re.I)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def agent_turns(path: Path) -> list[dict]:
    return [r for r in read_jsonl(path) if r["speaker"] == "agent" and len(r["text"].split()) >= 3]


def labeled_texts() -> set[str]:
    """Every labeled text (also the pending ones), whitespace-normalised and lowercased: a draw skips them."""
    return {key(r["text"]) for f in [*HERE.glob("labeled-*.jsonl"), *HERE.glob("pending/labeled-*.jsonl")]
            for r in read_jsonl(f)}


def key(text: str) -> str:
    return " ".join(text.split()).lower()


def draw(rows: list[dict], n: int, rng: random.Random, seen: set[str]) -> list[dict]:
    fresh, texts = [], set()
    for r in rows:
        text = key(r["text"])
        if text not in seen and text not in texts:
            texts.add(text)
            fresh.append(r)
    return rng.sample(fresh, min(n, len(fresh)))


def merge(drawn: Path, passes: list[Path], name: str) -> None:
    replies = read_jsonl(drawn)
    ids = [r["id"] for r in replies]
    votes = []
    for path in passes:
        rows = read_jsonl(path)
        labels = {row["id"]: {c: int(row[c]) for c in CRITERIA} for row in rows}
        if sorted(labels) != sorted(ids) or len(rows) != len(ids):
            raise SystemExit(f"{path}: needs every id of {drawn} exactly once ({len(labels)} of {len(ids)} found)")
        if any(v not in (0, 1) for row in labels.values() for v in row.values()):
            raise SystemExit(f"{path}: every label is 0 or 1")
        votes.append(labels)
    out_dir = HERE / "passes" / name
    out_dir.mkdir(parents=True, exist_ok=True)
    for rater, labels in zip("abc", votes, strict=True):
        (out_dir / f"rater-{rater}.jsonl").write_text(
            "".join(json.dumps({"id": i, **labels[i]}) + "\n" for i in ids), encoding="utf-8")
    with (HERE / f"labeled-{name}.jsonl").open("w", encoding="utf-8") as out:
        for r in replies:
            said = {c: sum(v[r["id"]][c] for v in votes) / len(votes) for c in CRITERIA}
            row = {"id": r["id"], "text": r["text"], **{c: int(said[c] > 0.5) for c in CRITERIA},
                   "votes": {c: round(said[c], 2) for c in CRITERIA},
                   **{k: r[k] for k in ("context", "source", "channel", "origin")}}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(replies)} labeled replies -> {HERE / f'labeled-{name}.jsonl'}; passes -> {out_dir}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="where the drawn replies go")
    ap.add_argument("--merge", type=Path, help="the drawn replies whose passes to merge")
    ap.add_argument("--passes", type=Path, nargs=3, help="the three passes' labels files (with --merge)")
    ap.add_argument("--set", default="real-v2", help="the labeled set's name (with --merge)")
    ap.add_argument("--star", type=int, default=200)
    ap.add_argument("--taskmaster", type=int, default=160)
    ap.add_argument("--moves", type=int, default=0, help="STAR turns with a word of regret or sympathy")
    ap.add_argument("--upset", type=int, default=0, help="STAR turns answering a distressed customer")
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--prefix", default="real2")
    args = ap.parse_args()
    if args.merge:
        if not args.passes:
            ap.error("--merge needs --passes A B C")
        return merge(args.merge, args.passes, args.set)
    if not args.out:
        ap.error("--out or --merge is needed")
    rng, seen = random.Random(args.seed), labeled_texts()
    star = agent_turns(TURNS / "star" / "turns.jsonl")
    picked = [("star", r) for r in draw(star, args.star, rng, seen)]
    seen |= {key(r["text"]) for _, r in picked}
    moves = draw([r for r in star if MOVES.search(r["text"])], args.moves, rng, seen)
    seen |= {key(r["text"]) for r in moves}
    upset = draw([r for r in star if UPSET.search(r.get("prev_customer_text") or "")], args.upset, rng, seen)
    picked += [("star", r) for r in moves + upset]
    half = args.taskmaster // 2
    for name, n in (("tm3_tickettalk_agent_turns.jsonl", half), ("tm4_coffee_turns.jsonl", args.taskmaster - half)):
        picked += [("taskmaster", r) for r in draw(agent_turns(TURNS / "taskmaster" / name), n, rng, seen)]
    with args.out.open("w", encoding="utf-8") as out:
        for i, (source, r) in enumerate(picked):
            corpus = r["source"] if source == "taskmaster" else "star"
            row = {"id": f"{args.prefix}-{i:04d}", "text": " ".join(r["text"].split()),
                   "context": " ".join((r.get("prev_customer_text") or "").split()), "source": source,
                   "channel": "live_chat",
                   "origin": f"{ORIGIN[source]}: {corpus} dialogue {r['dialogue_id']}, turn {r['turn_index']}"}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(picked)} replies -> {args.out}")


if __name__ == "__main__":
    main()
