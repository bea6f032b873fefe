"""File and image fields: uploaded file ids with size, type and count limits."""
from dataclasses import replace

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from formloom.runtime.fields import FieldValueError, ValueContext, field_types

from support_formloom import assert_round_trips, conforms

FILE = field_types.get("file")
IMAGE = field_types.get("image")
MB = 1024 * 1024
STORED = {
    "f1": {"id": "f1", "name": "quote.pdf", "size": 2 * MB, "content_type": "application/pdf"},
    "f2": {"id": "f2", "name": "logo.PNG", "size": 300_000, "content_type": "image/png"},
    "f3": {"id": "f3", "name": "video.mp4", "size": 50 * MB, "content_type": "video/mp4"},
    "f4": {"id": "f4", "name": "notes", "size": 10, "content_type": "text/plain"},
}


@pytest.fixture
def files_ctx(ctx):
    return replace(ctx, file_lookup=lambda ids: {i: dict(STORED[i]) for i in ids if i in STORED})


def att(**kw):
    return {"key": "attachment", "type": "file", **kw}


def test_ids_become_file_metadata(files_ctx):
    assert FILE.to_python(att(), ["f1", "f2"], files_ctx) == [STORED["f1"], STORED["f2"]]
    assert FILE.to_python(att(), "f1", files_ctx) == [STORED["f1"]]
    assert FILE.to_python(att(), [{"id": "f2", "name": "whatever"}], files_ctx) == [STORED["f2"]]
    assert FILE.to_python(att(), ["f1", "f1"], files_ctx) == [STORED["f1"]]
    for blank in (None, "", []):
        assert FILE.to_python(att(), blank, files_ctx) == []


def test_json_round_trip(files_ctx):
    value = FILE.to_python(att(), ["f1", "f2"], files_ctx)
    as_json = FILE.to_json(att(), value)
    assert conforms(FILE.value_schema(att()), as_json)
    assert FILE.to_python(att(), as_json, files_ctx) == value


@pytest.mark.parametrize("sent", [[1], [{"name": "x.pdf"}], [{"id": 5}], [""], [None], {"id": []}, [["f1"]]])
def test_only_file_ids_are_taken(sent, files_ctx):
    with pytest.raises(FieldValueError, match="^must be a list of uploaded file ids$"):
        FILE.to_python(att(), sent, files_ctx)


def test_unknown_files_are_named(files_ctx):
    with pytest.raises(FieldValueError, match="^no uploaded file with id nope$"):
        FILE.to_python(att(), ["f1", "nope"], files_ctx)


def test_size_limit(files_ctx):
    with pytest.raises(FieldValueError, match='^"video.mp4" is larger than 20 MB$'):
        FILE.to_python(att(), ["f3"], files_ctx)
    assert FILE.to_python(att(max_size_mb=64), ["f3"], files_ctx) == [STORED["f3"]]
    with pytest.raises(FieldValueError, match='^"quote.pdf" is larger than 1.5 MB$'):
        FILE.to_python(att(max_size_mb=1.5), ["f1"], files_ctx)


def test_count_limit(files_ctx):
    with pytest.raises(FieldValueError, match="^allows at most 2 files$"):
        FILE.to_python(att(max_files=2), ["f1", "f2", "f4"], files_ctx)
    with pytest.raises(FieldValueError, match="^allows at most 10 files$"):
        FILE.to_python(att(), [f"x{i}" for i in range(11)], files_ctx)


@pytest.mark.parametrize("accept, allowed, refused", [
    ([".pdf"], ["f1"], ["f2", "f4"]),
    (["pdf", "png"], ["f1", "f2"], ["f4"]),  # without the dot, and extensions ignore case
    (["image/*"], ["f2"], ["f1"]),
    (["application/pdf"], ["f1"], ["f2"]),
])
def test_accepted_types(accept, allowed, refused, files_ctx):
    field = att(accept=accept)
    for file_id in allowed:
        assert FILE.to_python(field, [file_id], files_ctx)[0]["id"] == file_id
    for file_id in refused:
        with pytest.raises(FieldValueError, match="is not an accepted file type"):
            FILE.to_python(field, [file_id], files_ctx)


def test_check_upload_is_what_the_upload_endpoint_calls():
    FILE.check_upload(att(accept=[".pdf"]), "a.pdf", "application/pdf", MB)
    with pytest.raises(FieldValueError, match='^"a.exe" is not an accepted file type \\(.pdf\\)$'):
        FILE.check_upload(att(accept=[".pdf"]), "a.exe", "application/octet-stream", 10)
    with pytest.raises(FieldValueError, match='^"big.pdf" is larger than 20 MB$'):
        FILE.check_upload(att(), "big.pdf", "application/pdf", 20 * MB + 1)
    FILE.check_upload(att(), "exactly.pdf", "application/pdf", 20 * MB)


def test_images_accept_only_images(files_ctx):
    pic = {"key": "photo", "type": "image"}
    assert IMAGE.to_python(pic, ["f2"], files_ctx) == [STORED["f2"]]
    with pytest.raises(FieldValueError, match='^"quote.pdf" is not an accepted file type'):
        IMAGE.to_python(pic, ["f1"], files_ctx)
    with pytest.raises(FieldValueError, match="is not an accepted file type"):
        IMAGE.check_upload(pic, "evil.svg", "image/svg+xml", 100)


def test_without_a_lookup_ids_are_taken_as_given(ctx):
    # Definition checks convert defaults with no storage behind them.
    assert IMAGE.to_python({"key": "photo", "type": "image"}, ["x"], ctx) == [{"id": "x"}]


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_format_lists_file_names(locale):
    assert FILE.format(att(), [STORED["f1"], STORED["f2"]], locale) == "quote.pdf, logo.PNG"
    assert FILE.format(att(), [], locale) == ""


def test_storage_and_emptiness():
    assert isinstance(FILE.sa_type(att()), sa.JSON)
    assert FILE.empty(att()) == [] and FILE.from_db(att(), None) == []
    assert FILE.is_empty([]) and not FILE.is_empty([STORED["f1"]])
    assert FILE.can_be_indexed is False


@settings(max_examples=300, deadline=None)
@given(sent=st.recursive(
    st.none() | st.sampled_from(["f1", "f2", "f3", "f4", "zz", ""]) | st.integers(0, 3),
    lambda inner: st.lists(inner, max_size=4) | st.fixed_dictionaries({"id": inner}), max_leaves=6))
def test_accepted_files_conform_and_round_trip(sent):
    ctx = ValueContext(file_lookup=lambda ids: {i: dict(STORED[i]) for i in ids if i in STORED})
    assert_round_trips(att(max_files=3, max_size_mb=5), sent, ctx)
