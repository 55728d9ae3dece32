"""Reading what the admin pages answer: chart data blocks and Excel workbooks."""

from __future__ import annotations

import json
import re
from io import BytesIO
from typing import Any

from openpyxl import load_workbook


def chart_data(html: str, chart_id: str) -> dict[str, Any]:
    """The ECharts option a page's ``ui.chart`` block carries."""
    found = re.search(rf'<script type="application/json" id="{chart_id}-option">(.*?)</script>', html, re.S)
    assert found, f"no chart data block {chart_id} on the page"
    option: dict[str, Any] = json.loads(found.group(1))
    return option


def series(option: dict[str, Any], index: int) -> list[Any]:
    values: list[Any] = option["series"][index]["data"]
    return values


def workbook_rows(content: bytes, sheet: int = 0) -> list[list[Any]]:
    book = load_workbook(BytesIO(content), read_only=True)
    return [list(row) for row in book.worksheets[sheet].iter_rows(values_only=True)]
