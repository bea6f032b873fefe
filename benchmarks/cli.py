"""`python -m benchmarks`: run the benchmarks, print tables, write JSON results."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import sqlalchemy as sa

from benchmarks import (
    automations,
    bulk,
    creates,
    dashboards,
    events,
    flows,
    imports,
    listing,
    over_http,
    relations,
    report,
    scale,
    views,
)
from benchmarks.env import bench_env, pg_server_url

BENCHMARKS = {module.NAME: module for module in (creates, bulk, listing, events, automations, flows,
                                                        relations, views, dashboards, over_http, scale, imports)}
DATABASES = {"sqlite": ["sqlite"], "postgres": ["postgres"], "both": ["sqlite", "postgres"]}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--db", choices=list(DATABASES), default="both",
                        help="database(s) to run on (PostgreSQL: FORMLOOM_BENCH_DATABASE_URL, "
                             "default postgresql://postgres@127.0.0.1:5432/test)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply record counts (e.g. 0.001 for a smoke run)")
    parser.add_argument("--only", action="append", choices=list(BENCHMARKS), metavar="NAME",
                        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}")
    parser.add_argument("--load", choices=["sql", "service"], default="sql",
                        help="how `list` fills its table: one INSERT ... SELECT (default) or bulk_create")
    parser.add_argument("--out", type=Path, default=report.RESULTS_DIR, help="folder for the JSON results")
    args = parser.parse_args(argv)
    if args.scale <= 0:
        parser.error("--scale must be positive")
    return args


def check_postgres() -> str | None:
    """Why the PostgreSQL server cannot be used, or None when it can."""
    engine = sa.create_engine(pg_server_url())
    try:
        with engine.connect():
            return None
    except sa.exc.OperationalError as exc:
        return str(exc.orig).strip().splitlines()[0]
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    databases = DATABASES[args.db]
    if "postgres" in databases and (problem := check_postgres()):
        print(f"PostgreSQL at {sa.make_url(pg_server_url()).render_as_string()} is not reachable: {problem}\n"
              "Start it, set FORMLOOM_BENCH_DATABASE_URL, or run with --db sqlite.", file=sys.stderr)
        return 2
    for name in args.only or list(BENCHMARKS):
        module = BENCHMARKS[name]
        for kind in databases:
            print(f"\n== {name} on {kind} (scale {args.scale:g}) ...", flush=True)
            load_before = os.getloadavg()[0]
            with bench_env(kind) as env:
                result = module.run(env, scale=args.scale, load=args.load)
            # Other work on the machine skews every number: keep how busy it was.
            result["machine"]["load_avg_1m_before"] = round(load_before, 2)
            print(module.format_result(result))
            print(f"-> {report.write(result, args.out)}", flush=True)
    return 0
