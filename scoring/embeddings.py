"""Sentence embeddings: the packaged all-MiniLM-L6-v2, and a deterministic stand-in for unit tests.

`MiniLMEmbedder` verifies the packaged `model.safetensors` (sha256) before first use, loads it with
transformers from site-packages (no hub), and reproduces sentence-transformers' recipe for this model:
mean pooling over the attention mask, then L2 normalisation. Loaded lazily, once per process.

`HashingEmbedder` maps character n-grams to a fixed-size normalised vector. It is product code (a
no-model mode and the unit tests' embedder), not a test hack: same inputs, same vectors, no torch.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from simulator.model_files import verify_embedder

DIM = 384


class MiniLMEmbedder:
    name = "all-MiniLM-L6-v2"
    dim = DIM

    def __init__(self, model_dir: Path | None = None, batch_size: int = 64, max_length: int = 256):
        self._model_dir = model_dir
        self.batch_size = batch_size
        self.max_length = max_length
        self._lock = threading.Lock()
        self._model = None
        self._tokenizer = None
        self.load_seconds: float | None = None

    def _ensure_loaded(self) -> None:
        if self._model is not None:
            return
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        started = time.perf_counter()
        directory = self._model_dir or verify_embedder()
        self._tokenizer = AutoTokenizer.from_pretrained(directory)
        model = AutoModel.from_pretrained(directory)
        model.eval()
        self._model = model
        self.load_seconds = time.perf_counter() - started

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        # Batches of similar length pad less: sorting first nearly doubles throughput on mixed input
        # (whole replies and their sentences); the rows are put back in the caller's order at the end.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        ordered = [texts[i] for i in order]
        with self._lock:
            self._ensure_loaded()
            chunks = []
            for start in range(0, len(ordered), self.batch_size):
                batch = [t if t.strip() else "." for t in ordered[start:start + self.batch_size]]
                enc = self._tokenizer(batch, padding=True, truncation=True, max_length=self.max_length,
                                      return_tensors="pt")
                with torch.inference_mode():
                    hidden = self._model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                chunks.append(torch.nn.functional.normalize(pooled, dim=1).numpy())
        out = np.empty((len(texts), DIM), dtype=np.float32)
        out[order] = np.concatenate(chunks)
        return out


class HashingEmbedder:
    """Deterministic bag of word and character-trigram hashes, L2-normalised. No model, no torch."""

    name = "hashing-384"
    dim = DIM

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            words = re.findall(r"[a-z0-9']+", text.lower())
            grams = words + [w[i:i + 3] for w in words for i in range(max(1, len(w) - 2))]
            for gram in grams:
                h = int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=8).digest(), "little")
                out[row, h % DIM] += 1.0 if (h >> 63) else -1.0
            norm = np.linalg.norm(out[row])
            if norm:
                out[row] /= norm
        return out


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine of two vectors (the embedders return unit vectors, but be safe)."""
    denom = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / denom if denom else 0.0
