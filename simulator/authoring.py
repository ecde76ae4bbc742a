"""Authoring: trainers open, check, and save scenario files in the library folder, never losing work.

`ScenarioStore(folder)` is the file side of the in-app editor (and of anything else that writes
scenarios). Its rules:

* Names are plain file names in the folder (`late-parcel-chat.yaml`); nothing outside it is reachable.
* `open` returns the text with a fingerprint (sha256 of the bytes read). `save` writes only if the file
  on disk still has that fingerprint; if someone changed it since (another trainer, an editor, a
  `git pull`), `SaveConflict` says so and nothing is written: the trainer's text stays in their editor.
* Only a valid scenario is saved (the library folder must always load), and its id must not clash with
  another file's. Each save raises `version` to one above the version on disk (or keeps a higher one the
  trainer typed), editing only that line so comments and layout survive.
* Writes are atomic (temporary file + rename) and serialised by a lock file, so two saves at once from
  two processes cannot both pass the fingerprint check.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from simulator.scenario import (
    MAX_FILE_BYTES,
    Problem,
    Scenario,
    ScenarioError,
    article_ids,
    load_scenario,
    parse_scenario,
)

TEMPLATE = Path(__file__).resolve().parent.parent / "scenarios" / "templates" / "annotated.yaml"
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}\.yaml$")
VERSION_LINE = re.compile(r"^version:[ \t]*(\d+)", re.M)
ID_LINE = re.compile(r"^id:[ \t]*[\"']?([a-z0-9-]+)", re.M)


class AuthoringError(ValueError):
    """A request the store refuses; the message is one line for the trainer."""


class SaveConflict(AuthoringError):
    """The file changed on disk since it was opened; nothing was written."""


@dataclass(frozen=True)
class Draft:
    name: str
    text: str
    fingerprint: str  # sha256 of the file as opened; "" for a file that does not exist yet


@dataclass(frozen=True)
class Entry:
    name: str
    id: str
    title: str
    version: int | None
    valid: bool


@dataclass(frozen=True)
class Check:
    problems: tuple[Problem, ...]
    scenario: Scenario | None

    @property
    def valid(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Saved:
    draft: Draft
    version: int
    previous_version: int | None


def fingerprint(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ScenarioStore:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    # --- reading --------------------------------------------------------------------------------

    def entries(self) -> list[Entry]:
        out = []
        kb = self.kb_ids()
        for path in sorted(self.folder.glob("*.yaml")):
            try:
                s = load_scenario(path, kb_ids=kb)
                out.append(Entry(path.name, s.id, s.title, s.version, True))
            except ScenarioError:
                out.append(Entry(path.name, path.stem, f"(invalid) {path.name}", None, False))
        return out

    def path(self, name: str) -> Path:
        if not NAME.match(name or ""):
            raise AuthoringError(f"{name!r} is not a scenario file name: use lower case letters, digits and "
                                 "hyphens, ending in .yaml (e.g. late-parcel-chat.yaml)")
        return self.folder / name

    def open(self, name: str) -> Draft:
        path = self.path(name)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise AuthoringError(f"no scenario file {name} in {self.folder}") from None
        if len(data) > MAX_FILE_BYTES:
            raise AuthoringError(f"{name} is {len(data)} bytes; the limit is {MAX_FILE_BYTES}")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise AuthoringError(f"{name} is not UTF-8 text; run `dojo validate` on it for the place") from None
        return Draft(name, text, fingerprint(data))

    def new(self, scenario_id: str) -> Draft:
        name = f"{scenario_id}.yaml"
        if (path := self.path(name)).exists():
            raise AuthoringError(f"{path.name} already exists; open it, or choose another id")
        text = TEMPLATE.read_text(encoding="utf-8").replace("id: my-new-scenario", f"id: {scenario_id}", 1)
        return Draft(name, text, "")

    def kb_ids(self) -> set[str]:
        return article_ids(self.folder)

    def check(self, name: str, text: str) -> Check:
        """Everything `dojo validate` checks, plus: the id is not another file's."""
        try:
            scenario = parse_scenario(text, name, kb_ids=self.kb_ids())
        except ScenarioError as exc:
            return Check(tuple(exc.problems), None)
        for other in sorted(self.folder.glob("*.yaml")):
            if other.name != name and _file_id(other) == scenario.id:
                return Check((Problem(name, _id_line(text), "id",
                                      f"id {scenario.id!r} is already used by {other.name}; ids must be unique"),),
                             None)
        return Check((), scenario)

    # --- writing --------------------------------------------------------------------------------

    def save(self, draft: Draft) -> Saved:
        path = self.path(draft.name)
        with self._locked():
            on_disk = path.read_bytes() if path.exists() else None
            current = fingerprint(on_disk) if on_disk is not None else ""
            if current != draft.fingerprint:
                what = "was created by someone else" if not draft.fingerprint else (
                    "was deleted" if on_disk is None else "changed on disk")
                raise SaveConflict(f"{draft.name} {what} since you opened it; nothing was saved. Your text is "
                                   "still in the editor: copy it, reopen the file, and merge your changes.")
            previous = _disk_version(on_disk)
            if on_disk is not None and on_disk.decode("utf-8", "replace") == draft.text:
                raise AuthoringError(f"{draft.name}: no changes to save")
            text = draft.text
            typed = _typed_version(text)
            version = max(typed or 1, (previous or 0) + 1)
            if typed is not None and version != typed:
                text = VERSION_LINE.sub(f"version: {version}", text, count=1)
            check = self.check(draft.name, text)
            if not check.valid:
                raise AuthoringError(f"not saved: {check.problems[0]}"
                                     + (f" (and {len(check.problems) - 1} more)" if len(check.problems) > 1 else ""))
            data = text.encode("utf-8")
            _atomic_write(path, data)
        return Saved(Draft(draft.name, text, fingerprint(data)), version, previous)

    @contextmanager
    def _locked(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / ".dojo-save.lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _typed_version(text: str) -> int | None:
    match = VERSION_LINE.search(text)
    return int(match.group(1)) if match else None


def _disk_version(data: bytes | None) -> int | None:
    # The line, not a YAML load: the file on disk may be anything, even an alias bomb.
    return None if data is None else _typed_version(data.decode("utf-8", "replace"))


def _file_id(path: Path) -> str | None:
    """The top-level id of a scenario file, read from its line (cheap enough to run on every keystroke)."""
    try:
        match = ID_LINE.search(path.read_text(encoding="utf-8", errors="replace")[:MAX_FILE_BYTES])
    except OSError:
        return None
    return match.group(1) if match else None


def _id_line(text: str) -> int | None:
    match = re.search(r"^id:", text, re.M)
    return text[: match.start()].count("\n") + 1 if match else None


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
