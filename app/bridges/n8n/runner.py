"""The bridge's poll loop: find new and changed n8n executions, mirror them, pass decisions back,
keep its cursor and health in the database, and back off while n8n is slow or down.

**Finding executions.** n8n's execution ids are sequential. The list (newest first) leaves out the
executions n8n holds in memory (running, or parked in a Wait node), so each poll reads the newest
page, the ``status=running`` list, then the ids above the cursor up to the highest one seen (at
most ``MAX_FETCH``) as one list page with their data (``N8nClient.executions_below``), and by id the
ones that page leaves out, plus a short probe beyond (a parked execution newer than every listed one).
A poll that drained a full window with more above it is followed at once by the next.
An id that answers 404 while a higher one exists is a gap (deleted, another project's, or not
committed yet): it is retried for ``GAP_GRACE`` seconds, then passed. The cursor only moves over
ids that are mirrored or passed, and is saved every poll: a restart resumes from it.

**Changed executions.** Every execution n8n has not finished is re-read: running ones every poll
(their node progress, with ``EXECUTIONS_DATA_SAVE_EXECUTION_PROGRESS``), waiting ones every
``WAITING_EVERY`` seconds and every poll for a few seconds after the bridge resumed one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import InterfaceError, OperationalError

from app.bridges.n8n.actions import Actions
from app.bridges.n8n.client import N8nClient, N8nRefused, N8nUnavailable
from app.bridges.n8n.mirror import Mirror
from app.bridges.n8n.reads import LATER, batchable, reading, settle
from app.bridges.n8n.store import BridgeStore, Link
from app.bridges.n8n.tables import bridges
from app.db.models.base import utcnow

logger = logging.getLogger("athena.bridge.n8n")
GAP_GRACE = 10.0  # seconds a missing id below a known one is retried
PROBE_MISSES = 2  # ids fetched beyond the highest listed one before giving up (parked executions)
MAX_FETCH = 100  # ids read per poll at most (one list page): a backlog drains over polls run back to back
FETCH_CONCURRENCY = 8  # n8n GETs in flight while draining new ids
BEAT_EVERY = 5.0  # a long poll (a backlog under load) still writes its heartbeat this often
WAITING_EVERY = 5.0
WORKFLOWS_EVERY = 30.0
SLOW_SECONDS = 2.0  # a poll slower than this reports the bridge "slow"
MAX_ATTEMPTS = 3  # an execution that fails to mirror (not an outage) this often is passed
# n8n or the database unreachable: the whole poll fails and backs off; nothing is passed.
OUTAGES = (N8nUnavailable, N8nRefused, OSError, TimeoutError, OperationalError, InterfaceError)


class _Poison(Exception):
    """This execution could not be mirrored this time (see ``BridgeRunner._mirror``)."""


@dataclass
class BridgeOptions:
    poll_seconds: float = 1.0
    max_backoff: float = 30.0
    backfill: int = 100  # on the very first start: mirror this many of n8n's latest executions
    decision_seconds: float = 0.2  # how often decided reviews are looked for (database only)


@dataclass
class Tail:
    """In-memory scheduling; everything that must survive a restart is in the database."""

    gaps: dict[int, float] = field(default_factory=dict)  # id -> first seen missing (monotonic)
    next_check: dict[int, float] = field(default_factory=dict)  # open waiting id -> when to re-read
    hot_until: dict[int, float] = field(default_factory=dict)  # resumed id -> re-read every poll until
    workflows_at: float = 0.0
    failed: dict[int, int] = field(default_factory=dict)  # id -> failed attempts to mirror it


class BridgeRunner:
    def __init__(
        self, mirror: Mirror, actions: Actions, store: BridgeStore, client: N8nClient, options: BridgeOptions
    ) -> None:
        self.mirror = mirror
        self.actions = actions
        self.store = store
        self.client = client
        self.options = options
        self.tail = Tail()
        self.cursor = 0
        self.primed = False  # the first poll decided where a cursor of 0 starts
        self.backlog = False  # the last poll left ids above its window: the next one starts at once
        self.range_pages = True  # n8n took ``executions_below``'s cursor (else: single reads only)
        self.stopping = asyncio.Event()
        self.acting = asyncio.Lock()
        self.beat_at = time.monotonic()

    async def start(self) -> None:
        await self.mirror.load()
        self.cursor = await self.store.cursor()

    async def run(self) -> None:
        """Poll until ``stop()``; never raises for n8n's or the database's troubles (it backs off)."""
        acting = asyncio.create_task(self._act_forever(), name="n8n-bridge-decisions")
        try:
            await self._poll_forever()
        finally:
            self.stop()
            await acting

    async def _poll_forever(self) -> None:
        failures = 0
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                mirrored = await self.poll_once()
            except (N8nUnavailable, N8nRefused) as exc:
                failures += 1
                await self._failed(failures, str(exc))
            except Exception as exc:  # the database, a bug: logged, backed off, retried
                failures += 1
                logger.exception("bridge poll failed")
                await self._failed(failures, f"{type(exc).__name__}: {exc}")
            else:
                failures = 0
                took = time.monotonic() - started
                state = "slow" if took > SLOW_SECONDS else "ok"
                await self._report(
                    state=state, backoff_seconds=0.0, consecutive_failures=0, last_error=None, last_ok_at=utcnow(),
                    last_poll_seconds=round(took, 3), polls=bridges.c.polls + 1, mirrored=bridges.c.mirrored + mirrored,
                )  # fmt: skip
                await self._sleep(0.0 if self.backlog else max(0.0, self.options.poll_seconds - took))

    def stop(self) -> None:
        self.stopping.set()

    async def _failed(self, failures: int, error: str) -> None:
        backoff = min(self.options.max_backoff, self.options.poll_seconds * 2**failures)
        logger.warning("n8n unavailable (%s failures in a row), retrying in %.1f s: %s", failures, backoff, error)
        await self._report(
            state="backing_off", backoff_seconds=backoff, consecutive_failures=failures, last_error=error[:2000],
            polls=bridges.c.polls + 1, failures=bridges.c.failures + 1,
        )  # fmt: skip
        await self._sleep(backoff)

    async def _report(self, **values: Any) -> None:
        try:
            await self.store.report(**values)
        except Exception:  # the database is down too: the heartbeat's age tells /ready
            logger.exception("bridge state not saved")

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)

    # ----------------------------------------------------------------- one poll
    async def poll_once(self) -> int:
        """One round: workflows (every 30 s), new executions, open ones, then decisions and stops."""
        now = time.monotonic()
        if now - self.tail.workflows_at >= WORKFLOWS_EVERY:
            for wf in await self.client.workflows():
                await self.mirror.sync_workflow(wf)
            self.tail.workflows_at = now
        # The newest ids and the running ones, asked together: under a burst each takes seconds.
        (listed, _), (running, _) = await asyncio.gather(
            self.client.executions_page(limit=10), self.client.executions_page(status="running", limit=250)
        )
        known = [int(e["id"]) for e in (*listed, *running)]
        if self.cursor == 0 and known and not self.primed:  # first start: a bounded backfill, not all history
            self.cursor = max(0, max(known) - self.options.backfill)
        self.primed = True  # an n8n empty at the first poll: its first execution (id 1) is new, not history
        top, before = max(known, default=self.cursor), self.cursor
        mirrored = await self._new_executions(top)
        # A full window drained and more above it (a burst): the next poll starts at once. Not when
        # the cursor is held by a gap, which only time resolves.
        self.backlog = before + MAX_FETCH <= self.cursor < top
        mirrored += await self._open_executions({int(e["id"]) for e in running})
        await self.act_once()
        return mirrored

    async def act_once(self) -> None:
        """Athena -> n8n: pass on decided reviews, note stops. Serialized: the poll and the faster
        decision loop both call it, and a decision must be passed on once."""
        async with self.acting:
            for n8n_id in await self.actions.resume_decided():
                self.tail.hot_until[n8n_id] = time.monotonic() + 5.0  # follow it closely as it goes on
            await self.actions.report_stops()

    async def _act_forever(self) -> None:
        """Decisions are read from the database every ``decision_seconds`` (one indexed query), so a
        decision reaches n8n without waiting for the next poll of n8n."""
        while not self.stopping.is_set():
            try:
                await self.act_once()
            except (N8nUnavailable, N8nRefused):
                await self._sleep(self.options.poll_seconds)  # the poll loop reports and backs off
            except Exception:
                logger.exception("passing decisions to n8n failed")
                await self._sleep(self.options.poll_seconds)
            await self._sleep(self.options.decision_seconds)

    async def _new_executions(self, top: int) -> int:
        """Mirror the ids above the cursor up to ``top`` (at most ``MAX_FETCH``), then probe the
        ``PROBE_MISSES`` ids beyond it (a parked execution newer than every listed one). The
        window's finished executions come in one page; the others and the probes are read
        concurrently, and mirroring (in id order, parents first) takes each as soon as its answer
        is in: no poll waits on the slowest read, nor chases a burst one serial read at a time."""
        top = max(top, self.cursor)
        end = min(top, self.cursor + MAX_FETCH)
        wanted = range(self.cursor + 1, end + 1)
        probes = range(end + 1, end + 1 + PROBE_MISSES) if end == top else range(0)
        # The probes are read beside the window's page: no poll waits on both in turn.
        reads = reading(self.client, probes, FETCH_CONCURRENCY)
        try:
            known = await self._window(wanted)
        except BaseException:
            await settle(reads.values())
            raise
        ids = [*wanted, *probes]
        reads |= reading(self.client, [i for i in wanted if i not in known], FETCH_CONCURRENCY)
        batch: list[dict[str, Any]] = []  # new finished executions, created together
        try:
            links = await self.store.links(ids)  # the probes' too: one query, and a linked probe is never batched
            mirrored, resolved_to, contiguous, held = 0, self.cursor, True, None
            for n8n_id in ids:
                await self._beat()
                execution = known[n8n_id] if n8n_id in known else await reads[n8n_id]
                if execution is LATER:  # its read timed out: the ones before it are mirrored, it is next poll's
                    contiguous = False
                    continue
                if execution is not None and n8n_id not in links and batchable(execution):
                    batch.append(execution)
                    resolved_to = n8n_id if contiguous else resolved_to
                    continue
                created, held = await self._create_batch(batch, held)  # in id order: before this one
                mirrored += created
                if execution is None:
                    if n8n_id > top:  # a probe found nothing (yet)
                        contiguous = False
                        continue
                    first = self.tail.gaps.setdefault(n8n_id, time.monotonic())
                    if time.monotonic() - first < GAP_GRACE:
                        contiguous = False
                        continue
                    self.tail.gaps.pop(n8n_id, None)  # gone for good: passed
                else:
                    self.tail.gaps.pop(n8n_id, None)
                    existing = links.get(n8n_id)
                    try:
                        link = await self._mirror(execution, existing)
                    except _Poison:
                        if n8n_id in self.tail.failed:  # retried at the next poll
                            contiguous = False
                            continue
                        link = None  # passed for good
                    mirrored += 1 if existing is None and link is not None else 0
                    self._schedule(link, execution)
                if contiguous:
                    resolved_to = n8n_id
            created, held = await self._create_batch(batch, held)
            mirrored += created
        finally:
            await settle(reads.values())
        if held is not None:  # a batched execution to retry at the next poll holds the cursor
            resolved_to = min(resolved_to, held - 1)
        if resolved_to != self.cursor:
            self.cursor = resolved_to
            await self.store.report(cursor_id=resolved_to)
        return mirrored

    async def _create_batch(self, batch: list[dict[str, Any]], held: int | None) -> tuple[int, int | None]:
        """Create the batched new executions in one transaction (and empty the batch); when that
        fails for something other than an outage, one by one, each with its own retries (see
        ``_mirror``). Returns how many were created and the lowest id held for a retry."""
        if not batch:
            return 0, held
        todo = list(batch)
        batch.clear()
        try:
            created = await self.mirror.create_many(todo)
        except OUTAGES:
            raise
        except Exception:
            logger.warning("%s new n8n executions not created together: one by one", len(todo), exc_info=True)
            created = 0
            for execution in todo:
                try:
                    created += 1 if await self._mirror(execution, None) is not None else 0
                except _Poison:
                    n8n_id = int(execution["id"])
                    if n8n_id in self.tail.failed:  # retried at the next poll
                        held = n8n_id if held is None else min(held, n8n_id)
            return created, held
        for execution in todo:
            self.tail.failed.pop(int(execution["id"]), None)
            self._schedule(None, execution)
        return created, held

    async def _window(self, wanted: range) -> dict[int, dict[str, Any] | None]:
        """The finished executions among ``wanted`` with their data, in one list call (a page of
        up to ``MAX_FETCH``; n8n answers it in a fraction of the time of as many single reads, which
        is what paced a burst). The ones it leaves out (running, parked) are read one by one. An n8n
        that refuses the written cursor (400) is read one by one from then on."""
        if len(wanted) < 2 or not self.range_pages:
            return {}
        try:
            page = await self.client.executions_below(wanted.stop, len(wanted))
        except N8nRefused as exc:
            if exc.status != 400:
                raise
            logger.warning("n8n refused a list cursor (%s): new executions are read one by one", exc)
            self.range_pages = False
            return {}
        return {int(e["id"]): e for e in page if int(e["id"]) in wanted and "data" in e}

    async def _mirror(self, execution: dict[str, Any], link: Link | None) -> Link | None:
        """One execution; an error that is not an outage (n8n's, the database's) is retried at the
        next polls and, the third time, logged and passed, so one execution Athena cannot take
        (say data it rejects) never holds the cursor and everything behind it."""
        n8n_id = int(execution["id"])
        try:
            result = await self.mirror.mirror(execution, link)
        except OUTAGES:
            raise
        except Exception:
            failures = self.tail.failed.get(n8n_id, 0) + 1
            logger.exception("n8n execution %s not mirrored (attempt %s of %s)", n8n_id, failures, MAX_ATTEMPTS)
            if failures >= MAX_ATTEMPTS:
                self.tail.failed.pop(n8n_id, None)
                if link is not None:
                    await self.store.update_link(n8n_id, is_open=False)
                raise _Poison from None  # passed: the cursor moves over it
            self.tail.failed[n8n_id] = failures
            raise _Poison from None
        self.tail.failed.pop(n8n_id, None)
        return result

    async def _beat(self) -> None:
        if time.monotonic() - self.beat_at >= BEAT_EVERY:
            self.beat_at = time.monotonic()
            await self.store.report()  # heartbeat_at only: /ready must not call a busy bridge stale

    async def _open_executions(self, running: set[int]) -> int:
        """Re-read the executions n8n has not finished, when due (fetched concurrently)."""
        now = time.monotonic()
        due = [
            link
            for link in await self.store.open_links()
            if link.n8n_id <= self.cursor  # those above were read by _new_executions this poll
            and (
                link.n8n_id in running
                or link.n8n_status in ("running", "new")
                or self.tail.hot_until.get(link.n8n_id, 0) > now
                or self.tail.next_check.get(link.n8n_id, 0) <= now
            )
        ]
        reads = reading(self.client, [link.n8n_id for link in due], FETCH_CONCURRENCY)
        try:
            answers = {n8n_id: await task for n8n_id, task in reads.items()}
        finally:
            await settle(reads.values())
        changed = 0
        for link in due:
            await self._beat()
            execution = answers[link.n8n_id]
            if execution is LATER:  # its read timed out: re-read next poll
                continue
            if execution is None:  # deleted in n8n: nothing more will come
                await self.store.update_link(link.n8n_id, is_open=False)
                continue
            try:
                updated = await self._mirror(execution, link)
            except _Poison:
                continue
            changed += 1 if updated is not None and updated.fingerprint != link.fingerprint else 0
            self._schedule(updated, execution)
        return changed

    def _schedule(self, link: Link | None, execution: dict[str, Any]) -> None:
        if link is None or execution.get("status") != "waiting":
            self.tail.next_check.pop(int(execution["id"]), None)
            return
        self.tail.next_check[link.n8n_id] = time.monotonic() + WAITING_EVERY
