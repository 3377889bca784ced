"""Order of the tests on pytest-xdist's workers, and how long each worker ran (README, "Faster runs").

With ``--dist worksteal`` each worker first gets a contiguous share of the collected tests (the first
half, the second half), and a worker left without work steals the end of the other's queue. A test
of 30 s that starts last on one worker while the other has nothing left makes a tail of up to 30 s
with one core idle. The tests listed in ``slow_tests.txt`` (lines as ``--durations`` prints them)
are therefore dealt out first, longest first, to the starts of the workers' shares, so what is left
at the end of a run is short tests that the idle worker can steal.

At the end of a parallel run the controller prints when each worker ran its last test, and the
tail: the time between the first worker running out of work and the last. ``TEST_SLOW_FIRST=0``
keeps the collection order (to compare).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SLOW_TESTS = Path(__file__).with_name("slow_tests.txt")
DURATION_LINE = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s+(?:setup|call|teardown)\s+(\S.*?)\s*$")


def known_durations(path: Path = SLOW_TESTS) -> dict[str, float]:
    """Seconds per test id: the sum of its phases' lines (``12.3s call  tests/x.py::test_y``)."""
    durations: dict[str, float] = {}
    if not path.exists():
        return durations
    for line in path.read_text().splitlines():
        match = DURATION_LINE.match(line)
        if match:
            durations[match[2]] = durations.get(match[2], 0.0) + float(match[1])
    return durations


def initial_shares(total: int, workers: int) -> list[int]:
    """How many tests each worker gets at the start (xdist's WorkStealingScheduling.check_schedule)."""
    sizes = []
    for k in range(workers):
        size = total // (workers - k)
        sizes.append(size)
        total -= size
    return sizes


def slow_first(items: list[pytest.Item], durations: dict[str, float], workers: int) -> list[pytest.Item]:
    """The known-slow tests, longest first, each at the start of the share with the least known time;
    every other test after them in collection order (a module's tests stay together)."""
    sizes = initial_shares(len(items), workers)
    slow = sorted((i for i in items if i.nodeid in durations), key=lambda i: (-durations[i.nodeid], i.nodeid))
    shares: list[list[pytest.Item]] = [[] for _ in range(workers)]
    load = [0.0] * workers
    for item in slow:
        open_shares = [k for k in range(workers) if len(shares[k]) < sizes[k]]
        k = min(open_shares, key=lambda k: (load[k], k))
        shares[k].append(item)
        load[k] += durations[item.nodeid]
    chosen = {id(i) for i in slow}
    rest = [i for i in items if id(i) not in chosen]
    for k in range(workers):
        take = sizes[k] - len(shares[k])
        shares[k].extend(rest[:take])
        del rest[:take]
    return [item for share in shares for item in share]


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> Iterator[None]:
    # After every other implementation: the shares are those of the tests left once `-m` deselected.
    yield
    workerinput = getattr(config, "workerinput", None)  # set in xdist's workers only
    if workerinput is None or not workerinput.get("athena_slow_first"):
        return
    workers = int(workerinput["workercount"])
    if workers > 1 and len(items) >= workers:
        items[:] = slow_first(items, known_durations(), workers)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """In the controller, for each worker (xdist sets a worker's own ``dist`` option to "no")."""
    slow_first_wanted = os.environ.get("TEST_SLOW_FIRST") != "0"  # 0: collection order, to compare tails
    node.workerinput["athena_slow_first"] = slow_first_wanted and node.config.getoption("dist") == "worksteal"


class WorkerClock:
    """In the xdist controller: when each worker reported its last test phase."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.last: dict[str, float] = {}

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        worker = getattr(report, "node", None)
        if worker is not None:
            self.last[str(worker.gateway.id)] = time.monotonic() - self.start

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if len(self.last) < 2:
            return
        ends = sorted(self.last.items(), key=lambda kv: kv[1])
        listed = ", ".join(f"{name} {end:.0f} s" for name, end in ends)
        tail = ends[-1][1] - ends[0][1]
        terminalreporter.write_line(f"workers' last test ended at: {listed}; tail {tail:.0f} s")


def pytest_configure(config: pytest.Config) -> None:
    if getattr(config, "workerinput", None) is None and config.getoption("numprocesses", None):
        config.pluginmanager.register(WorkerClock(), "athena-worker-clock")
