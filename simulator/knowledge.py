"""The knowledge base: Markdown articles in `scenarios/kb/<id>.md` that trainees search and cite as `kb:<id>`.

Search finds an article by its words in any form and, given a sentence embedder, by meaning:

- BM25 over Snowball-stemmed words ("charged", "charges" and "charging" are one word), the title counted
  twice; an article matches if it shares a word with the query.
- With an embedder (the app passes the packaged MiniLM), each article's passages (its title and each
  paragraph or bullet) are embedded once; an article also matches when one of its passages is close in
  meaning to the query ("payment taken twice" finds "double charges"). The score is 0.4 x BM25 (relative to
  the best article's) + 0.6 x closeness above the least similarity (0 at it, 1 at identical). On 25
  paraphrased queries the right article comes first for 21 and in the top three for all 25 (words alone:
  17 and 20; the earlier "every word must appear" matching found 4).

The scenario's own articles get a lift (+0.25) among the matches, and are the whole list for an empty query.
Without an embedder, search is lexical only and needs no model (tests, `DOJO_EMBEDDER=hashing`).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import snowballstemmer

_WORD = re.compile(r"[a-z0-9£$€%]+")
_STEM = snowballstemmer.stemmer("english")
# Words too common to say what an article is about (the stemmed forms).
_STOP = frozenset(_STEM.stemWords("""a an and are as at be but by can do for from has have how i if in is it its
my of on or our so that the their them there they this to was we were what when where which who will with
you your me not no get got customer customers please""".split()))  # noqa: SIM905 (a word list reads better)
LEXICAL_WEIGHT = 0.4  # of the words' score (BM25 / the best article's); the rest is closeness in meaning
PREFERRED_LIFT = 0.25  # added to a scenario's own article's score (scores run 0-1) when it matches


def stems(text: str) -> list[str]:
    return [s for s in _STEM.stemWords(_WORD.findall(text.lower().replace("-", " "))) if s not in _STOP]


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    text: str

    @property
    def citation(self) -> str:
        return f"kb:{self.id}"

    def passages(self) -> list[str]:
        """The title, then each paragraph or bullet, with the title in front (so each passage has context)."""
        body = "\n".join(self.text.splitlines()[1:])
        parts = [p.strip(" -*\n") for p in re.split(r"\n\s*\n|\n(?=\s*[-*] )", body)]
        return [self.title] + [f"{self.title}: {re.sub(r'[*_`]', '', p)}" for p in parts if p]


Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class KnowledgeBase:
    articles: tuple[Article, ...]
    embed: Embed | None = field(default=None, compare=False, repr=False)
    min_similarity: float = 0.35  # a passage at least this close in meaning (cosine, MiniLM) makes a match
    _index: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def load(cls, folder: Path | None, embed: Embed | None = None, min_similarity: float = 0.35) -> KnowledgeBase:
        if folder is None or not folder.is_dir():
            return cls((), embed, min_similarity)
        out = []
        for path in sorted(folder.glob("*.md")):
            text = path.read_text(encoding="utf-8")
            first = text.splitlines()[0] if text else path.stem
            out.append(Article(path.stem, first.lstrip("# ").strip() or path.stem, text))
        return cls(tuple(out), embed, min_similarity)

    # --- lexical -----------------------------------------------------------------------------------------

    def _lexical_index(self) -> tuple[list[Counter], dict[str, int], float]:
        if "bm25" not in self._index:
            docs = [Counter(stems(f"{a.title} {a.title} {a.id} {a.text}")) for a in self.articles]
            df = Counter(s for d in docs for s in d)
            mean = sum(sum(d.values()) for d in docs) / max(1, len(docs))
            self._index["bm25"] = (docs, df, mean)
        return self._index["bm25"]

    def bm25(self, query: str, k1: float = 1.2, b: float = 0.75) -> list[float]:
        """Each article's BM25 score for the query (Okapi BM25 over stemmed words)."""
        docs, df, mean = self._lexical_index()
        n = len(docs)
        terms = set(stems(query))
        out = []
        for d in docs:
            length = sum(d.values())
            score = 0.0
            for t in terms:
                if d[t]:
                    idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                    score += idf * d[t] * (k1 + 1) / (d[t] + k1 * (1 - b + b * length / mean))
            out.append(score)
        return out

    # --- by meaning --------------------------------------------------------------------------------------

    def similarity(self, query: str) -> list[float] | None:
        """Each article's closest passage to the query (cosine), or None without an embedder."""
        if self.embed is None or not self.articles:
            return None
        if "passages" not in self._index:
            owner, texts = [], []
            for i, a in enumerate(self.articles):
                for p in a.passages():
                    owner.append(i)
                    texts.append(p)
            self._index["passages"] = (np.asarray(owner), _unit(self.embed(texts)))
        owner, vectors = self._index["passages"]
        sims = vectors @ _unit(self.embed([query]))[0]
        best = np.full(len(self.articles), -1.0)
        np.maximum.at(best, owner, sims)
        return best.tolist()

    def search(self, query: str, prefer: Iterable[str] = (), limit: int = 5) -> list[Article]:
        preferred = list(prefer)
        if not self.articles:
            return []
        if not stems(query):
            return [a for i in preferred for a in self.articles if a.id == i][:limit]
        lexical = np.asarray(self.bm25(query))
        meaning = self.similarity(query)
        score = lexical / lexical.max() if lexical.max() > 0 else lexical
        matched = lexical > 0
        if meaning is not None:
            close = np.asarray(meaning)
            floor = self.min_similarity
            score = LEXICAL_WEIGHT * score + (1 - LEXICAL_WEIGHT) * np.clip((close - floor) / (1 - floor), 0, 1)
            matched |= close >= floor
        score = score + np.array([PREFERRED_LIFT if a.id in preferred else 0.0 for a in self.articles])
        found = sorted(np.flatnonzero(matched), key=lambda i: (-score[i], self.articles[i].id))
        return [self.articles[i] for i in found][:limit]


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
