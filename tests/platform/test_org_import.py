"""Importing users and departments from CSV: preview first, then all or nothing."""
import io

import pytest
import sqlalchemy as sa

from formloom.platform import org, org_import
from formloom.platform.exceptions import ValidationFailed
from formloom.platform.extensions import db
from formloom.platform.models import AuditEvent, Department, User

DEPARTMENTS = "name,parent,head\nSales,,\nEast,Sales,\nShanghai,Sales/East,\nFinance,,\n"


@pytest.fixture
def admin(make, auth):
    user = make.user("Ada Admin", admin=True)
    auth.login(user.email)
    return user


@pytest.fixture
def actor(admin, make):
    org.create_role(make.actor(admin), "sales_rep", "Sales rep")
    org.create_role(make.actor(admin), "finance", "Finance")
    return make.actor(admin)


def upload(client, kind: str, content: str | bytes, **data):
    raw = content.encode() if isinstance(content, str) else content
    return client.post(f"/org/import/{kind}", data={"file": (io.BytesIO(raw), f"{kind}.csv"), **data},
                       content_type="multipart/form-data")


def paths() -> list[str]:
    return sorted(org.department_paths().values())


def users() -> dict[str, User]:
    db.session.expire_all()
    return {u.email: u for u in db.session.execute(sa.select(User)).scalars()}


def problems(exc) -> list[tuple]:
    return [(e["line"], e["field"]) for e in exc.value.errors]


def test_preview_then_apply_on_the_page(any_db, client, actor):
    preview = upload(client, "departments", DEPARTMENTS)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "4 to add" in page and "Sales/East/Shanghai" in page
    assert paths() == []  # a preview saves nothing
    applied = client.post("/org/import/departments", data={"step": "apply", "csv": DEPARTMENTS})
    assert "4 added" in applied.get_data(as_text=True)
    assert paths() == ["Finance", "Sales", "Sales/East", "Sales/East/Shanghai"]
    people = ("email,name,department,roles,admin\n"
              "li.lei@example.com,Li Lei,Sales/East,sales_rep,\n"
              "wang@example.com,Wang Fang,Finance,finance;sales_rep,true\n")
    assert "2 to add" in upload(client, "users", people).get_data(as_text=True)
    done = client.post("/org/import/users", data={"step": "apply", "csv": people}).get_data(as_text=True)
    assert done.count("/invite/") == 2  # each new user's link, shown once
    found = users()
    li, wang = found["li.lei@example.com"], found["wang@example.com"]
    assert org.department_paths()[li.department_id] == "Sales/East" and li.role_keys == {"sales_rep"}
    assert wang.is_admin and wang.role_keys == {"finance", "sales_rep"} and wang.invite_token_hash
    line = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "import")
                              .order_by(AuditEvent.id.desc())).scalars().first()
    assert line.after["create"] == ["li.lei@example.com", "wang@example.com"] and "/invite/" not in str(line.after)


def test_bad_lines_are_reported_by_number_and_nothing_is_saved(any_db, client, actor):
    org_import.import_departments(actor, DEPARTMENTS)
    bad = ("email,name,department,roles,admin\n"
           "ok@example.com,Okay,Sales,,\n"
           "not-an-email,Nobody,,,\n"
           "x@example.com,,Sales/West,,\n"
           "y@example.com,Why,,sales_rep;Boss,maybe\n"
           "\n"
           "OK@example.com,Again,,,\n")
    with pytest.raises(ValidationFailed) as exc:
        org_import.import_users(actor, bad)
    assert problems(exc) == [(3, "email"), (4, "name"), (4, "department"), (5, "roles"), (5, "admin"), (7, "email")]
    assert "Sales/West" in exc.value.errors[2]["message"] and "Boss" in exc.value.errors[3]["message"]
    assert "repeats line 2" in exc.value.errors[5]["message"]
    assert "ok@example.com" not in users()
    page = upload(client, "users", bad)
    html = page.get_data(as_text=True)
    assert page.status_code == 422 and "Problems on 4 of 5 lines" in html and "Sales/West" in html
    assert "Import 1 change" not in html  # no way to apply a file with problems
    assert "ok@example.com" not in users()


def test_dry_run_saves_nothing(actor):
    result = org_import.import_users(actor, "email,name\nnew@example.com,New\n", dry_run=True)
    assert [(r.line, r.key, r.action) for r in result.rows] == [(2, "new@example.com", "create")]
    assert not result.applied and "new@example.com" not in users()


