"""How long a case fanning out over 1,000 items takes to start, and whether a sign-in made
meanwhile has to wait for it (issue 15: 3,000 items took 29 s while a sign-in waited 27 s
for the SQLite lock; target below 5 s for 1,000 items and a sign-in not blocked).

Builds a fresh database (SQLite file and a throw-away PostgreSQL database), deploys a process
whose start event leads straight into a multi-instance call activity over ``items`` (the
fixture's ``item_work``: one task and one boundary timer per item), starts the case through
the API and, from another thread while it runs, signs in again and again through the token
endpoint (which writes a token row, so it needs the SQLite write lock).

    python bench/fanout.py [--items 1000] [--databases sqlite,postgresql]

Prints per database: the start time, the sign-ins made meanwhile (slowest and median, in ms)
against a sign-in on an idle server, and the load average.

Measured 2026-12-02 on the shared 2-core machine, 1,000 items, the same load (2.2-2.9):
before, SQLite 17.4 s, PostgreSQL 18.7 s; after the instances stopped copying the case data,
SQLite 3.6 s, PostgreSQL 4.7 s (100 items: 0.4 / 0.8 s; 300 items: 1.0 / 1.3 s). Under load 8
the same run took 15.8 / 20.1 s: the limit is still near on a busy machine.
Why: each instance of the multi-instance call activity began as a copy of the case data,
``items`` included, and every copy was converted and stored (profile at 300 items: 387,628
value conversions for 4,506 tasks, 16 s of 29 s). Instances whose called process has an
ioSpecification now keep only their own variables (``server/engine/runtime.py``,
``_share_with_parent``). What is left (cProfile, 1,000 items): about 60 % in the library's own
engine steps (creating 1,000 subprocesses, its tree walks), about 40 % converting and writing
the ~16,000 new task rows; both grow with the item count, no longer with its square.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.scratch import fixture_app  # noqa: E402

PG_SERVER = os.environ.get("GUANJIA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
PASSWORD = "Bench-pass-2026"
FANOUT_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  id="fanout_defs" targetNamespace="http://guanjia.test/bpmn">
  <bpmn:process id="fanout_case" name="千项并联" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:callActivity id="handle_items" name="并联办理" calledElement="item_work">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics camunda:collection="items"
                                             camunda:elementVariable="item" />
    </bpmn:callActivity>
    <bpmn:endEvent id="done"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="handle_items" />
    <bpmn:sequenceFlow id="f2" sourceRef="handle_items" targetRef="done" />
  </bpmn:process>
</bpmn:definitions>
"""
DEPARTMENTS = ["dept_fgj", "dept_zrzy", "dept_zjj", "dept_sthj"]


def build(url: str, instance: Path, count: int):  # type: ignore[no-untyped-def]
    from server.extensions import db
    from server.services.directory import ensure_standard_groups
    from server.services.processes import deploy
    from server.services.users import ensure_enterprise, ensure_user

    app = fixture_app(url, instance, GUANJIA_MAX_INSTANCES=str(max(count, 1000)),
                      GUANJIA_LOGIN_RATE="10000 per minute")
    with app.app_context():
        ensure_standard_groups()
        ensure_user("qiye", "企业甲经办人", PASSWORD, ["enterprise"],
                    enterprise=ensure_enterprise("企业甲"))
        ensure_user("zhaoshang", "招商局", PASSWORD, ["bureau"])
        db.session.commit()
        fixture = (ROOT / "tests/fixtures/processes/parallel_items.bpmn").read_text("utf-8")
        deploy({"parallel_items.bpmn": fixture, "fanout.bpmn": FANOUT_BPMN}, author="bench")
        db.session.remove()
    return app


def sign_in_ms(client) -> float:  # type: ignore[no-untyped-def]
    began = time.perf_counter()
    response = client.post("/api/v1/auth/token",
                           json={"username": "zhaoshang", "password": PASSWORD})
    assert response.status_code == 200, response.json
    return (time.perf_counter() - began) * 1000


def measure(app, count: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    client = app.test_client()
    token = client.post("/api/v1/auth/token",
                        json={"username": "qiye", "password": PASSWORD}).json["token"]
    idle = statistics.median(sign_in_ms(app.test_client()) for _ in range(3))
    items = [{"code": f"item_{n:04d}", "department": DEPARTMENTS[n % 4], "promised_days": 3}
             for n in range(count)]
    during: list[float] = []
    running = threading.Event()
    running.set()

    def sign_in_meanwhile() -> None:
        other = app.test_client()
        time.sleep(0.2)
        while running.is_set():
            during.append(sign_in_ms(other))
            time.sleep(0.1)

    watcher = threading.Thread(target=sign_in_meanwhile)
    watcher.start()
    began = time.perf_counter()
    response = client.post("/api/v1/cases", headers={"Authorization": f"Bearer {token}"},
                           json={"process_id": "fanout_case",
                                 "data": {"project_name": "千项并联基准", "items": items}})
    started = time.perf_counter() - began
    running.clear()
    watcher.join()
    assert response.status_code == 201, response.json
    from server.extensions import db
    from server.models import WorkItem

    with app.app_context():
        tasks = db.session.execute(sa.select(sa.func.count(WorkItem.id)).where(
            WorkItem.case_id == response.json["id"])).scalar_one()
        db.session.remove()
    return {"start_s": started, "tasks": tasks, "idle_ms": idle,
            "signins": len(during), "max_ms": max(during, default=0.0),
            "median_ms": statistics.median(during) if during else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    for kind in args.databases.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            instance = Path(tmp)
            if kind == "sqlite":
                url, cleanup = f"sqlite:///{instance / 'fanout.sqlite'}", None
            else:
                name = f"guanjia_fanout_{uuid.uuid4().hex[:8]}"
                admin = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.exec_driver_sql(f"CREATE DATABASE {name}")
                url, cleanup = f"{PG_SERVER}/{name}", (admin, name)
            try:
                app = build(url, instance, args.items)
                result = measure(app, args.items)
                from server.extensions import db

                with app.app_context():
                    db.engine.dispose()
            finally:
                if cleanup is not None:
                    admin, name = cleanup
                    with admin.connect() as conn:
                        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                    admin.dispose()
        waited = "yes" if result["max_ms"] > result["idle_ms"] + 1000 else "no"
        print(f"{kind:10s} {args.items} items: start {result['start_s']:.2f} s "
              f"({result['tasks']} tasks opened); sign-ins meanwhile: {result['signins']}, "
              f"slowest {result['max_ms']:.0f} ms, median {result['median_ms']:.0f} ms "
              f"(idle {result['idle_ms']:.0f} ms); sign-in waited: {waited}; "
              f"load {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
