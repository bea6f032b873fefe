"""Deterministic sample data for the example app's `company` and `deal` forms."""
from __future__ import annotations

import random
import time
from datetime import date, timedelta

from formloom.runtime.records import service

STAGES = ["new", "qualified", "proposal", "negotiation", "won", "lost"]
AMOUNT_RANGE = (5_000, 500_000)
COMPANIES = 100


def companies(n: int = COMPANIES) -> list[dict]:
    """Company field values (names are unique, as the form requires)."""
    return [{"name": f"Company {i + 1}", "tier": "ABC"[i % 3]} for i in range(n)]


def deals(n: int, company_ids: list[int], seed: int = 7, start: int = 0) -> list[dict]:
    """`n` deal field values: a link, a select, numbers for the formula, a date."""
    rng = random.Random(seed + start)
    base = date(2026, 1, 1)
    rows = []
    for i in range(start, start + n):
        stage = rng.choice(STAGES)
        row = {"title": f"Deal {i + 1}", "company": rng.choice(company_ids), "stage": stage,
               "amount": round(rng.uniform(*AMOUNT_RANGE), 2), "probability": rng.choice([10, 25, 50, 75, 90]),
               "close_date": (base + timedelta(days=rng.randint(0, 364))).isoformat()}
        if stage == "lost":  # the form's rule makes a lost reason required
            row["lost_reason"] = "Price"
        rows.append(row)
    return rows


def create_companies(actor, runtime, n: int = COMPANIES) -> list[int]:
    """Create the companies deals link to, through the records service."""
    return service.bulk_create(actor, runtime, "company", companies(n))


def load_in_requests(actor, runtime, form: str, rows: list[dict], size: int) -> list[float]:
    """`service.bulk_create` of `rows`, `size` a request as the API takes them; each request's seconds."""
    out = []
    for i in range(0, len(rows), size):
        t0 = time.perf_counter()
        service.bulk_create(actor, runtime, form, rows[i:i + size])
        out.append(round(time.perf_counter() - t0, 3))
    return out
