"""Progress of long work (training the classifiers, provisioning the models), for whoever is waiting.

Long steps take a `Report`: a function called with the fraction done (0-1) and what is happening now. The
CLI passes a `TextBar`; the web app passes gradio's progress tracker; tests and libraries pass nothing.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

Report = Callable[[float, str], None]


def silent(_fraction: float, _what: str) -> None:
    """The report of work nobody watches."""


class TextBar:
    """A progress bar on a terminal: redrawn in place on a TTY; one line per new step elsewhere (a log, CI),
    so a captured log stays readable."""

    def __init__(self, label: str, stream: TextIO | None = None, width: int = 24):
        self.label, self.stream, self.width = label, stream or sys.stderr, width
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.monotonic()
        self._step = ""
        self._drawn = 0

    def __call__(self, fraction: float, what: str) -> None:
        fraction = max(0.0, min(1.0, fraction))
        filled = round(self.width * fraction)
        line = (f"{self.label} [{'#' * filled}{'-' * (self.width - filled)}] {fraction:4.0%} "
                f"{time.monotonic() - self.started:5.0f} s  {what}")
        if self.tty:
            self.stream.write("\r" + line.ljust(self._drawn))
            self._drawn = len(line)
        elif what != self._step:
            self.stream.write(line + "\n")
        self._step = what
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
