"""Process-wide runtime settings for a serving process."""

from __future__ import annotations

import gc
import logging

logger = logging.getLogger(__name__)


def freeze_startup_heap() -> int:
    """Take what start-up left alive out of the cyclic garbage collector's walks, once per process.

    Modules, routes, ORM metadata and the like (about 175,000 objects in a worker) live as long as
    the process, yet every full collection walked them all with the event loop stopped: 120-260 ms
    under load, about every 15 s per worker, and each such pause held back the WebSocket events
    due in it (docs/benchmarks.md, goal 8). Frozen, they are skipped; a full collection then walks
    only what serving created. Returns how many objects were frozen (0 when already done)."""
    if gc.get_freeze_count():
        return 0
    gc.collect()  # garbage from start-up is freed, not frozen
    gc.freeze()
    frozen = gc.get_freeze_count()
    logger.info("froze %d start-up objects out of the garbage collector's full walks", frozen)
    return frozen
