"""One log line per outage for a periodic task, not one per attempt.

A loop that retries every few seconds (the sockets' credential re-check, the hub's catch-up) would
write a traceback at each attempt while the database is out: hundreds an hour per instance. The
first failure is logged with its traceback, the following ones only counted, and one line says
when the task works again and how many attempts failed meanwhile.
"""

from __future__ import annotations

import logging


class FailureLog:
    def __init__(self, logger: logging.Logger, what: str) -> None:
        self.logger = logger
        self.what = what
        self.failures = 0  # consecutive failed attempts

    def failed(self, exc: BaseException) -> None:
        self.failures += 1
        if self.failures == 1:
            self.logger.error("%s failed; retrying, quietly until it works again", self.what, exc_info=exc)

    def succeeded(self) -> None:
        if self.failures:
            self.logger.warning("%s works again after %d failed attempts", self.what, self.failures)
            self.failures = 0
