"""``create_demo_app``: the regular app plus the simulator running inside it (``athena demo``)."""

from __future__ import annotations

import logging
import os

from litestar import Litestar

from app.asgi import create_app
from app.config import Settings
from app.demo.local import ServiceBackend
from app.demo.seed import SIMULATOR_EMAIL
from app.demo.simulator import SimConfig, Simulator
from app.services import Services

logger = logging.getLogger("athena.demo")
RATE_ENV = "ATHENA_DEMO_RATE"  # how `athena demo --rate` reaches this factory through uvicorn


def create_demo_app(settings: Settings | None = None, *, config: SimConfig | None = None) -> Litestar:
    app = create_app(settings)
    services: Services = app.state.services
    config = config or SimConfig(rate=float(os.environ.get(RATE_ENV, "2.0")))

    async def start_simulator() -> None:
        try:
            backend = await ServiceBackend.for_email(services, SIMULATOR_EMAIL)
        except Exception as exc:  # not seeded: serve the app anyway
            logger.error("simulator not started: %s (run `athena demo` to seed)", exc)
            return
        simulator = Simulator(backend, config)
        app.state.simulator = simulator
        simulator.start()

    async def stop_simulator() -> None:
        simulator: Simulator | None = app.state.get("simulator")
        if simulator is not None:
            await simulator.stop()

    # Never assign the hook lists: the services' own hooks must keep running. The simulator starts
    # after the services and stops before them (shutdown hooks run in list order).
    app.on_startup.append(start_simulator)
    app.on_shutdown.insert(0, stop_simulator)
    return app
