"""Approval flows at scale: a user's inbox among 1,000,000 tasks, and an approve action.

The example app's deal form gets a one-step flow (the benchmark's user approves). Then
100,000 deals and instances and 1,000,000 tasks are written with `INSERT ... SELECT` (one
task in a hundred is the user's and pending: 10,000; the rest belong to 100 other people,
30 % pending, 50 % approved, 20 % cancelled). Timed, p50/p95 over `RUNS` runs each: the
user's pending inbox, first page and a deep page (5,000 tasks in), and the navigation
counts (`queries.inbox`, `queries.counts`, 50 a page with titles and names). Then `APPROVALS`
real deals are created through the records service (each submitted into the flow) and each
task is approved through `service.act` (claim, conditional transition, log, record status,
events, notification), timed one by one.
"""
from __future__ import annotations

import time

import sqlalchemy as sa

from benchmarks import data, loader, report
from benchmarks.env import definition, server_version
from formloom.builder.apps import publish, save_draft
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import FlowInstance, FlowTask, User
from formloom.runtime.apps import get_runtime
from formloom.runtime.flows import queries
from formloom.runtime.flows import service as flows
from formloom.runtime.records import service

NAME = "flows"
TASKS = 1_000_000
MINE_EVERY = 100
OTHERS = 100
RUNS = 200
APPROVALS = 200
WARMUP = 3
FLOW = {"key": "deal_approval", "form": "deal", "name": "Deal approval",
        "steps": [{"type": "approval", "key": "approve", "name": "Approve", "assignees": {"users": []}}]}

SERIES = loader.SERIES
STATE = '{"tokens": {"t": "approve"}, "joins": {}}'


