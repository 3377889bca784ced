import asyncio, time
from sqlalchemy import insert
from app.db.models import WorkflowExecution as E
from app.db.models.base import new_uuid, utcnow
from app.services import Services
from tests.conftest import World
from tests.fault_helpers import ids_of


async def test_bench(services: Services, world: World) -> None:
    ws, wf = await ids_of(services, world.ws["A"], world.workflows["Invoice approval"])
    now = utcnow()
    rows = [{"uuid": new_uuid(), "workspace_id": ws, "workflow_id": wf, "status": "running", "version": 1,
             "started_at": now, "created_at": now, "updated_at": now} for _ in range(1000)]
    async with services.db.write() as s:
        await s.execute(insert(E), rows)
    user = await services.accounts.authenticate_token(world.operator_a.token)
    uuids = [str(r["uuid"]) for r in rows]
    t = time.perf_counter()
    dry = await services.operations.dry_run(user, "stop", uuids)
    t_dry = time.perf_counter() - t
    t = time.perf_counter()
    await services.operations.start(user, "stop", uuids, None, 1000)
    while services.operations.runner.tasks:
        await asyncio.gather(*services.operations.runner.tasks.values())
    print(f"\nBULKBENCH dry run 1000: {t_dry*1000:.0f} ms; real run 1000 stops: {time.perf_counter()-t:.2f} s; applicable {dry['applicable']}")
