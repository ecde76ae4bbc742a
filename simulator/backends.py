"""Language-model backends that phrase the customer's lines, behind one protocol.

A backend turns a `Generation` request (chat messages plus the scripted line being rephrased) into
candidate texts. It never decides what the customer says, only how; the guards in
`simulator.customer` decide whether a candidate is used.

* `TransformersBackend`: any local transformers causal LM directory; default the embedded
  SmolLM2-135M-Instruct cache. Loaded lazily, once per process, shared by all sessions; calls are
  serialised by a lock (two cores gain nothing from parallel generation, and memory stays flat).
* `ScriptedBackend`: deterministic, no model. It returns queued outputs if given (tests use this to
  feed role swaps, repeats and leaks to the guards) and otherwise the scripted line itself.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Generation:
    messages: Sequence[dict[str, str]]
    reference: str
    n: int = 4
    max_new_tokens: int = 72
    temperature: float = 0.8
    seed: int = 0


class Backend(Protocol):
    name: str

    def generate(self, request: Generation) -> list[str]: ...


class ScriptedBackend:
    """Deterministic backend: queued outputs first, then the scripted line unchanged."""

    name = "scripted"

    def __init__(self, outputs: Iterable[str] = ()):
        self._queue: deque[str] = deque(outputs)

    def generate(self, request: Generation) -> list[str]:
        if self._queue:
            return [self._queue.popleft() for _ in range(min(request.n, len(self._queue)))]
        return [request.reference]


class TransformersBackend:
    """A local transformers causal LM, loaded on first use."""

    name = "transformers"

    def __init__(self, model_dir: Path, threads: int = 0):
        self.model_dir = Path(model_dir)
        self.threads = threads
        self._lock = threading.Lock()
        self._model = None
        self._tokenizer = None
        self.load_seconds: float | None = None

    def _ensure_loaded(self) -> None:
        if self._model is not None:
            return
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        if self.threads:
            torch.set_num_threads(self.threads)
        started = time.perf_counter()
        self._tokenizer = AutoTokenizer.from_pretrained(self.model_dir)
        model = AutoModelForCausalLM.from_pretrained(self.model_dir, dtype=torch.bfloat16)
        model.eval()
        self._model = model
        self.load_seconds = time.perf_counter() - started

    def generate(self, request: Generation) -> list[str]:
        import torch

        with self._lock:
            self._ensure_loaded()
            tok, model = self._tokenizer, self._model
            inputs = tok.apply_chat_template(list(request.messages), add_generation_prompt=True,
                                             return_tensors="pt", return_dict=True)
            torch.manual_seed(request.seed)
            with torch.inference_mode():
                out = model.generate(**inputs, do_sample=True, temperature=request.temperature, top_p=0.92,
                                     max_new_tokens=request.max_new_tokens,
                                     num_return_sequences=request.n, pad_token_id=tok.eos_token_id)
            start = inputs["input_ids"].shape[1]
            return [tok.decode(seq[start:], skip_special_tokens=True) for seq in out]
