"""Language-model backends that phrase the customer's lines, behind one protocol.

A backend turns a `Generation` request (chat messages plus the scripted line being rephrased) into
candidate texts. It never decides what the customer says, only how; the guards in
`simulator.customer` decide whether a candidate is used.

* `TransformersBackend`: any local transformers causal LM directory; default the embedded
  SmolLM2-135M-Instruct cache. Loaded lazily, once per process, shared by all sessions. One generation
  runs at a time (two cores gain nothing from parallel generation, and memory stays flat); requests from
  other sessions that arrive meanwhile wait and then run together as one batch, so a cohort shares each
  forward pass. A request that runs alone is reproducible from its seed.
* `simulator.llamacpp.LlamaCppBackend` (the default where llama-cpp-python is installed): the same model's
  GGUF on llama.cpp, through the same `BatchQueue`, about twice as fast here.
* `OpenAIBackend`: any OpenAI-compatible endpoint.
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
    """One phrasing request. Chat backends use `messages`; completion backends (the small embedded model)
    continue `prompt` + `prefix`, and every candidate they return starts with `prefix`."""

    messages: Sequence[dict[str, str]]
    reference: str
    n: int = 4
    max_new_tokens: int = 72
    temperature: float = 0.8
    seed: int = 0
    prompt: str = ""
    prefix: str = ""


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


class BatchQueue:
    """One generation at a time per process; requests that arrive meanwhile wait and then run as one batch.

    Subclasses give `_ensure_loaded`, `_generate_batch(requests)` (completion requests of several sessions
    together) and `_generate_one(request)` (alone: reproducible from its seed), and `_batchable(request)`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[_Slot] = []
        self._pending_lock = threading.Lock()
        self.batches: deque[int] = deque(maxlen=1000)  # sizes of the last batches run (for benchmarks)

    def generate(self, request: Generation) -> list[str]:
        """Waits its turn; whoever gets the model next runs every request waiting by then, as one batch."""
        slot = _Slot(request)
        with self._pending_lock:
            self._pending.append(slot)
        with self._lock:
            if not slot.done:
                with self._pending_lock:
                    batch, self._pending = self._pending, []
                self._run(batch)
        if slot.error is not None:
            raise slot.error
        return slot.result

    def _run(self, batch: list[_Slot]) -> None:
        self.batches.append(len(batch))
        try:
            self._ensure_loaded()
            together = [s for s in batch if self._batchable(s.request)]
            if len(together) > 1:
                for slot, texts in zip(together, self._generate_batch([s.request for s in together]), strict=True):
                    slot.result = texts
            for slot in batch:  # alone (reproducible from its seed), or not batchable
                if slot.result is None:
                    slot.result = self._generate_one(slot.request)
        except Exception as exc:  # every waiting request gets the failure, none hangs
            for slot in batch:
                if slot.result is None:
                    slot.error = exc
        finally:
            for slot in batch:
                slot.done = True

    def _batchable(self, request: Generation) -> bool:
        return bool(request.prompt)

    def _ensure_loaded(self) -> None:
        raise NotImplementedError

    def _generate_batch(self, requests: list[Generation]) -> list[list[str]]:
        raise NotImplementedError

    def _generate_one(self, request: Generation) -> list[str]:
        raise NotImplementedError


