"""Random creates, changes, re-links, deletes and restores never leave a lookup or rollup stale.

A Hypothesis state machine over three linked forms (customer <- deal <- line) and a note
linking to several customers. After every step each lookup, rollup and formula of every
live record of the example equals a fresh computation, in plain Python, from the base
values read straight from the tables (`store.load_records`, not the relations code).
Examples share one installed app; each links only its own records and checks only those.

What "fresh" means, as `runtime/records/relations.py` and `links.py` define it:
- a lookup reads its linked record whether or not that record is in the recycle bin (a link
  without `on_delete` keeps pointing at it, and the lookup reads the row without looking at
  `deleted_at`); a lookup of a lookup follows the chain of links the same way;
- a rollup counts, sums or takes the max over the live records linking here only; with
  none (or only empty values), count and sum are 0 and max is empty;
- a new link to a record in the recycle bin is refused (one sent back unchanged is kept), and so are changing, deleting or
  restoring a record that is not in the state the action needs: a refusal changes nothing.
"""
from __future__ import annotations

import copy
from datetime import date

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from formloom.platform import jobs
from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.platform.models import Job, RecordRevision, RelationRefresh
from formloom.runtime.exceptions import Conflict, NotFound, ValidationFailed
from formloom.runtime.records import refreshes
from formloom.runtime.records import service as records
from formloom.runtime.storage import store

from support_formloom import Factory

SYSTEM = Actor.system()
FORMS = ("customer", "deal", "line", "note")
WON = {"field": "stage", "op": "eq", "value": "won"}
DEFINITION = {"key": "relm", "name": "Relations machine", "forms": [
    {"key": "customer", "name": "Customer", "title_field": "name", "fields": [
        {"key": "name", "type": "text", "label": "Name"},
        {"key": "tier", "type": "select", "label": "Tier", "options": ["A", "B", "C"]},
        {"key": "won_total", "type": "rollup", "label": "Won", "form": "deal", "link": "customer", "agg": "sum",
         "field": "amount", "where": WON},
        {"key": "deal_count", "type": "rollup", "label": "Deals", "form": "deal", "link": "customer", "agg": "count"},
        {"key": "note_count", "type": "rollup", "label": "Notes", "form": "note", "link": "about", "agg": "count"},
        {"key": "last_close", "type": "rollup", "label": "Last close", "form": "deal", "link": "customer",
         "agg": "max", "field": "close"},
        {"key": "score", "type": "formula", "label": "Score", "expr": "deal_count * 10 + note_count"}]},
    {"key": "deal", "name": "Deal", "fields": [
        {"key": "customer", "type": "link", "form": "customer", "label": "Customer"},
        {"key": "stage", "type": "select", "label": "Stage", "options": ["open", "won", "lost"]},
        {"key": "amount", "type": "number", "label": "Amount", "precision": 2},
        {"key": "close", "type": "date", "label": "Close"},
        {"key": "customer_tier", "type": "lookup", "label": "Tier", "link": "customer", "field": "tier"},
        {"key": "weight", "type": "formula", "label": "Weight", "expr": 'IF(customer_tier = "A", 2, 1)'},
        {"key": "line_total", "type": "rollup", "label": "Lines", "form": "line", "link": "deal", "agg": "sum",
         "field": "subtotal"},
        {"key": "max_qty", "type": "rollup", "label": "Max qty", "form": "line", "link": "deal", "agg": "max",
         "field": "qty"}]},
    {"key": "line", "name": "Line", "fields": [
        {"key": "deal", "type": "link", "form": "deal", "label": "Deal", "on_delete": "cascade"},
        {"key": "qty", "type": "number", "label": "Qty"},
        {"key": "price", "type": "number", "label": "Price", "precision": 2},
        {"key": "subtotal", "type": "formula", "label": "Subtotal", "expr": "qty * price"},
        {"key": "deal_stage", "type": "lookup", "label": "Stage", "link": "deal", "field": "stage"},
        {"key": "customer_tier", "type": "lookup", "label": "Tier", "link": "deal", "field": "customer_tier"}]},
    {"key": "note", "name": "Note", "fields": [
        {"key": "text", "type": "text", "label": "Text"},
        {"key": "about", "type": "link", "form": "customer", "multiple": True, "label": "About",
         "on_delete": "clear"}]}]}

# Values whose sums are exact in binary floating point, so expected and stored compare equal.
TIERS = st.sampled_from([None, "A", "B", "C"])
STAGES = st.sampled_from([None, "open", "won", "lost"])
AMOUNTS = st.sampled_from([0, 25.5, 100, 250.75])
CLOSES = st.sampled_from([None, "2026-01-31", "2026-03-01", "2026-12-24"])
QTYS = st.integers(0, 4)
PRICES = st.sampled_from([0.5, 1.25, 3, 10])


