"""Reading an uploaded spreadsheet: CSV (UTF-8, UTF-8 with BOM, GB18030/GBK, or what
charset-normalizer recognises) or XLSX (openpyxl in read-only mode: rows stream from the
file, the workbook never sits in memory). Every row comes out as a list of text cells.
"""
from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

from formloom.runtime.exceptions import ValidationFailed

SAMPLE_BYTES = 256 * 1024  # what encoding detection looks at
HEADER_SCAN = 10  # rows looked at for the header
PREVIEW_ROWS = 5
ENCODINGS = ("utf-8", "utf-8-sig", "gb18030", "gbk", "big5", "shift_jis", "latin-1", "cp1252")
csv.field_size_limit(16 * 1024 * 1024)


class FileProblem(ValidationFailed):
    """The file as a whole cannot be read (not a spreadsheet, wrong encoding, empty)."""

    def __init__(self, message: str):
        super().__init__(f"The file {message}", [{"field": "file", "message": message}])


def kind_of(name: str, head: bytes) -> str:
    """"xlsx" or "csv", by content first (an XLSX is a zip), then by name."""
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if name.lower().endswith((".xlsx", ".xlsm")):
        raise FileProblem("is named .xlsx but is not an Excel workbook; save it again as .xlsx or .csv")
    if name.lower().endswith(".xls"):
        raise FileProblem("is an old Excel (.xls) file; save it as .xlsx or .csv")
    return "csv"


def detect_encoding(sample: bytes) -> str:
    """The encoding of a CSV sample: UTF-8 (with or without BOM) when it decodes as UTF-8,
    else GB18030 (a superset of GBK, what Excel in China saves) when it decodes as that
    and holds Chinese, else charset-normalizer's best guess."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if _decodes(sample, "utf-8"):
        return "utf-8"
    if _decodes(sample, "gb18030"):
        return "gb18030"
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    return best.encoding if best is not None else "utf-8"


def _decodes(sample: bytes, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        decoder.decode(sample, final=False)  # a character cut at the sample's end is fine
    except UnicodeDecodeError:
        return False
    return True


def _text(value) -> str:
    """An XLSX cell as text: dates as ISO dates, whole numbers without ".0"."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


@dataclass
class Source:
    """An uploaded file and how to read it."""

    path: Path
    kind: str  # csv | xlsx
    encoding: str | None = None  # csv
    sheet: str | None = None  # xlsx; None: the first
    sheets: list[str] = field(default_factory=list)

    def rows(self) -> Iterator[list[str]]:
        """Every row of the file (or sheet), as text cells, trailing empty cells dropped."""
        if self.kind == "xlsx":
            yield from self._xlsx_rows()
            return
        try:
            with open(self.path, encoding=self.encoding or "utf-8", newline="") as fh:
                first = True
                for cells in csv.reader(fh):
                    if first and cells:
                        cells[0] = cells[0].removeprefix("\ufeff")
                    first = False
                    yield _trim(cells)
        except UnicodeDecodeError as exc:
            raise FileProblem(f"is not {self.encoding} text (byte {exc.start + 1} of a line); choose its "
                              "encoding, or save it as \"CSV UTF-8\"") from None
        except csv.Error as exc:
            raise FileProblem(f"is not a readable CSV file ({exc})") from None

    def _xlsx_rows(self) -> Iterator[list[str]]:
        wb, fh = _workbook(self.path)
        try:
            if self.sheet and self.sheet not in wb.sheetnames:
                raise FileProblem(f'has no sheet "{self.sheet}"; its sheets: {", ".join(wb.sheetnames)}')
            ws = wb[self.sheet] if self.sheet else wb.worksheets[0]
            for values in ws.iter_rows(values_only=True):
                yield _trim([_text(v) for v in values])
        finally:
            wb.close()
            fh.close()


def _workbook(path: Path):
    """The workbook in read-only mode (rows stream from the zip; cells as values, not formulas)."""
    import openpyxl

    fh = open(path, "rb")  # noqa: SIM115 - the caller closes it after the workbook
    try:
        # A file object: openpyxl judges a path by its extension, and ours have none.
        return openpyxl.load_workbook(fh, read_only=True, data_only=True), fh
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        fh.close()
        raise FileProblem(f"is not a readable Excel workbook ({type(exc).__name__})") from None


def _trim(cells: list[str]) -> list[str]:
    while cells and not (cells[-1] or "").strip():
        cells.pop()
    return cells


def open_source(path: Path, name: str, encoding: str | None = None, sheet: str | None = None) -> Source:
    """The Source for a stored upload; `encoding` (CSV) overrides the detected one."""
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    if not head.strip():
        raise FileProblem("is empty")
    kind = kind_of(name, head)
    if kind == "xlsx":
        wb, fh = _workbook(path)
        sheets = list(wb.sheetnames)
        wb.close()
        fh.close()
        return Source(path, "xlsx", sheet=sheet or None, sheets=sheets)
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise FileProblem(f'names an unknown encoding "{encoding}"; try one of {", ".join(ENCODINGS)}') from None
    if b"\x00" in head:
        raise FileProblem("holds NUL bytes: it is not a CSV text file (UTF-16?); save it as \"CSV UTF-8\"")
    return Source(path, "csv", encoding=encoding or detect_encoding(head))


def header_index(rows: list[list[str]], known: set[str], chosen: int | None = None) -> int:
    """Which of the first rows (0-based) is the header: the one chosen (1-based), else the
    one naming most known fields, else the first that is not empty."""
    if chosen:
        if chosen > len(rows):
            raise FileProblem(f"has no row {chosen} to read the column names from")
        return chosen - 1
    best, best_hits = None, 0
    for i, cells in enumerate(rows[:HEADER_SCAN]):
        hits = sum(1 for c in cells if c.strip().casefold() in known)
        if hits > best_hits:
            best, best_hits = i, hits
    if best is not None:
        return best
    for i, cells in enumerate(rows):
        if any(c.strip() for c in cells):
            return i
    raise FileProblem("has no rows")


def column_names(cells: list[str]) -> list[str]:
    """The header's names, unique: a repeated name gets " (2)", an empty one "Column N"."""
    names, seen = [], set()
    for i, cell in enumerate(cells):
        name = (cell or "").strip() or f"Column {i + 1}"
        base, n = name, 2
        while name in seen:
            name, n = f"{base} ({n})", n + 1
        seen.add(name)
        names.append(name)
    return names


def write_csv_line(cells: list) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)
    return buffer.getvalue()