class TransformersBackend(BatchQueue):
    """A local transformers causal LM, loaded on first use, from a directory or a model id already in the
    local Hugging Face cache (never downloaded: `local_files_only`).

    `style="completion"` (the default, for small models): the model continues a few-shot text after a
    forced prefix, one line per candidate; all candidates are sampled in one batch, so three cost about
    as much as one. `style="chat"`: the chat template with the request's messages, for larger models
    that can rewrite freely.
    """

    name = "transformers"

    def __init__(self, model: Path | str, threads: int = 0, style: str = "completion"):
        if style not in ("completion", "chat"):
            raise ValueError(f"style {style!r}: use completion or chat")
        super().__init__()
        self.model = str(model)
        self.threads = threads
        self.style = style
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
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(self.model, local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(self.model, dtype=torch.bfloat16, local_files_only=True)
        except OSError as exc:
            raise BackendError(f"customer model {self.model!r}: not a local model directory or a model in the "
                               f"local Hugging Face cache ({str(exc).splitlines()[0]})") from None
        model.eval()
        self._model = model
        self.load_seconds = time.perf_counter() - started

    def _batchable(self, request: Generation) -> bool:
        return self.style == "completion" and bool(request.prompt)

    def _generate_batch(self, requests: list[Generation]) -> list[list[str]]:
        """Completion requests of several sessions in one `generate`: prompts left-padded, each repeated for
        its candidates; each request keeps its own token budget and gets its own `n` texts."""
        import torch

        tok, model = self._tokenizer, self._model
        tok.padding_side = "left"
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        inputs = tok([r.prompt + r.prefix for r in requests], return_tensors="pt", padding=True)
        repeats = torch.tensor([r.n for r in requests])
        inputs = {k: v.repeat_interleave(repeats, dim=0) for k, v in inputs.items()}
        torch.manual_seed(requests[0].seed)
        with torch.inference_mode():
            out = model.generate(**inputs, do_sample=True, temperature=requests[0].temperature, top_p=0.92,
                                 max_new_tokens=max(r.max_new_tokens for r in requests),
                                 pad_token_id=tok.pad_token_id, stop_strings=["\n"], tokenizer=tok)
        start = inputs["input_ids"].shape[1]
        results, row = [], 0
        for r in requests:
            texts = [tok.decode(seq[start:start + r.max_new_tokens], skip_special_tokens=True)
                     for seq in out[row:row + r.n]]
            results.append([r.prefix + t.split("\n")[0] for t in texts])
            row += r.n
        return results

    def _generate_one(self, request: Generation) -> list[str]:
        import torch

        tok, model = self._tokenizer, self._model
        if self.style == "completion" and request.prompt:
            inputs = tok(request.prompt + request.prefix, return_tensors="pt")
            stop = {"stop_strings": ["\n"], "tokenizer": tok}
        else:
            inputs = tok.apply_chat_template(list(request.messages), add_generation_prompt=True,
                                             return_tensors="pt", return_dict=True)
            stop = {}
        torch.manual_seed(request.seed)
        with torch.inference_mode():
            out = model.generate(**inputs, do_sample=True, temperature=request.temperature, top_p=0.92,
                                 max_new_tokens=request.max_new_tokens, num_return_sequences=request.n,
                                 pad_token_id=tok.eos_token_id, **stop)
        start = inputs["input_ids"].shape[1]
        texts = [tok.decode(seq[start:], skip_special_tokens=True) for seq in out]
        if stop:
            return [request.prefix + t.split("\n")[0] for t in texts]
        return texts


@dataclass(eq=False)
class _Slot:
    """A request waiting for the model, and what became of it."""

    request: Generation
    result: list[str] | None = None
    error: BaseException | None = None
    done: bool = False


class BackendError(RuntimeError):
    """The customer backend cannot work as configured (model missing, no endpoint set); one line."""


class BackendUnavailable(BackendError):
    """The endpoint failed this time (unreachable, HTTP error, bad answer); the session can go on."""


class OpenAIBackend:
    """Any OpenAI-compatible endpoint (vLLM, llama.cpp server, Ollama, a hosted API).

    `style="chat"`: the chat messages go to `{base_url}/chat/completions` (for models that can rewrite freely).
    `style="completion"`: the few-shot prompt and forced start go to `{base_url}/completions`, one line per
    candidate, exactly as the embedded model is asked, so a server running the same small model (SmolLM2)
    gives the same kind of candidates as the embedded engine. Either way `n` choices are asked for in one
    request; servers that ignore `n` are asked again until there are enough, within the timeout. Standard
    library only: no SDK to install.
    """

    name = "openai"

    def __init__(self, base_url: str, model: str, api_key: str = "", timeout_s: float = 30.0, style: str = "chat"):
        if not base_url:
            raise BackendError("the openai backend needs DOJO_OPENAI_BASE_URL (e.g. http://localhost:8000/v1)")
        if style not in ("completion", "chat"):
            raise BackendError(f"DOJO_OPENAI_STYLE={style!r}: use chat or completion")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.style = style

    def generate(self, request: Generation) -> list[str]:
        texts: list[str] = []
        deadline = time.monotonic() + self.timeout_s
        while len(texts) < request.n and time.monotonic() < deadline:
            choices = self._post(request, request.n - len(texts), deadline - time.monotonic())
            if not choices:
                break
            texts.extend(choices)
        return texts[: request.n]

    def _post(self, request: Generation, n: int, timeout: float) -> list[str]:
        import json
        import urllib.error
        import urllib.request

        completion = self.style == "completion" and bool(request.prompt)
        body = {"model": self.model, "n": n, "max_tokens": request.max_new_tokens,
                "temperature": request.temperature, "seed": request.seed}
        if completion:
            body.update(prompt=request.prompt + request.prefix, stop=["\n"], top_p=0.92)
        else:
            body["messages"] = list(request.messages)
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        path = "completions" if completion else "chat/completions"
        req = urllib.request.Request(f"{self.base_url}/{path}", data=json.dumps(body).encode(),
                                     headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=max(1.0, timeout)) as response:
                payload = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            raise BackendUnavailable(f"customer endpoint {self.base_url}: HTTP {exc.code} "
                               f"{exc.read(300).decode('utf-8', 'replace').strip()}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise BackendUnavailable(f"customer endpoint {self.base_url} unreachable: {reason}") from None
        except ValueError:
            raise BackendUnavailable(f"customer endpoint {self.base_url}: the answer is not JSON") from None
        try:
            if completion:
                return [request.prefix + str(c["text"] or "").split("\n")[0] for c in payload["choices"]]
            return [str(c["message"]["content"] or "") for c in payload["choices"]]
        except (KeyError, TypeError):
            field = "text" if completion else "message.content"
            raise BackendUnavailable(f"customer endpoint {self.base_url}: no choices[].{field} in the "
                                     "answer") from None
