"""The example app (tests/data/sales-mini.json, in both languages and with views) and its sample data."""
from __future__ import annotations

import random
from datetime import date, timedelta

COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka", "Tyrell",
             "Cyberdyne", "Soylent", "Aperture", "Vandelay", "Pied Piper", "Massive Dynamic"]
SUFFIX = ["Ltd", "Inc", "Group", "Trading", "Systems", "Labs"]
PRODUCTS = [("CRM seats", 1200), ("Support plan", 5000), ("Training day", 8000), ("Integration", 20000),
            ("Analytics add-on", 3000)]


def generate(scale: int = 1, seed: int = 7, today: date | None = None) -> dict[str, list[dict]]:
    """Deterministic sample records: companies, deals and quotes, linked by position.

    Links are given as 1-based positions into the earlier form's list; the installer maps
    them to real ids once the earlier records exist.
    """
    rng = random.Random(seed)
    today = today or date.today()
    companies = []
    for i in range(max(1, int(40 * scale))):
        name = f"{rng.choice(COMPANIES)} {rng.choice(SUFFIX)} {i + 1}"
        companies.append({
            "name": name, "tier": rng.choice(["A", "B", "B", "C", "C", "C"]),
            "industry": rng.choice(["Software", "Manufacturing", "Finance", "Education", "Other"]),
            "tags": rng.sample(["vip", "partner", "reseller"], rng.randint(0, 2)),
            "email": f"info{i + 1}@example.com", "revenue": round(rng.uniform(1e5, 5e7), 2),
            "since": (today - timedelta(days=rng.randint(30, 900))).isoformat(), "active": rng.random() > 0.1,
        })
    deals = []
    for i in range(max(1, int(200 * scale))):
        stage = rng.choice(["new", "qualified", "proposal", "negotiation", "won", "won", "lost"])
        deal = {"title": f"Deal {i + 1}", "company": rng.randint(1, len(companies)), "stage": stage,
                "amount": round(rng.uniform(5_000, 500_000), 2), "probability": rng.choice([10, 25, 50, 75, 90]),
                "close_date": (today + timedelta(days=rng.randint(-300, 120))).isoformat()}
        if stage == "lost":
            deal["lost_reason"] = rng.choice(["Price", "Timing", "Competitor", "No budget"])
        deals.append(deal)
    quotes = []
    for _ in range(max(1, int(60 * scale))):
        items = []
        for _ in range(rng.randint(1, 4)):
            product, price = rng.choice(PRODUCTS)
            items.append({"product": product, "qty": rng.randint(1, 20), "price": price,
                          "discount": rng.choice([0, 0, 5, 10, 15, 25])})
        quotes.append({"deal": rng.randint(1, len(deals)), "items": items,
                       "valid_until": (today + timedelta(days=rng.randint(5, 60))).isoformat()})
    return {"company": companies, "deal": deals, "quote": quotes}