def test_byte_order_mark_and_windows_line_ends(actor):
    data = "\ufeffemail,Name\r\nbom@example.com,Bom User\r\n".encode()
    org_import.import_users(actor, data)
    assert users()["bom@example.com"].name == "Bom User"
    with pytest.raises(ValidationFailed) as exc:
        org_import.import_users(actor, "email,name\nlatin@example.com,Jos\xe9\n".encode("latin-1"))
    assert "UTF-8" in exc.value.message


def test_existing_users_are_updated_not_duplicated(actor, make):
    org_import.import_departments(actor, DEPARTMENTS)
    li = make.user("Li Lei", email="li@example.com")
    result = org_import.import_users(actor, "email,name,department,roles\nLI@Example.com,Li Lei,Finance,finance\n"
                                     "li2@example.com,Li Two,,\n")
    assert [r.action for r in result.rows] == ["update", "create"]
    found = users()
    assert len([e for e in found if e.startswith("li")]) == 2
    assert found["li@example.com"].id == li.id and found["li@example.com"].role_keys == {"finance"}
    assert found["li@example.com"].password_hash  # an update keeps the password
    again = org_import.import_users(actor, "email,name,department\nli@example.com,Li Lei,\n")
    assert [r.action for r in again.rows] == ["unchanged"]  # an empty cell keeps the department


def test_unknown_department_path_and_bad_role_key(actor):
    org_import.import_departments(actor, DEPARTMENTS)
    with pytest.raises(ValidationFailed) as exc:
        org_import.import_users(actor, "email,name,department,roles\na@example.com,A,Sales/Nowhere,\n"
                                "b@example.com,B,Sales,sales_rep;no_such_role\n")
    assert problems(exc) == [(2, "department"), (3, "roles")]
    assert "no_such_role" in exc.value.errors[1]["message"] and "sales_rep" not in exc.value.errors[1]["message"]


def test_department_file_problems(actor, make):
    make.user("Head", email="head@example.com")
    with pytest.raises(ValidationFailed) as exc:
        org_import.import_departments(actor, "name,parent,head\nEast,Sales,\nSales,,\nA/B,,\n"
                                      "Sales,,nobody@example.com\n")
    # A parent must come first; "/" is refused; a repeated path and an unknown head are named.
    assert problems(exc) == [(2, "parent"), (4, "name"), (5, "head"), (5, "name")]
    assert paths() == []
    org_import.import_departments(actor, "name,parent,head\nSales,,\nEast,Sales,head@example.com\n")
    result = org_import.import_departments(actor, "name,parent,head\nSales,,head@example.com\nEast,sales,\n")
    assert [r.action for r in result.rows] == ["update", "unchanged"]  # paths match whatever the case
    heads = {d.name: d.head_id for d in db.session.execute(sa.select(Department)).scalars()}
    assert heads["Sales"] == heads["East"] is not None


@pytest.mark.parametrize("content, message", [
    ("", "is empty"),
    ("email,nom\nx@example.com,X\n", "misses the columns name"),
    ("email,name,dept\n", "unknown columns dept"),
    ("email,name\na@example.com,A,extra\n", "has 3 cells"),
])
def test_file_level_problems(actor, content, message):
    with pytest.raises(ValidationFailed) as exc:
        org_import.import_users(actor, content)
    assert message in exc.value.message


def test_line_numbers_count_quoted_line_breaks(actor):
    with pytest.raises(ValidationFailed) as exc:
        org_import.import_users(actor, 'email,name\na@example.com,"Two\nlines"\nbad,Bad\n')
    assert problems(exc) == [(4, "email")]


def test_samples_import_cleanly(client, actor):
    for kind in ("departments", "users"):
        sample = client.get(f"/org/import/{kind}/sample.csv")
        assert sample.mimetype == "text/csv" and "attachment" in sample.headers["Content-Disposition"]
        if kind == "users":
            org.create_role(actor, "sales_manager", "Sales manager")
        result = getattr(org_import, f"import_{kind}")(actor, sample.data)
        assert result.applied and result.count("create") == 3


def test_page_refuses_a_missing_or_binary_file(client, actor):
    empty = client.post("/org/import/users", data={"step": "preview"}, content_type="multipart/form-data")
    assert empty.status_code == 422 and "Choose a CSV file" in empty.get_data(as_text=True)
    binary = upload(client, "users", b"\xff\xfe\x00bad")
    assert binary.status_code == 422 and "UTF-8" in binary.get_data(as_text=True)


def test_stray_header_comma_and_chinese_yes_no(actor):
    org_import.import_users(actor, "email,name,admin,\nshi@example.com,Shi,是,\nfou@example.com,Fou,否,\n")
    found = users()
    assert found["shi@example.com"].is_admin and not found["fou@example.com"].is_admin
