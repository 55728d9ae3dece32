"""Tables in the consoles: page numbers and Excel export.

A page's filters travel in the query string, never personal data (search by phone or plate is a POST).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Any, Generic, TypeVar
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import Response
from openpyxl import Workbook

T = TypeVar("T")

PER_PAGE = 25
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class PageOf(Generic[T]):
    """One page of rows, and how to link to its neighbours keeping the current filters."""

    items: Sequence[T]
    page: int
    per_page: int
    total: int
    path: str
    query: tuple[tuple[str, str], ...] = ()

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    def url_for(self, page: int) -> str:
        params = [(k, v) for k, v in self.query if k != "page"] + [("page", str(page))]
        return f"{self.path}?{urlencode(params)}"


def page_number(value: str | int | None) -> int:
    """A 1-based page number from the query string; anything odd is page 1."""
    try:
        number = int(value) if value is not None else 1
    except ValueError:
        return 1
    return max(1, min(number, 1_000_000))


def offset_of(page: int, per_page: int = PER_PAGE) -> int:
    return (page - 1) * per_page


def page_of(
    request: Request, items: Sequence[T], *, page: int, total: int, per_page: int = PER_PAGE
) -> PageOf[T]:
    return PageOf(
        items=items,
        page=page,
        per_page=per_page,
        total=total,
        path=request.url.path,
        query=tuple(request.query_params.multi_items()),
    )


_FORMULA_STARTS = ("=", "+", "-", "@")


def _cell(value: Any) -> Any:
    """Text as text: what staff typed (a note, a name) never becomes a spreadsheet formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def xlsx_response(filename: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    """An Excel workbook of one sheet: a header row, then ``rows`` (money in yuan as numbers is the
    caller's choice; this writes values as given)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=filename[:31])
    sheet.append(list(columns))
    for row in rows:
        sheet.append([_cell(value) for value in row])
    buffer = BytesIO()
    workbook.save(buffer)
    return Response(
        buffer.getvalue(),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}.xlsx"},
    )
