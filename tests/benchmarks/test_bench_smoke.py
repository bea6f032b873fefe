"""`python -m benchmarks` at a tiny scale: every benchmark runs, prints its table and writes numbers."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCALE = "0.001"
# A guard against a hung run, not a speed limit: a busy CI machine may take many times longer.
HANG = 1800


def run_benchmarks(db: str, out: Path) -> subprocess.CompletedProcess:
    # The events benchmark uses the embedded runner here: a shared Redis would be flushed
    # under another run (the RQ path is tested with a Redis of its own in tests/platform/test_jobs.py).
    env = {**os.environ, "FORMLOOM_BENCH_REDIS_URL": ""}
    if db == "postgres":
        env["FORMLOOM_BENCH_DATABASE_URL"] = os.environ["FORMLOOM_TEST_DATABASE_URL"]
    return subprocess.run([sys.executable, "-m", "benchmarks", "--db", db, "--scale", SCALE, "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=HANG)


def test_every_benchmark_reports_numbers(any_db, tmp_path):
    done = run_benchmarks(any_db, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    names = ("creates", "bulk", "list", "events", "automations", "flows", "relations", "dashboards", "http")
    results = {name: json.loads((tmp_path / f"{name}-{any_db}.json").read_text()) for name in names}
    assert {(r["benchmark"], r["db"]) for r in results.values()} == {(n, any_db) for n in results}

    creates = results["creates"]["results"]
    assert creates["records"] == 20 and creates["stored"] == 20 + results["creates"]["params"]["warmup"]
    assert creates["per_second"] > 0 and creates["p95_ms"] >= creates["p50_ms"] > 0

    bulk = results["bulk"]["results"]
    assert bulk["stored"] == bulk["records"] == 100
    assert bulk["rows_per_second"] > 0 and results["bulk"]["aims"][0]["value"] == bulk["rows_per_second"]

    listing = results["list"]["results"]
    assert listing["records"] == 1000 and 0 < listing["deep_page_after"] < listing["matching"] < 1000
    for timing in listing["timings"].values():
        assert timing["runs"] == 5 and timing["p95_ms"] >= timing["p50_ms"] > 0
    assert all(results["list"]["plans"][page]["plan"] for page in ("first_page", "deep_page"))
    assert set(listing["api_overhead_ms"]) == {"first_page", "deep_page"}

    events = results["events"]["results"]
    assert events["events"] == 50 and events["per_second"] > 0
    assert results["events"]["params"]["runner"] == "embedded (in-process)"

    automations = results["automations"]["results"]
    assert automations["runs"] == 50 and automations["per_second"] > 0

    flow = results["flows"]["results"]
    assert flow["tasks"] == 1000 and flow["my_pending"] == 10
    assert all(t["p95_ms"] >= t["p50_ms"] > 0 for t in flow["timings"].values())
    assert flow["timings"]["approve"]["runs"] == 5

    relations = results["relations"]["results"]
    changes = relations["tier_changes"]
    # Three changes finished by background refreshes, then one in its own transaction.
    assert [(c["tier"], c["inline"]) for c in changes] == [("B", False), ("A", False), ("B", False), ("A", True)]
    assert all(c["deals"] == c["revisions"] == 10 and c["seconds"] > 0 and c["statements"] > 0 for c in changes)
    for load in (relations["bulk_baseline"], relations["bulk_with_relations"]):
        assert load["records"] == 100 and load["rows_per_second"] > 0
    assert relations["bulk_with_relations"]["slower_than_baseline"] > 0 and relations["rollups_checked"] == 50

    dashboards = results["dashboards"]["results"]
    assert dashboards["records"] == 1000 and dashboards["rows_returned"]["group_by_month"] > 0
    assert all(t["p95_ms"] >= t["p50_ms"] > 0 for t in dashboards["timings"].values())

    over_http = results["http"]["results"]
    phases = over_http["phases"]
    assert list(phases) == ["create_sequential", "create_4_clients", "bulk", "list", "read", "update"]
    for name, phase in phases.items():
        assert phase["requests"] > 0 and phase["per_second"] > 0, name
        assert phase["p99_ms"] >= phase["p95_ms"] >= phase["p50_ms"] > 0, name
        assert phase["server_cpu_ms_per_request"] >= 0, name
    # Every create and every bulk row is stored, and the backlog they made was worked through.
    requests = results["http"]["params"]["requests"]
    assert over_http["stored"] == requests["create_sequential"] + requests["create_4_clients"] + requests["bulk"]
    assert over_http["backlog_after_bulk"]["events_left"] == over_http["backlog_after_bulk"]["jobs_left"] == 0
    assert over_http["web_rss_mb"] and all(mb > 0 for mb in over_http["web_rss_mb"])

    imported = json.loads((tmp_path / f"imports-{any_db}.json").read_text())["results"]
    assert imported["status"] == "finished" and imported["created"] == imported["stored"] == imported["rows"] == 100
    assert imported["failed_rows"] == 0 and imported["rows_per_second"] > 0

    scale = json.loads((tmp_path / f"scale-{any_db}.json").read_text())
    if any_db == "sqlite":
        assert "PostgreSQL only" in scale["skipped"]
    elif not scale.get("skipped"):  # needs redis-server on the PATH
        r = scale["results"]
        assert r["creates"] == 20 and r["create_errors"] == 0 and r["jobs_done"] >= 60
        assert r["jobs_failed_or_held"] == 0 and r["redis_peak_mb"] > 0 and r["jobs_per_second"] > 0


    for title in ("http: formloom serve", "flows: 10 pending of 1,000 tasks", "automations: runs from record events", "creates: deal records", "bulk: service.bulk_create", "list: amount > 250,000", "events: record events",
                  "relations: lookups and rollups kept current", "imports: a 7-column CSV with a link column",
                  "dashboard widgets over 1,000 deals"):
        assert title in done.stdout


def test_unreachable_postgres_is_reported(tmp_path):
    env = {**os.environ, "FORMLOOM_BENCH_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"}
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--db", "postgres", "--out", str(tmp_path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=HANG)
    assert done.returncode == 2
    assert "is not reachable" in done.stderr and "--db sqlite" in done.stderr
    assert not list(tmp_path.iterdir())
