from __future__ import annotations

from app.config import Settings
from app.db.engine import Database
from app.realtime.bus import MemoryBus, RedisBus
from app.realtime.hub import Hub


def build_hub(settings: Settings, db: Database) -> Hub:
    bus: MemoryBus | RedisBus = (
        RedisBus(settings.redis_url, publish_queue=settings.redis_publish_queue) if settings.redis_url else MemoryBus()
    )
    return Hub(db, bus)
