"""Pages answer odd requests with a 4xx page, and the error page renders after a failed statement."""
import sqlalchemy as sa

from formloom.platform.extensions import db

from support_formloom import Factory, browser

HUGE = "99999999999999999999"


def test_odd_values_in_pages_are_4xx(any_db, app, make, owner):
    make.install("sales-mini", owner=owner)
    admin = make.user("Ada Admin", admin=True)
    web, org = browser(app, owner), browser(app, admin)
    company = "/a/sales_mini/f/company"
    # The quick search by id (#n) with ids no record can have, or digits int() does not read.
    for q in (f"#{HUGE}", "#2147483648", HUGE, "#²"):
        resp = web.get(company, query_string={"q": q})
        assert resp.status_code == 200, q
    # Ids in paths beyond the 32-bit id columns.
    for path in (f"{company}/r/{HUGE}", f"{company}/r/2147483648/edit", f"/tasks/{HUGE}", f"/org/users/{HUGE}",
                 "/org/departments/2147483648"):
        resp = (org if path.startswith("/org") else web).get(path)
        assert resp.status_code == 404, path
        assert "2147483647" in resp.get_data(as_text=True)
    resp = web.post(f"/notifications/{HUGE}/open")
    assert resp.status_code == 404
    # Ids and cursors in query strings and form fields: ignored, as an id nothing has.
    for path in (f"/inbox?before={HUGE}", "/inbox?before=%C2%B2", f"/notifications?before={HUGE}",
                 f"{company}/linkage?_task={HUGE}"):
        assert web.get(path).status_code == 200, path
    for path in (f"/admin/audit?before={HUGE}", f"/org/users?department={HUGE}&role=2147483648&page={HUGE}",
                 "/org/users?department=%C2%B2"):
        assert org.get(path).status_code == 200, path
    assert web.post("/inbox/approve", data={"task": [HUGE, "²"]}).status_code in (302, 303)
    made = web.post(f"{company}/new", data={"name": "Acme"})
    assert made.status_code in (302, 303)
    edit = made.headers["Location"].split("?")[0] + "/edit"
    assert web.post(edit, data={"name": "Acme 2", "_version": HUGE}).status_code in (302, 303, 409, 422)
    # NUL characters in form fields and query parameters (PostgreSQL cannot store them).
    resp = org.post("/org/departments/new", data={"name": "Sales\x00"})
    assert resp.status_code == 422 and "NUL" in resp.get_data(as_text=True)
    resp = web.get(company, query_string={"q": "a\x00b"})
    assert resp.status_code == 422 and "NUL" in resp.get_data(as_text=True)
    assert org.get("/org/departments").status_code == 200


def test_the_error_page_renders_after_a_failed_statement(any_db, app_with):
    """On PostgreSQL a failed statement aborts the transaction; the 500 page (which reads the
    signed-in person and their notifications) must still render."""
    flask_app = app_with(TESTING=False)

    def broken():
        db.session.execute(sa.text("SELECT * FROM no_such_table"))
        return "unreachable"

    flask_app.add_url_rule("/broken", "broken", broken)
    user = Factory(flask_app).user("Bea")
    resp = browser(flask_app, user).get("/broken")
    assert resp.status_code == 500
    assert "Something went wrong" in resp.get_data(as_text=True)


def test_a_formula_beyond_its_limits_is_said_on_the_form(any_db, app, make):
    import json

    from support_formloom import DATA

    definition = json.loads((DATA / "sales-mini.json").read_text("utf-8"))
    definition["forms"][0]["fields"] += [
        {"key": "blurb", "type": "textarea", "label": "Blurb", "max_length": 5000},
        {"key": "echo", "type": "formula", "label": "Echo", "expr": 'SUBSTITUTE(blurb, "a", blurb)'}]
    owner = make.user("Olga")
    make.install(definition, owner=owner)
    resp = browser(app, owner).post("/a/sales_mini/f/company/new", data={"name": "A", "blurb": "a" * 1000})
    assert resp.status_code == 422 and "exceeds its limits" in resp.get_data(as_text=True)
