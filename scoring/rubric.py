"""The rubric: the four criteria, their definitions and tips, and the labeled replies they are trained on."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from simulator.scenario import CRITERIA


@dataclass(frozen=True)
class Criterion:
    id: str
    title: str
    definition: str
    tip: str
    weight: float = 1.0


@dataclass(frozen=True)
class Rubric:
    id: str
    version: int
    criteria: dict[str, Criterion]

    @classmethod
    def load(cls, folder: Path) -> Rubric:
        path = folder / "rubric.yaml"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        criteria = {}
        for cid in CRITERIA:
            raw = data["criteria"][cid]
            criteria[cid] = Criterion(cid, raw["title"], raw["definition"], raw["tip"], float(raw.get("weight", 1)))
        return cls(data["id"], int(data["version"]), criteria)


@dataclass(frozen=True)
class LabeledReply:
    id: str
    text: str
    labels: dict[str, int]
    source: str
    channel: str | None = None

    @property
    def split(self) -> str:
        """Fixed split by a hash of the id: 15% test (never tuned on), 15% validation, 70% train."""
        bucket = int(hashlib.sha256(self.id.encode()).hexdigest(), 16) % 100
        return "test" if bucket < 15 else "validation" if bucket < 30 else "train"


def load_labeled(folder: Path) -> list[LabeledReply]:
    out = []
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            out.append(LabeledReply(row["id"], row["text"], {c: int(row[c]) for c in CRITERIA},
                                    row.get("source", path.name), row.get("channel")))
    return out


def data_hash(rows: list[LabeledReply]) -> str:
    digest = hashlib.sha256()
    for r in rows:
        digest.update(json.dumps([r.id, r.text, r.labels], sort_keys=True).encode())
    return digest.hexdigest()