def run(env, scale: float = 1.0, **_options) -> dict:
    n_tasks = max(1_000, round(TASKS * scale))
    n_instances = max(100, n_tasks // 10)
    runs = max(5, min(RUNS, round(RUNS * scale * 10)))
    approvals = max(5, min(APPROVALS, round(APPROVALS * scale * 10)))
    with env.app.app_context():
        actor = env.actor()
        runtime = _with_flow(env, actor)
        started = time.perf_counter()
        first_instance, company_ids = _load(env, runtime, n_instances, n_tasks)
        load_seconds = time.perf_counter() - started
        mine = db.session.execute(sa.select(sa.func.count()).select_from(FlowTask).where(
            FlowTask.assignee_id == env.user_id, FlowTask.status == "pending")).scalar()
        deep = db.session.execute(sa.select(FlowTask.id).where(
            FlowTask.assignee_id == env.user_id, FlowTask.status == "pending").order_by(FlowTask.id.desc())
            .offset(mine // 2).limit(1)).scalar()
        timings = {"inbox_first_page": [], "inbox_deep_page": [], "counts": []}
        for i in range(runs + WARMUP):
            for name, call in (("inbox_first_page", lambda: queries.inbox(actor, "pending")),
                               ("inbox_deep_page", lambda: queries.inbox(actor, "pending", before=deep)),
                               ("counts", lambda: queries.counts(actor))):
                t0 = time.perf_counter()
                items, *_rest = call() if name != "counts" else (call(),)
                elapsed = (time.perf_counter() - t0) * 1000
                db.session.rollback()
                if i >= WARMUP:
                    timings[name].append(elapsed)
        page = queries.inbox(actor, "pending")[0]
        if len(page) != min(50, mine) or page[0].title.startswith("#"):
            raise RuntimeError(f"the inbox page is wrong: {len(page)} rows, first {page[0].title!r}")
        approve_ms = _approvals(env, runtime, approvals, company_ids)
        version = server_version()
    results = {"tasks": n_tasks, "instances": n_instances, "my_pending": mine, "first_instance": first_instance,
               "load_seconds": round(load_seconds, 1),
               "timings": {k: report.latency(v) for k, v in {**timings, "approve": approve_ms}.items()}}
    return {"benchmark": NAME, "db": env.db, "scale": scale, "machine": report.machine(version),
            "params": {"runs": runs, "approvals": approvals, "page": 50, "mine_every": MINE_EVERY,
                       "others": OTHERS},
            "results": results}


def _with_flow(env, actor):
    key = env.runtime().key
    defn = definition()
    flow = {**FLOW, "steps": [{**FLOW["steps"][0], "assignees": {"users": [env.user_id]}}]}
    defn["flows"] = [flow]
    save_draft(actor, key, defn)
    publish(actor, key)
    return get_runtime(key)


def _load(env, runtime, n_instances: int, n_tasks: int) -> tuple[int, list[int]]:
    """Deals, instances and tasks in three statements; the first instance's id, the companies."""
    dialect = db.engine.dialect.name
    company_ids = data.create_companies(env.actor(), runtime)
    loader.load_via_sql(runtime, n_instances, company_ids, env.user_id)
    first_record = db.session.execute(sa.select(sa.func.min(runtime.form_tables("deal").table.c.id))).scalar()
    with write_transaction():
        db.session.execute(sa.insert(User), [{"email": f"approver{i}@example.com", "name": f"Approver {i}",
                                              "active": True, "is_admin": False} for i in range(OTHERS)])
    others = list(db.session.execute(sa.select(User.id).where(User.email.like("approver%@example.com"))
                                     .order_by(User.id)).scalars())
    prefix, series = SERIES[dialect]
    ts = loader.TIMESTAMP[dialect]
    with write_transaction():
        db.session.execute(sa.text(
            f"{prefix}INSERT INTO flow_instances (app_id, flow_key, form_key, record_id, app_version, status, "
            f"submitter_id, state, rev, started_at, updated_at) SELECT :app, 'deal_approval', 'deal', "
            f":first_record + s.i - 1, :version, 'in_progress', :rep, :state, 0, {ts}, {ts} FROM {series}"),
            {"n": n_instances, "app": runtime.app_id, "first_record": first_record, "version": runtime.version,
             "rep": env.rep_id, "state": STATE})
    first_instance = db.session.execute(sa.select(sa.func.min(FlowInstance.id))).scalar()
    status = (f"CASE WHEN s.i % {MINE_EVERY} = 0 THEN 'pending' WHEN s.i % 10 < 3 THEN 'pending' "
              "WHEN s.i % 10 < 8 THEN 'approved' ELSE 'cancelled' END")
    assignee = f"CASE WHEN s.i % {MINE_EVERY} = 0 THEN :me ELSE :first_other + s.i % :others END"
    with write_transaction():
        db.session.execute(sa.text(
            f"{prefix}INSERT INTO flow_tasks (instance_id, app_id, form_key, record_id, step_key, kind, token, "
            f"assignee_id, status, seq, created_at) SELECT :first_instance + s.i % :instances, :app, 'deal', "
            f":first_record + s.i % :instances, 'approve', 'approval', 't', {assignee}, {status}, 0, {ts} "
            f"FROM {series}"),
            {"n": n_tasks, "first_instance": first_instance, "instances": n_instances, "app": runtime.app_id,
             "first_record": first_record, "me": env.user_id, "first_other": others[0], "others": len(others)})
    with write_transaction():
        for table in ("flow_tasks", "flow_instances", "users"):
            db.session.execute(sa.text(f"ANALYZE {table}"))
    return first_instance, company_ids


def _approvals(env, runtime, n: int, company_ids: list[int]) -> list[float]:
    """Create `n` deals through the service (each submitted), then approve each, timed."""
    made = [service.create(env.actor(), runtime, "deal", row)["id"] for row in data.deals(n, company_ids, seed=11)]
    tasks = list(db.session.execute(sa.select(FlowTask.id).where(
        FlowTask.record_id.in_(made), FlowTask.status == "pending", FlowTask.form_key == "deal")
        .order_by(FlowTask.id)).scalars())
    if len(tasks) != n:
        raise RuntimeError(f"expected {n} tasks from the submitted deals, found {len(tasks)}")
    db.session.rollback()
    actor = env.actor()
    out = []
    for task_id in tasks:
        t0 = time.perf_counter()
        flows.act(actor, task_id, "approve", comment="ok")
        out.append((time.perf_counter() - t0) * 1000)
    approved = db.session.execute(sa.select(sa.func.count()).select_from(FlowInstance).where(
        FlowInstance.record_id.in_(made), FlowInstance.status == "approved")).scalar()
    if approved != n:
        raise RuntimeError(f"expected {n} approved deals, got {approved}")
    return out


def format_result(result: dict) -> str:
    r = result["results"]
    rows = [[name, t["runs"], t["p50_ms"], t["p95_ms"]] for name, t in r["timings"].items()]
    return report.table(
        f"flows: {r['my_pending']:,} pending of {r['tasks']:,} tasks ({result['db']}; loaded in {r['load_seconds']} s)",
        ["measure", "runs", "p50 ms", "p95 ms"], rows)
