"""Settings: every value a user may want to change, with its default and its environment variable.

`Settings.from_env()` is the only place that reads the environment. Everything else receives a
`Settings` value, so tests build one directly and nothing depends on process-global state.
The README's configuration table is the user-facing copy of `SETTINGS_DOC`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def _default_home() -> Path:
    return Path(os.path.expanduser("~/.cache/support-dojo"))


@dataclass(frozen=True)
class Settings:
    """Run-time configuration. Field metadata `env` names the environment variable that overrides it."""

    home: Path = field(default_factory=_default_home, metadata={
        "env": "DOJO_HOME", "doc": "Data directory: converted customer model, downloads, trained scorers."})
    host: str = field(default="127.0.0.1", metadata={
        "env": "DOJO_HOST", "doc": "Address `dojo serve` binds to."})
    port: int = field(default=7860, metadata={"env": "DOJO_PORT", "doc": "Port `dojo serve` listens on."})
    scenarios_dir: Path = field(default=PACKAGE_ROOT / "scenarios", metadata={
        "env": "DOJO_SCENARIOS_DIR",
        "doc": "Folder of scenario YAML files (and `kb/` articles); the scenario editor saves here."})
    rubrics_dir: Path = field(default=PACKAGE_ROOT / "rubrics", metadata={
        "env": "DOJO_RUBRICS_DIR", "doc": "Folder of the rubric definition and labeled replies."})
    customer_backend: str = field(default="auto", metadata={
        "env": "DOJO_CUSTOMER_BACKEND",
        "doc": "Who phrases the customer: `llamacpp` (the embedded SmolLM2 on llama.cpp, the fastest here), "
               "`transformers` (the same model, or `DOJO_CUSTOMER_MODEL`, on transformers), `openai` (an "
               "OpenAI-compatible endpoint) or `scripted` (no model); `auto` = llamacpp where llama-cpp-python is "
               "installed and no `DOJO_CUSTOMER_MODEL` is set, else transformers."})
    customer_model: str = field(default="", metadata={
        "env": "DOJO_CUSTOMER_MODEL",
        "doc": "Local transformers model: a directory, or a model id already in the local Hugging Face cache "
               "(never downloaded); empty = the embedded SmolLM2-135M."})
    customer_style: str = field(default="", metadata={
        "env": "DOJO_CUSTOMER_STYLE",
        "doc": "How a transformers model is asked: `completion` (few-shot, forced start; for small models) or "
               "`chat` (free rewrite; for larger models); empty = completion for the embedded model, else chat."})
    openai_base_url: str = field(default="", metadata={
        "env": "DOJO_OPENAI_BASE_URL",
        "doc": "For the `openai` backend: the endpoint's base URL, e.g. `http://localhost:8000/v1`."})
    openai_model: str = field(default="", metadata={
        "env": "DOJO_OPENAI_MODEL", "doc": "For the `openai` backend: the model name the endpoint serves."})
    openai_api_key: str = field(default="", metadata={
        "env": "DOJO_OPENAI_API_KEY", "doc": "For the `openai` backend: the API key, if the endpoint needs one."})
    openai_style: str = field(default="chat", metadata={
        "env": "DOJO_OPENAI_STYLE",
        "doc": "For the `openai` backend: `chat` (`/chat/completions`, a model that rewrites freely) or `completion` "
               "(`/completions` with the few-shot prompt the embedded model gets; for a server running SmolLM2)."})
    openai_timeout_s: float = field(default=30.0, metadata={
        "env": "DOJO_OPENAI_TIMEOUT_S", "doc": "For the `openai` backend: seconds to wait for one customer turn."})
    embedder: str = field(default="minilm", metadata={
        "env": "DOJO_EMBEDDER",
        "doc": "Sentence embeddings for scoring and guards: `minilm` (the embedded all-MiniLM-L6-v2) or `hashing` "
               "(no model; weaker, for model-free checks and tests)."})
    database_url: str = field(default="", metadata={
        "env": "DATABASE_URL",
        "doc": "Where users, sessions, turns, scores and reviews are stored, as an SQLAlchemy URL, e.g. "
               "`postgresql+psycopg://dojo@localhost/dojo`; empty = the SQLite file `DOJO_HOME/dojo.db`."})
    queue_concurrency: int = field(default=16, metadata={
        "env": "DOJO_QUEUE_CONCURRENCY",
        "doc": "Events the app works on at once; the rest wait in the queue, none is dropped. Customer-model "
               "requests among them run as one batch, so this bounds the batch (bench/load.py: 4 gave 16 trainees "
               "a p95 of 8.5 s, 16 gave 5.5 s)."})
    log_level: str = field(default="INFO", metadata={
        "env": "DOJO_LOG_LEVEL",
        "doc": "What `dojo serve` logs: DEBUG, INFO, WARNING or ERROR. Passwords and session tokens are never logged."})
    login_max_failures: int = field(default=5, metadata={
        "env": "DOJO_LOGIN_MAX_FAILURES",
        "doc": "Failed logins for one user name within `DOJO_LOGIN_LOCKOUT_S` after which further attempts for that "
               "name are refused, right password or not, until the window has passed."})
    login_lockout_s: int = field(default=300, metadata={
        "env": "DOJO_LOGIN_LOCKOUT_S", "doc": "The window (seconds) over which failed logins are counted."})
    embedder_dtype: str = field(default="auto", metadata={
        "env": "DOJO_EMBEDDER_DTYPE",
        "doc": "Number format MiniLM runs in: `auto` (bfloat16 where the CPU supports it natively, else float32), "
               "`float32` or `bfloat16`. Mean cosine between the two on rubrics/: 0.9999."})
    candidates: int = field(default=3, metadata={
        "env": "DOJO_CANDIDATES", "doc": "Customer phrasings sampled per turn before the guards choose."})
    max_new_tokens: int = field(default=56, metadata={
        "env": "DOJO_MAX_NEW_TOKENS",
        "doc": "Upper bound on tokens of one sampled customer phrasing (each turn asks for what its line needs)."})
    min_similarity: float = field(default=0.7, metadata={
        "env": "DOJO_MIN_SIMILARITY",
        "doc": "Guard: least embedding cosine between a phrasing and the scripted beat it rewrites."})
    fix_match: float = field(default=0.0, metadata={
        "env": "DOJO_FIX_MATCH",
        "doc": "Least cosine between a reply's clause and a scenario fix's example for the reply to offer that fix; "
               "0 = the embedder's calibrated default (MiniLM 0.55)."})
    kb_min_similarity: float = field(default=0.35, metadata={
        "env": "DOJO_KB_MIN_SIMILARITY",
        "doc": "Knowledge-base search: least MiniLM cosine between the query and an article's passage for the article "
               "to match by meaning (it also matches by its words)."})
    threads: int = field(default=0, metadata={
        "env": "DOJO_TORCH_THREADS",
        "doc": "CPU threads of the local customer engine (torch or llama.cpp); 0 = torch's default, every core "
               "for llama.cpp."})
    seed: int | None = field(default=None, metadata={
        "env": "DOJO_SEED", "doc": "Seed for sampling; empty = a fresh seed per session."})

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f.metadata["env"])
            if raw is None or raw == "":
                continue
            values[f.name] = _parse(f.name, f.metadata["env"], f.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def scorers_dir(self) -> Path:
        return self.home / "scorers"


class SettingError(ValueError):
    """An environment variable holds a value of the wrong kind."""


def _parse(name: str, env: str, type_name: object, raw: str) -> object:
    kind = str(type_name)
    try:
        if "Path" in kind:
            return Path(os.path.expanduser(raw))
        if "int" in kind:
            return int(raw)
        if "float" in kind:
            return float(raw)
    except ValueError:
        expected = "a whole number" if "int" in kind else "a number"
        raise SettingError(f"{env}={raw!r}: {name} must be {expected}") from None
    return raw


def settings_table() -> list[tuple[str, str, str]]:
    """(environment variable, default, meaning) for every setting, for the README and `dojo --help`."""
    rows = []
    defaults = Settings()
    for f in fields(Settings):
        default = getattr(defaults, f.name)
        shown = "~/.cache/support-dojo" if f.name == "home" else (
            "(packaged)" if isinstance(default, Path) else ("" if default is None else str(default)))
        rows.append((f.metadata["env"], shown, f.metadata["doc"]))
    return rows
