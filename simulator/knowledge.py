"""The knowledge base: Markdown articles in `scenarios/kb/<id>.md` that trainees search and cite as `kb:<id>`.

Search is plain word matching (every query word must appear; title hits rank first; the scenario's own
articles before the rest). It is predictable for trainers and needs no model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_WORD = re.compile(r"[a-z0-9£$€%-]+")


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    text: str

    @property
    def citation(self) -> str:
        return f"kb:{self.id}"


@dataclass(frozen=True)
class KnowledgeBase:
    articles: tuple[Article, ...]

    @classmethod
    def load(cls, folder: Path | None) -> KnowledgeBase:
        if folder is None or not folder.is_dir():
            return cls(())
        out = []
        for path in sorted(folder.glob("*.md")):
            text = path.read_text(encoding="utf-8")
            first = text.splitlines()[0] if text else path.stem
            out.append(Article(path.stem, first.lstrip("# ").strip() or path.stem, text))
        return cls(tuple(out))

    def search(self, query: str, prefer: Iterable[str] = (), limit: int = 5) -> list[Article]:
        words = _WORD.findall(query.lower())
        preferred = list(prefer)
        if not words:
            return [a for i in preferred for a in self.articles if a.id == i][:limit]
        scored = []
        for article in self.articles:
            body = article.text.lower()
            if not all(w in body or w in article.id for w in words):
                continue
            score = sum(body.count(w) for w in words) + 5 * sum(w in article.title.lower() for w in words)
            scored.append((article.id not in preferred, -score, article.id, article))
        return [a for *_, a in sorted(scored, key=lambda t: t[:3])][:limit]