TARGET = {"deal": "customer", "line": "deal", "note": "customer"}  # the form each one links to
LIMITS = {"customer": 5, "deal": 8, "line": 14, "note": 5}  # records per example: keep the graph dense


def room_for(form: str):
    """Run the rule while the example has a record to link to and room for another `form`."""
    target = TARGET.get(form)
    return precondition(lambda self: len(self.ids[form]) < LIMITS[form] and (not target or self.ids[target]))


def has(form: str):
    """Run the rule only once the example has a record of `form`."""
    return precondition(lambda self: bool(self.ids[form]))


class RelationsMachine(RuleBasedStateMachine):
    """Set `rt` on a subclass (the test's installed app) before running it."""

    rt = None
    held = False  # background refreshes wait for the `background_jobs_run` rule

    def __init__(self):
        super().__init__()
        db.session.rollback()
        self.ids: dict[str, list[int]] = {f: [] for f in FORMS}  # this example's records, live or deleted

    # -- reading the tables -------------------------------------------------------------------
    def load(self) -> dict[str, dict[int, dict]]:
        """This example's records of every form, deleted ones too, as stored."""
        db.session.rollback()
        return {f: store.load_records(self.rt.form_tables(f), self.ids[f], include_deleted=True) for f in FORMS}

    def in_bin(self, form: str) -> set[int]:
        db.session.rollback()
        t = self.rt.form_tables(form).table
        return set(db.session.execute(sa.select(t.c.id).where(
            t.c.id.in_(self.ids[form]), t.c.deleted_at.is_not(None))).scalars())

    def snapshot(self) -> tuple:
        """Everything a refused action must leave as it was."""
        rows = self.load()
        revisions = db.session.execute(sa.select(sa.func.count()).select_from(RecordRevision)).scalar()
        return {f: {rid: (r["version"], r["deleted_at"], r["fields"]) for rid, r in rows[f].items()}
                for f in FORMS}, revisions

    def attempt(self, call, *refusals) -> bool:
        """Whether `call` went through; if it raised one of `refusals`, it changed nothing."""
        before = self.snapshot()
        try:
            call()
        except refusals:
            assert self.snapshot() == before, "a refused action changed something"
            return False
        return True

    def live(self, form: str, rid: int | None) -> bool:
        return rid is None or rid not in self.in_bin(form)

    def pick(self, data, form: str, empty: bool = True):
        """One of this example's records of `form`, live or deleted (or, with `empty`, none)."""
        return data.draw(st.sampled_from(([None] if empty else []) + self.ids[form]), form)

    def create(self, form: str, values: dict) -> None:
        """Create a record; refused (changing nothing) when it links to a record in the bin."""
        target = TARGET[form]
        linked = values["about"] if form == "note" else [values[target]]
        made = []
        went = self.attempt(lambda: made.append(records.create(SYSTEM, self.rt, form, values)), ValidationFailed)
        assert went == all(self.live(target, t) for t in linked), f"{form} linking to {linked}"
        self.ids[form].extend(m["id"] for m in made)

    # -- rules --------------------------------------------------------------------------------
    @initialize(data=st.data(), tiers=st.lists(TIERS, min_size=2, max_size=2),
                deals=st.lists(st.tuples(st.integers(0, 1), STAGES, AMOUNTS, CLOSES), min_size=1, max_size=3),
                lines=st.lists(st.tuples(QTYS, PRICES), max_size=4))
    def seed(self, data, tiers, deals, lines):
        """A few linked records to start from, so that short runs reach deep changes."""
        for i, tier in enumerate(tiers):
            self.ids["customer"].append(records.create(SYSTEM, self.rt, "customer", {"name": f"C{i}", "tier": tier})["id"])
        for who, stage, amount, close in deals:
            self.create("deal", {"customer": self.ids["customer"][who], "stage": stage, "amount": amount,
                                 "close": close})
        for qty, price in lines:
            self.create("line", {"deal": self.pick(data, "deal", empty=False), "qty": qty, "price": price})
        self.create("note", {"text": "n", "about": self.ids["customer"][:]})

    @precondition(lambda self: len(self.ids["customer"]) < LIMITS["customer"])
    @rule(tier=TIERS)
    def create_customer(self, tier):
        made = records.create(SYSTEM, self.rt, "customer", {"name": f"C{len(self.ids['customer'])}", "tier": tier})
        self.ids["customer"].append(made["id"])

    @room_for("deal")
    @rule(data=st.data(), stage=STAGES, amount=AMOUNTS | st.none(), close=CLOSES)
    def create_deal(self, data, stage, amount, close):
        self.create("deal", {"customer": self.pick(data, "customer"), "stage": stage, "amount": amount,
                             "close": close})

    @room_for("line")
    @rule(data=st.data(), qty=QTYS, price=PRICES)
    def create_line(self, data, qty, price):
        self.create("line", {"deal": self.pick(data, "deal"), "qty": qty, "price": price})

    @room_for("line")
    @rule(data=st.data(), lines=st.lists(st.tuples(QTYS, PRICES), min_size=1, max_size=4))
    def bulk_create_lines(self, data, lines):
        rows = [{"deal": self.pick(data, "deal"), "qty": q, "price": p} for q, p in lines]
        made = []
        went = self.attempt(lambda: made.extend(records.bulk_create(SYSTEM, self.rt, "line", rows)),
                            ValidationFailed)
        assert went == all(self.live("deal", r["deal"]) for r in rows)
        self.ids["line"].extend(made)

    @room_for("note")
    @rule(data=st.data())
    def create_note(self, data):
        about = data.draw(st.lists(st.sampled_from(self.ids["customer"]), max_size=3, unique=True), "about")
        self.create("note", {"text": "n", "about": about})

    @has("customer")
    @rule(data=st.data(), tier=TIERS)
    def update_customer(self, data, tier):
        self.update(data, "customer", {"tier": tier}, None)

    @has("deal")
    @rule(data=st.data(), changes=st.fixed_dictionaries({}, optional={
        "stage": STAGES, "amount": AMOUNTS | st.none(), "close": CLOSES, "customer": st.just("relink")}))
    def update_deal(self, data, changes):
        if changes.get("customer") == "relink":
            changes["customer"] = self.pick(data, "customer")
        self.update(data, "deal", changes, changes.get("customer", "unchanged"))

    @has("line")
    @rule(data=st.data(), changes=st.fixed_dictionaries({}, optional={
        "qty": QTYS, "price": PRICES, "deal": st.just("relink")}))
    def update_line(self, data, changes):
        if changes.get("deal") == "relink":
            changes["deal"] = self.pick(data, "deal")
        self.update(data, "line", changes, changes.get("deal", "unchanged"))

    @has("note")
    @rule(data=st.data())
    def relink_note(self, data):
        about = data.draw(st.lists(st.sampled_from(self.ids["customer"]), max_size=3, unique=True), "about")
        self.update(data, "note", {"about": about}, about)

    def update(self, data, form: str, changes: dict, link):
        """Change a record: refused for one in the recycle bin, or for a new link to one."""
        rid = self.pick(data, form, empty=False)
        target = TARGET.get(form)
        links = [] if link == "unchanged" or link is None else link if isinstance(link, list) else [link]
        field = "about" if form == "note" else target
        if links and rid in self.ids[form]:
            # Links already stored are not checked again (clients send whole records back), so a
            # note may keep a customer that went to the bin while dropping another.
            stored = self.load()[form][rid]["fields"].get(field)
            stored = set(stored if isinstance(stored, list) else [stored])
            links = [t for t in links if t not in stored]
        went = self.attempt(lambda: records.update(SYSTEM, self.rt, form, rid, changes), NotFound, ValidationFailed)
        assert went == (self.live(form, rid) and all(self.live(target, t) for t in links))

    def choose(self, data, form: str, in_bin: bool):
        """Mostly a record the action suits (in the bin or not), now and then one it does not."""
        deleted = self.in_bin(form)
        suited = [r for r in self.ids[form] if (r in deleted) == in_bin]
        unsuited = [r for r in self.ids[form] if (r in deleted) != in_bin]
        wrong = data.draw(st.integers(0, 5), "wrong") == 5
        pool = unsuited if wrong and unsuited or not suited else suited
        return data.draw(st.sampled_from(pool), form) if pool else None

    @rule(data=st.data(), form=st.sampled_from(FORMS))
    def delete(self, data, form):
        self.delete_one(data, form)

    @rule(data=st.data(), form=st.sampled_from(["deal", "line"]))
    def delete_again(self, data, form):
        """(Deleting deals and lines moves the most: a second rule doubles their share.)"""
        self.delete_one(data, form)

    def delete_one(self, data, form: str) -> None:
        rid = self.choose(data, form, in_bin=False)
        if rid is None:
            return
        was_live = self.live(form, rid)
        assert self.attempt(lambda: records.delete(SYSTEM, self.rt, form, rid), NotFound, Conflict) == was_live

    @precondition(lambda self: any(self.in_bin(f) for f in FORMS))
    @rule(data=st.data())
    def restore(self, data):
        form = data.draw(st.sampled_from([f for f in FORMS if self.in_bin(f)]), "form")
        rid = self.choose(data, form, in_bin=True)
        was_deleted = not self.live(form, rid)
        assert self.attempt(lambda: records.restore(SYSTEM, self.rt, form, rid), NotFound, Conflict) == was_deleted

    @precondition(lambda self: self.held)
    @rule()
    def background_jobs_run(self):
        """With jobs held (`held`): the refreshes asked for so far run now."""
        db.session.rollback()
        for job_id in db.session.execute(sa.select(Job.id).where(
                Job.kind == "relations.refresh", Job.status == "queued").order_by(Job.created_at)).scalars().all():
            assert jobs.run_job(job_id) == "done"

    # -- the invariant ------------------------------------------------------------------------
    @invariant()
    def every_lookup_and_rollup_is_current(self):
        """Each value equals a fresh computation, or (a background refresh not run yet) its
        record says "updating"."""
        rows = self.load()
        expected = fresh(rows)
        for form in FORMS:
            waiting = refreshes.updating(self.rt.app_id, form, list(rows[form])) if self.held else set()
            for rid, record in rows[form].items():
                if record["deleted_at"] is not None or rid in waiting:
                    continue
                got = {k: _plain(record["fields"].get(k)) for k in expected[form][rid]}
                assert got == expected[form][rid], f"{form} {rid}"


