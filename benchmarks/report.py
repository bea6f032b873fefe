"""Timing helpers, machine facts, printed tables and JSON result files."""
from __future__ import annotations

import json
import math
import os
import platform
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def percentile(samples: list[float], pct: float) -> float:
    """The `pct` percentile of `samples` (nearest rank), as people quote p50 and p95."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def latency(samples: list[float]) -> dict:
    return {"runs": len(samples), "p50_ms": round(percentile(samples, 50), 2),
            "p95_ms": round(percentile(samples, 95), 2), "max_ms": round(max(samples), 2)}


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def machine(db_version: str | None = None) -> dict:
    """Facts that make a number comparable: cores, memory, load, versions."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"cores": os.cpu_count(), "memory": _memory(), "load_avg_1m": round(load[0], 2) if load else None,
            "python": platform.python_version(), "platform": platform.platform(),
            "sqlite": sqlite3.sqlite_version, "database_server": db_version,
            "at": datetime.now(UTC).isoformat(timespec="seconds")}


def table(title: str, columns: list[str], rows: list[list]) -> str:
    """A plain-text table with a title line, right-aligned numbers."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]

    def line(values):
        return "  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths, strict=True)))

    out = [title, line(columns), line(["-" * w for w in widths])]
    out.extend(line(r) for r in cells)
    return "\n".join(out)


def timed_measures(result: dict, title: str) -> str:
    """A result whose `results` hold `timings` per measure, `records`, `load_seconds`,
    `rows_returned`, and whose `aims` each say their value and whether it was met, as text."""
    r = result["results"]
    rows = [[key.replace("_", " "), t["runs"], t["p50_ms"], t["p95_ms"], t["max_ms"]] for key, t in r["timings"].items()]
    out = table(title, ["measure", "runs", "p50 ms", "p95 ms", "max ms"], rows)
    out += f"\nloaded in {r['load_seconds']} s; rows returned per measure: {r['rows_returned']}"
    for aim in result["aims"]:
        out += f"\naim: {aim['aim']}: {aim['value']} ms, {'met' if aim['met'] else 'NOT met'}"
    return out


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def write(result: dict, out_dir: Path = RESULTS_DIR) -> Path:
    """Write `result` to `<out_dir>/<benchmark>-<db>.json` and return the path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{result['benchmark']}-{result['db']}.json"
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return path
