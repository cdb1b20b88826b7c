"""The evaluation's progress on stderr: rows done, errors, rate and time left.

On a terminal one line is rewritten in place (at most 4 times a second); elsewhere (CI
logs, files) a line is printed at most every ``LOG_INTERVAL`` seconds, so a long run shows
it is alive without flooding the log. ``quiet`` prints nothing.
"""

from __future__ import annotations

import sys
import time

__all__ = ["Progress"]

TTY_INTERVAL = 0.25
LOG_INTERVAL = 10.0


class Progress:
    def __init__(self, name: str, total: int, *, quiet: bool, already_done: int = 0) -> None:
        self.name = name
        self.total = total
        self.done = already_done
        self.errors = 0
        self.quiet = quiet
        self._resumed = already_done
        self._tty = sys.stderr.isatty()
        self._started = time.monotonic()
        self._printed = self._started
        self._errors_shown: set[str] = set()

    def say(self, text: str) -> None:
        if not self.quiet:
            print(f"wiretrace: {text}", file=sys.stderr, flush=True)

    def first_error(self, who: str, text: str) -> None:
        """Print the first error of the model and of each scorer (the rest are counted)."""
        if who not in self._errors_shown:
            self._errors_shown.add(who)
            label = "model error" if who == "model" else f"scorer {who} error"
            self.say(f"{self.name}: {label} on {text} (further ones are counted, not shown)")

    def row_done(self, failed: bool) -> None:
        self.done += 1
        self.errors += failed
        if self.quiet:
            return
        now = time.monotonic()
        if now - self._printed >= (TTY_INTERVAL if self._tty else LOG_INTERVAL):
            self._printed = now
            self._print(now, final=False)

    def close(self) -> None:
        if not self.quiet:
            self._print(time.monotonic(), final=True)

    def line(self, now: float) -> str:
        elapsed = max(now - self._started, 1e-9)
        rate = (self.done - self._resumed) / elapsed
        left = self.total - self.done
        eta = f", ETA {left / rate:.0f}s" if rate > 0 and left > 0 else ""
        return (
            f"wiretrace: {self.name}: {self.done}/{self.total} rows, {self.errors} errors, "
            f"{rate:.1f} rows/s{eta}"
        )

    def _print(self, now: float, *, final: bool) -> None:
        text = self.line(now)
        if self._tty:
            sys.stderr.write("\r" + text + ("\n" if final else ""))
            sys.stderr.flush()
        else:
            print(text, file=sys.stderr, flush=True)
