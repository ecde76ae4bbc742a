"""What every command shares: exit codes and the one-line usage error."""

from __future__ import annotations

EXIT_INVALID = 1
EXIT_USAGE = 2


class UsageError(ValueError):
    """Bad input to a command (unknown id, unreadable file): one line, exit 2."""