def fresh(rows: dict[str, dict[int, dict]]) -> dict[str, dict[int, dict]]:
    """Every derived value of every record, computed from the base values alone."""
    base = {f: {rid: r["fields"] for rid, r in rows[f].items()} for f in FORMS}
    live = {f: [rid for rid, r in rows[f].items() if r["deleted_at"] is None] for f in FORMS}
    customers, deals, lines, notes = (base[f] for f in FORMS)

    def tier_of(customer_id):
        return customers[customer_id]["tier"] if customer_id else None

    out = {f: {} for f in FORMS}
    out["note"] = dict.fromkeys(notes, {})  # nothing derived
    for lid, line in lines.items():
        deal = deals.get(line["deal"]) if line["deal"] else None
        out["line"][lid] = {"subtotal": line["qty"] * line["price"],
                            "deal_stage": deal["stage"] if deal else None,
                            "customer_tier": tier_of(deal["customer"]) if deal else None}
    for did, deal in deals.items():
        mine = [lines[lid] for lid in live["line"] if lines[lid]["deal"] == did]
        tier = tier_of(deal["customer"])
        out["deal"][did] = {"customer_tier": tier, "weight": 2 if tier == "A" else 1,
                            "line_total": sum(ln["qty"] * ln["price"] for ln in mine),
                            "max_qty": max((ln["qty"] for ln in mine), default=None)}
    for cid in customers:
        mine = [deals[did] for did in live["deal"] if deals[did]["customer"] == cid]
        count = len(mine)
        notes_here = sum(1 for nid in live["note"] if cid in notes[nid]["about"])
        out["customer"][cid] = {
            "won_total": sum(d["amount"] or 0 for d in mine if d["stage"] == "won"),
            "deal_count": count, "note_count": notes_here, "score": count * 10 + notes_here,
            "last_close": max((d["close"] for d in mine if d["close"]), default=None)}
    return out


