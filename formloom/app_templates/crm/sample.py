"""Deterministic CRM sample data: a sales organisation and 18 months of its work.

`generate(scale, seed, today, language)` returns `{form: [fields, ...]}` in creation order.
Links are 1-based positions into an earlier form's list, user fields name a person of
`people()` by key and department fields a department by key: the installer maps them to ids.
"sales_target:wider" (team, region and product-line targets) is loaded before the personal
targets, whose team target is found by data linkage.
`"$flow_status"` marks a record as having been through its approval already. Everything is
consistent: won opportunities have a quote, a contract, an order and payments (never more
than the contract), each customer's tier and last contact follow from its deals and
follow-ups, payments past due and not fully received are overdue, old tickets are closed.
"""
from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from formloom.app_templates.crm.names import company_name, person_name, words

REGIONS = ["north", "east", "south", "central", "west"]
INDUSTRIES = ["software", "manufacturing", "finance", "retail", "education", "healthcare", "other"]
SOURCES = ["referral", "website", "exhibition", "cold_call", "partner"]
LINES = ["software", "hardware", "service", "consulting"]
METHODS = ["call", "visit", "wechat", "email", "meeting"]
SLA_HOURS = {"urgent": 4, "high": 24, "medium": 48, "low": 72}
DAYS = 540  # about 18 months
TEAMS = {"team_east": ("rep1", "rep2"), "team_north": ("rep3", "rep4")}
REPS = [r for reps in TEAMS.values() for r in reps]
PEOPLE = {  # key: (zh name, en name, department, roles)
    "director": ("周建国", "Helen Carter", "sales", ["sales_director"]),
    "manager1": ("林晓燕", "Grace Lewis", "team_east", ["sales_manager"]),
    "manager2": ("赵志强", "Mark Young", "team_north", ["sales_manager"]),
    "rep1": ("王磊", "James Miller", "team_east", ["sales_rep"]),
    "rep2": ("陈静", "Emily Davis", "team_east", ["sales_rep"]),
    "rep3": ("张伟", "Daniel Wilson", "team_north", ["sales_rep"]),
    "rep4": ("刘芳", "Sarah Moore", "team_north", ["sales_rep"]),
    "finance": ("孙丽华", "Linda Clark", "finance", ["finance"]),
    "legal": ("郑文博", "Paul Walker", "legal", ["legal"]),
    "service_manager": ("何海燕", "Karen Hall", "service", ["service_manager"]),
    "service": ("马俊杰", "Steven King", "service", ["service"]),
}
DEPARTMENTS = {  # key: (zh, en, parent, head)
    "sales": ("销售中心", "Sales", None, "director"),
    "team_east": ("华东销售部", "Sales East", "sales", "manager1"),
    "team_north": ("华北销售部", "Sales North", "sales", "manager2"),
    "finance": ("财务部", "Finance", None, "finance"),
    "legal": ("法务部", "Legal", None, "legal"),
    "service": ("客户服务部", "Customer service", None, "service_manager"),
}
TEAM_REGION = {"team_east": "east", "team_north": "north"}


def people(language: str = "zh") -> dict:
    """The demo organisation: departments (parents first) and users with their roles."""
    zh = language.startswith("zh")
    return {
        "departments": [{"key": k, "name": v[0] if zh else v[1], "parent": v[2], "head": v[3]}
                        for k, v in DEPARTMENTS.items()],
        "users": [{"key": k, "name": v[0] if zh else v[1], "email": f"{k.replace('_', '.')}@example.com",
                   "department": v[2], "roles": v[3]} for k, v in PEOPLE.items()],
    }


def _day(d: date) -> str:
    return d.isoformat()


