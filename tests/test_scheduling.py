"""tests/scheduling.py: the known-slow tests start each xdist worker's share, longest first."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.scheduling import initial_shares, known_durations, slow_first


@dataclass
class Item:
    nodeid: str


def test_durations_are_read_from_durations_lines_and_summed_per_test(tmp_path: Path) -> None:
    listing = tmp_path / "slow.txt"
    listing.write_text(
        "# a comment\n"
        "12.50s call     tests/a.py::test_x[p-1]\n"
        " 1.25s setup    tests/a.py::test_x[p-1]\n"
        "3.0s teardown tests/b.py::test_y\n"
        "(2 durations < 0.005s hidden)\n"
    )
    assert known_durations(listing) == {"tests/a.py::test_x[p-1]": 13.75, "tests/b.py::test_y": 3.0}
    assert known_durations(tmp_path / "missing.txt") == {}


def test_shares_match_what_worksteal_hands_out_first() -> None:
    assert initial_shares(11, 2) == [5, 6]
    assert initial_shares(10, 3) == [3, 3, 4]
    assert sum(initial_shares(437, 2)) == 437


def test_slow_tests_start_the_shares_and_the_rest_keep_their_order() -> None:
    items: Any = [Item(f"t{i}") for i in range(10)]
    durations = {"t9": 30.0, "t8": 20.0, "t7": 15.0, "t1": 5.0}
    ordered = [i.nodeid for i in slow_first(items, durations, 2)]
    assert sorted(ordered) == sorted(i.nodeid for i in items)  # nothing lost or repeated
    first, second = ordered[:5], ordered[5:]
    # Longest to the share with the least known time: 30 | 20, then 15 beside the 20, then 5 beside the 30.
    assert first[:2] == ["t9", "t1"] and second[:2] == ["t8", "t7"]
    assert first[2:] + second[2:] == ["t0", "t2", "t3", "t4", "t5", "t6"]


def test_a_share_never_takes_more_tests_than_worksteal_gives_it() -> None:
    items: Any = [Item(f"t{i}") for i in range(5)]
    durations = {f"t{i}": float(10 - i) for i in range(4)}
    ordered = [i.nodeid for i in slow_first(items, durations, 2)]
    assert ordered == ["t0", "t3", "t1", "t2", "t4"]  # shares of 2 and 3