def _plain(value):
    """Stored numbers as Python numbers (1.0 == 1), dates as dates."""
    return value if isinstance(value, (date, str, type(None))) else float(value)


def run(rt, **attrs) -> None:
    machine = type("RelationsMachineHere", (RelationsMachine,), {"rt": rt, **attrs})
    run_state_machine_as_test(machine, settings=settings(
        max_examples=20, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]))


@pytest.fixture
def rt(make, any_db):
    return make.install(copy.deepcopy(DEFINITION))


def test_random_changes_keep_every_lookup_and_rollup_current(rt):
    run(rt)


def test_random_changes_finished_in_the_background_keep_them_current(app_with, any_db):
    """The same machine with an inline limit of 1: most fan-out goes through refresh jobs (run
    at each commit here), and after every step each value is current all the same."""
    app = app_with(FORMLOOM_JOBS_EAGER=True, FORMLOOM_RELATIONS_INLINE=1)
    run(Factory(app).install(copy.deepcopy(DEFINITION)))
    assert db.session.execute(sa.select(sa.func.count()).select_from(RelationRefresh)).scalar() > 0


def test_values_a_refresh_has_not_reached_yet_say_so(app_with, redis_server, any_db):
    """With the refresh jobs held (queued on a Redis no worker reads) until a rule runs them:
    after every step each value is current or its record is marked "updating", the records
    reached down a chain (a line's lookup of its deal's lookup) included."""
    app = app_with(REDIS_URL=redis_server["url"], FORMLOOM_RELATIONS_INLINE=1)
    run(Factory(app).install(copy.deepcopy(DEFINITION)), held=True)
    assert db.session.execute(sa.select(sa.func.count()).select_from(RelationRefresh)).scalar() > 0


