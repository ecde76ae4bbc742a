"""How real-customer-messages-v1.jsonl was made: a fixed sample of customers' own typed or transcribed turns
from the licence-checked corpora in ../shared/data/real-dialogue-turns (each keeps its source and origin).

    python bench/data/make_real_customers.py /path/to/real-dialogue-turns > bench/data/real-customer-messages-v1.jsonl

Messages of four words or more (a bare "yes" or a name says nothing about how people write); per source a seeded
sample. Not used for training or tuning anything: the customer benchmark's reference for how real people write.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

TAKE = {"star": 300, "polyai_banking77_nlupp": 300, "dstc11_natcs": 300, "taskmaster": 250, "abcd": 100,
        "harper_valley_bank": 100}


def main(root: Path) -> None:
    for folder, n in TAKE.items():
        turns = []
        for path in sorted((root / folder).glob("*.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                item = json.loads(line)
                if item.get("speaker") == "customer" and len(item["text"].split()) >= 4:
                    turns.append(item)
        for item in random.Random(f"real:{folder}").sample(turns, min(n, len(turns))):
            print(json.dumps({"text": " ".join(item["text"].split()), "source": item["source"],
                              "origin": f"{item['dialogue_id']}, turn {item['turn_index']}"}, ensure_ascii=False))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