def _moment(d: date, hour: int) -> str:
    return datetime.combine(d, time(hour, 0), tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Gen:
    def __init__(self, scale: float, seed: int, today: date, language: str):
        self.rng = random.Random(seed)
        self.today, self.language, self.scale = today, language, scale
        self.w = words(language)
        self.out: dict[str, list[dict]] = {k: [] for k in (
            "product", "sales_target:wider", "sales_target", "customer", "contact", "lead", "opportunity", "follow_up", "quote", "contract", "order",
            "payment", "ticket", "sales_target")}

    def n(self, base: int, least: int = 1) -> int:
        return max(least, round(base * self.scale))

    def money(self, amount: float) -> float:
        """A target sized to the sample's scale, so completion stays believable at any size."""
        return max(10_000, round(amount * self.scale, -4))

    def add(self, form: str, row: dict) -> int:
        self.out[form].append(row)
        return len(self.out[form])

    def ago(self, low: int, high: int) -> date:
        return self.today - timedelta(days=self.rng.randint(low, high))

    # -- reference data ------------------------------------------------------------------
    def products(self):
        self.catalogue: dict[str, list[tuple[int, float]]] = {}
        for line in LINES:
            for i, (name, price, unit) in enumerate(self.w["products"][line]):
                pos = self.add("product", {"name": name, "sku": f"{line[:3].upper()}-{i + 1:03d}", "product_line": line,
                                           "unit_price": price, "unit": unit, "active": True})
                self.catalogue.setdefault(line, []).append((pos, price))

    def customers(self):
        names = set()
        self.cust_owner, self.cust_region, self.cust_contacts = [], [], []
        for _ in range(self.n(200, 6)):
            industry = self.rng.choice(INDUSTRIES)
            name = company_name(self.rng, self.language, industry)
            while name in names:
                name = company_name(self.rng, self.language, industry) + (" " if name[-1].isascii() else "") + \
                    str(len(names))
            names.add(name)
            team = self.rng.choice(list(TEAMS))
            owner = self.rng.choice(TEAMS[team])
            region = TEAM_REGION[team] if self.rng.random() < 0.7 else self.rng.choice(REGIONS)
            pos = self.add("customer", {
                "name": name, "industry": industry, "source": self.rng.choice(SOURCES), "region": region,
                "owner": owner, "status": "prospect", "tier": "C",
                "phone": f"{self.rng.choice(['138', '139', '186', '135'])}{self.rng.randint(10000000, 99999999)}"
                if self.language.startswith("zh") else f"+1 555 {self.rng.randint(1000000, 9999999)}",
                "email": f"contact{len(names)}@example.com",
                "address": f'{self.rng.choice(self.w["cities"])} {self.rng.choice(self.w["streets"])} {self.rng.randint(1, 999)}',
                "tags": self.rng.sample(["vip", "partner", "reference", "at_risk"], self.rng.choice([0, 0, 1, 1, 2])),
            })
            self.cust_owner.append(owner)
            self.cust_region.append(region)
            contacts = []
            for j in range(self.rng.randint(1, 3)):
                contacts.append(self.add("contact", {
                    "name": person_name(self.rng, self.language), "customer": pos, "owner": owner,
                    "title": self.rng.choice(self.w["titles"]), "is_primary": j == 0,
                    "email": f"person{len(self.out['contact']) + 1}@example.com"}))
            self.cust_contacts.append(contacts)

    def leads(self):
        for _ in range(self.n(120, 3)):
            status = self.rng.choice(["new", "following", "following", "converted", "invalid"])
            industry = self.rng.choice(INDUSTRIES)
            row = {"title": company_name(self.rng, self.language, industry), "source": self.rng.choice(SOURCES),
                   "company": company_name(self.rng, self.language, industry),
                   "contact_name": person_name(self.rng, self.language), "status": status,
                   "owner": self.rng.choice(REPS)}
            if status == "converted":
                row["converted_customer"] = self.rng.randint(1, len(self.out["customer"]))
            self.add("lead", row)

    # -- the pipeline ----------------------------------------------------------------------
    def opportunities(self):
        customers = len(self.out["customer"])
        self.won_by_customer = [0.0] * customers
        self.last_contact = [None] * customers
        for _ in range(self.n(1000, 8)):
            c = self.rng.randrange(customers)
            opened = self.ago(5, DAYS)
            age = (self.today - opened).days
            roll = self.rng.random()
            if age > 60 and roll < 0.45:
                stage = "won"
            elif age > 30 and roll < 0.7:
                stage = "lost"
            else:
                stage = self.rng.choice(["initial", "needs", "proposal", "proposal", "negotiation"])
            line = self.rng.choice(LINES)
            items = self.items(line)
            amount = round(sum(i["quantity"] * i["unit_price"] * (1 - i["discount"] / 100) for i in items), 2)
            owner = self.cust_owner[c]
            closed = min(self.today, opened + timedelta(days=self.rng.randint(15, 90))) if stage in ("won", "lost") else None
            opp = {"title": f'{self.out["customer"][c]["name"]} {self.rng.choice(self.w["deal_words"])}',
                   "customer": c + 1, "contact": self.cust_contacts[c][0], "stage": stage, "amount": amount,
                   "expected_close_date": _day(closed or self.today + timedelta(days=self.rng.randint(7, 120))),
                   "product_line": line, "region": self.cust_region[c], "owner": owner}
            if closed:
                opp["closed_date"] = _day(closed)
            if stage == "lost":
                opp["lost_reason"] = self.rng.choice(self.w["lost_reasons"])
            pos = self.add("opportunity", opp)
            self.follow_ups(c, pos, opened, closed or self.today, stage)
            if stage in ("proposal", "negotiation", "won") or (stage == "lost" and self.rng.random() < 0.5):
                quote = self.quote(c, pos, items, opened, owner, stage)
                if stage == "won":
                    self.won_by_customer[c] += amount
                    self.contract(c, pos, quote, amount, closed, owner, items)

    def items(self, line: str) -> list[dict]:
        rows = []
        for product, price in self.rng.sample(self.catalogue[line], self.rng.randint(1, min(3, len(self.catalogue[line])))):
            quantity = self.rng.randint(1, 2) if price >= 30_000 else self.rng.randint(2, 20) if price >= 5_000 \
                else self.rng.choice([10, 20, 50, 100, 200])
            rows.append({"product": product, "quantity": quantity, "unit_price": price,
                         "discount": self.rng.choice([0, 0, 5, 8, 10, 12, 15, 20, 25])})
        return rows

    def follow_ups(self, c: int, opp: int, start: date, end: date, stage: str):
        owner = self.cust_owner[c]
        span = max(1, (end - start).days)
        for _ in range(self.rng.randint(1, 5)):
            when = start + timedelta(days=self.rng.randint(0, span))
            method = self.rng.choice(METHODS)
            row = {"subject": self.w["follow_subjects"][method], "customer": c + 1, "opportunity": opp,
                   "method": method, "content": self.rng.choice(self.w["follow_texts"]), "follow_up_at": _day(when),
                   "owner": owner}
            if stage not in ("won", "lost"):
                row["next_follow_up_at"] = _day(when + timedelta(days=self.rng.randint(3, 14)))
            self.add("follow_up", row)
            if self.last_contact[c] is None or when > self.last_contact[c]:
                self.last_contact[c] = when
            latest = self.out["opportunity"][opp - 1]
            if row.get("next_follow_up_at") and row["follow_up_at"] >= latest.get("_last", ""):
                latest["_last"] = row["follow_up_at"]
                latest["next_follow_up_at"] = row["next_follow_up_at"]

    def quote(self, c: int, opp: int, items: list[dict], opened: date, owner: str, stage: str) -> int:
        when = opened + timedelta(days=self.rng.randint(3, 15))
        when = min(when, self.today)
        return self.add("quote", {"customer": c + 1, "opportunity": opp, "items": [dict(i) for i in items],
                                  "quote_date": _day(when), "valid_until": _day(when + timedelta(days=30)),
                                  "owner": owner, "$flow_status": "approved"})

    def contract(self, c: int, opp: int, quote: int, amount: float, signed: date, owner: str, items: list[dict]):
        age = (self.today - signed).days
        status = "completed" if age > 365 else "executing"
        pos = self.add("contract", {
            "title": self.w["contract_title"].format(customer=self.out["customer"][c]["name"]), "customer": c + 1,
            "opportunity": opp, "quote": quote, "amount": amount, "sign_date": _day(signed), "start_date": _day(signed),
            "end_date": _day(signed + timedelta(days=365)), "payment_terms": self.w["terms"], "status": status,
            "owner": owner, "$flow_status": "approved"})
        ordered = min(self.today, signed + timedelta(days=self.rng.randint(0, 5)))
        age = (self.today - ordered).days
        delivery = "done" if age > 60 else "shipped" if age > 20 else self.rng.choice(["pending", "partial"])
        lines = [{"product": i["product"], "quantity": i["quantity"],
                  "unit_price": round(i["unit_price"] * (1 - i["discount"] / 100), 2)} for i in items]
        order = self.add("order", {"customer": c + 1, "contract": pos, "items": lines, "amount": amount,
                                   "order_date": _day(ordered), "delivery_status": delivery, "owner": owner})
        self.payments(c, pos, order, amount, ordered, owner)
        if self.rng.random() < 0.5:
            self.ticket(c, order, ordered)

    def payments(self, c: int, contract: int, order: int, amount: float, ordered: date, owner: str):
        parts = self.rng.choice([[1.0], [0.5, 0.5], [0.3, 0.4, 0.3], [0.3, 0.7]])
        planned = [round(amount * p, 2) for p in parts]
        planned[-1] = round(amount - sum(planned[:-1]), 2)
        for k, part in enumerate(planned):
            due = ordered + timedelta(days=30 * (k + 1))
            row = {"contract": contract, "order": order, "customer": c + 1, "installment": k + 1,
                   "plan_date": _day(due), "planned_amount": part, "owner": owner, "status": "unpaid"}
            if due < self.today:
                roll = self.rng.random()
                if roll < 0.8:
                    got = min(self.today, due + timedelta(days=self.rng.randint(-10, 20)))
                    row.update(status="paid", received_date=_day(got), received_amount=part,
                               method=self.rng.choice(["bank", "bank", "acceptance", "online"]))
                elif roll < 0.9:
                    row.update(status="overdue", received_date=_day(due), received_amount=round(part * 0.5, 2),
                               method="bank")
                else:
                    row["status"] = "overdue"
            self.add("payment", row)

    def ticket(self, c: int, order: int, ordered: date):
        opened = ordered + timedelta(days=self.rng.randint(5, 120))
        if opened > self.today:
            return
        kind = self.rng.choice(list(self.w["ticket_subjects"]))
        priority = self.rng.choice(["low", "medium", "medium", "high", "urgent"])
        start = datetime.combine(opened, time(self.rng.randint(1, 9), 0), tzinfo=UTC)
        row = {"subject": self.rng.choice(self.w["ticket_subjects"][kind]), "customer": c + 1,
               "contact": self.cust_contacts[c][0], "order": order, "type": kind, "priority": priority,
               "assignee": "service", "owner": self.cust_owner[c],
               "opened_at": start.strftime("%Y-%m-%dT%H:%M:%SZ")}  # its SLA due time is a formula
        if (self.today - opened).days > 10:
            took = timedelta(hours=self.rng.randint(1, SLA_HOURS[priority] * 2))
            row.update(status="closed", resolved_at=(start + took).strftime("%Y-%m-%dT%H:%M:%SZ"),
                       satisfaction=self.rng.choice([3, 4, 4, 5, 5, 5, 2]), feedback=self.rng.choice(self.w["feedback"]),
                       **{"$flow_status": "approved"})
        else:
            row["status"] = self.rng.choice(["new", "in_progress", "confirming"])
        self.add("ticket", row)

    # -- targets and the customers' summary fields ----------------------------------------------
    def targets(self):
        names = {p["key"]: p["name"] for p in people(self.language)["users"]}
        teams = {d["key"]: d["name"] for d in people(self.language)["departments"]}
        first = date(self.today.year, self.today.month, 1)
        for back in range(18, -1, -1):
            y, m = divmod(first.year * 12 + first.month - 1 - back, 12)
            start = date(y, m + 1, 1)
            end = date(y + (m + 1) // 12, (m + 1) % 12 + 1, 1) - timedelta(days=1)
            period = f"{start:%Y-%m}"
            for rep in REPS:
                base = self.money(self.rng.choice([1_000_000, 1_300_000, 1_600_000, 2_000_000]))
                self.add("sales_target", {"name": self.w["person_target"].format(period=period, person=names[rep]),
                                          "period_type": "month", "period": period, "start_date": _day(start),
                                          "end_date": _day(end), "dimension": "person", "owner": rep,
                                          "department": PEOPLE[rep][2],
                                          "baseline_target": base, "challenge_target": round(base * 1.3, 2)})
            if start.month in (1, 4, 7, 10) or back == 18:
                q = (start.month - 1) // 3
                qs = date(start.year, q * 3 + 1, 1)
                qe = date(start.year + (q == 3), (q * 3 + 3) % 12 + 1, 1) - timedelta(days=1)
                for team, manager in (("team_east", "manager1"), ("team_north", "manager2")):
                    label = f"{qs.year}-Q{q + 1}"
                    self.add("sales_target:wider", {"name": self.w["team_target"].format(period=label, team=teams[team]),
                                              "period_type": "quarter", "period": label, "start_date": _day(qs),
                                              "end_date": _day(qe), "dimension": "team", "department": team,
                                              "owner": manager, "baseline_target": self.money(8_000_000),
                                              "challenge_target": self.money(11_000_000)})

        for year in range(first.year - 1, first.year + 1):
            for region in REGIONS:
                self.add("sales_target:wider", {
                    "name": self.w["region_target"].format(period=year, region=self.w["regions"][region]),
                    "period_type": "year", "period": str(year), "start_date": f"{year}-01-01",
                    "end_date": f"{year}-12-31", "dimension": "region", "region": region, "owner": "director",
                    "baseline_target": self.money(13_000_000), "challenge_target": self.money(20_000_000)})
            for line in LINES:
                self.add("sales_target:wider", {
                    "name": self.w["line_target"].format(period=year, line=self.w["lines"][line]),
                    "period_type": "year", "period": str(year), "start_date": f"{year}-01-01",
                    "end_date": f"{year}-12-31", "dimension": "product_line", "product_line": line,
                    "owner": "director", "baseline_target": self.money(16_000_000),
                    "challenge_target": self.money(23_000_000)})

    def finish_customers(self):
        for i, row in enumerate(self.out["customer"]):
            won = self.won_by_customer[i]
            row["tier"] = "A" if won >= 1_000_000 else "B" if won >= 100_000 else "C"
            if won:
                row["status"] = "churned" if self.rng.random() < 0.08 else "active"
            if self.last_contact[i]:
                row["last_contact_at"] = _day(self.last_contact[i])
                if row["status"] == "active":
                    row["cooperation_since"] = _day(self.last_contact[i] - timedelta(days=self.rng.randint(30, 400)))
        for row in self.out["opportunity"]:
            row.pop("_last", None)


def generate(scale: float = 1, seed: int = 7, today: date | None = None, language: str = "zh") -> dict[str, list[dict]]:
    """The sample records, in creation order (see the module's docstring for the conventions)."""
    g = _Gen(scale, seed, today or date.today(), language)
    g.products()
    g.targets()  # before the deals and payments, which link to the target of their period
    g.customers()
    g.leads()
    g.opportunities()
    g.finish_customers()
    return g.out