# -- what the machine found, as plain tests -------------------------------------------------------
def new(rt, form, **fields) -> int:
    return records.create(SYSTEM, rt, form, fields)["id"]


def get(rt, form, rid) -> dict:
    return records.get(SYSTEM, rt, form, rid, include_deleted=True)


def test_a_restored_record_shows_what_its_links_point_at_now(rt):
    acme = new(rt, "customer", name="Acme", tier="A")
    deal = new(rt, "deal", customer=acme, stage="open", amount=10)
    records.delete(SYSTEM, rt, "deal", deal)
    records.update(SYSTEM, rt, "customer", acme, {"tier": "B"})
    records.restore(SYSTEM, rt, "deal", deal)
    assert (get(rt, "deal", deal)["fields"]["customer_tier"], get(rt, "deal", deal)["fields"]["weight"]) == ("B", 1)


def test_restoring_a_deal_brings_back_the_lines_its_delete_took_with_it(rt):
    acme = new(rt, "customer", name="Acme", tier="A")
    deal = new(rt, "deal", customer=acme, stage="won", amount=10)
    line = new(rt, "line", deal=deal, qty=2, price=3)
    records.delete(SYSTEM, rt, "deal", deal)
    assert get(rt, "line", line)["deleted_at"] is not None
    records.restore(SYSTEM, rt, "deal", deal)
    assert get(rt, "line", line)["deleted_at"] is None
    assert (get(rt, "deal", deal)["fields"]["line_total"], get(rt, "deal", deal)["fields"]["max_qty"]) == (6, 2)


def test_restoring_a_customer_puts_back_the_links_its_delete_cleared(rt):
    acme = new(rt, "customer", name="Acme", tier="A")
    note = new(rt, "note", text="n", about=[acme])
    records.delete(SYSTEM, rt, "customer", acme)
    assert get(rt, "note", note)["fields"]["about"] == []
    records.restore(SYSTEM, rt, "customer", acme)
    assert get(rt, "note", note)["fields"]["about"] == [acme]
    assert get(rt, "customer", acme)["fields"]["note_count"] == 1


def test_a_sum_over_records_with_empty_values_is_zero(rt):
    acme = new(rt, "customer", name="Acme")
    assert get(rt, "customer", acme)["fields"]["won_total"] == 0
    new(rt, "deal", customer=acme, stage="won")  # no amount yet
    assert get(rt, "customer", acme)["fields"]["won_total"] == 0


def test_a_delete_clears_its_link_from_a_record_that_also_links_to_one_in_the_bin(rt):
    acme, bolt = new(rt, "customer", name="Acme"), new(rt, "customer", name="Bolt")
    note = new(rt, "note", text="n", about=[acme, bolt])
    records.delete(SYSTEM, rt, "note", note)
    records.delete(SYSTEM, rt, "customer", bolt)  # the note, in the bin, keeps its link
    records.restore(SYSTEM, rt, "note", note)
    records.delete(SYSTEM, rt, "customer", acme)
    assert get(rt, "note", note)["fields"]["about"] == [bolt]
    records.restore(SYSTEM, rt, "customer", acme)
    assert get(rt, "note", note)["fields"]["about"] == [bolt, acme]


def test_a_lookup_of_a_lookup_through_a_record_in_the_bin_reads_the_source_now(rt):
    acme = new(rt, "customer", name="Acme")
    deal = new(rt, "deal", customer=acme, stage="open", amount=10)
    line = new(rt, "line", deal=deal, qty=1, price=1)
    records.delete(SYSTEM, rt, "deal", deal)  # and its line with it
    records.restore(SYSTEM, rt, "line", line)  # the deal stays in the bin
    records.update(SYSTEM, rt, "customer", acme, {"tier": "A"})
    assert get(rt, "line", line)["fields"]["customer_tier"] == "A"
