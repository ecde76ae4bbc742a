"""Reading the files users hand to `dojo`: every problem as one line (file:line: field: message)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path


class InputError(ValueError):
    """Bad input files: every problem, one line each."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def read_text(path: Path, max_bytes: int | None = None) -> str:
    """A UTF-8 text file (a byte-order mark is dropped), or InputError saying why it cannot be read."""
    try:
        if max_bytes is not None and path.stat().st_size > max_bytes:
            raise InputError([f"{path}: {path.stat().st_size} bytes; the limit is {max_bytes}"])
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError([f"{path}: cannot read ({exc.strerror})"]) from None
    except UnicodeDecodeError:
        raise InputError([f"{path}: not UTF-8 text"]) from None


def lines(text: str) -> list[str]:
    """A JSON-lines text's lines: split at line feeds only. `str.splitlines` would also split inside a JSON
    string at characters that are valid there unescaped (U+2028, U+0085, form feed), cutting a record in two."""
    return [line.removesuffix("\r") for line in text.split("\n")]


def json_objects(text: str, expected: str) -> Iterator[tuple[int, dict | str]]:
    """(line number, object) per non-blank line, or (line number, what is wrong with it).
    `expected` words what an object should hold, for the message when a line is not an object."""
    for number, line in enumerate(lines(text), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            yield number, f"not valid JSON ({exc.msg})"
            continue
        yield number, item if isinstance(item, dict) else f"expected an object with {expected}"
