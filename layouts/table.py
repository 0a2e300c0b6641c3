"""The ranked table of units: its headers, its cells as shown, its sort, and the same as CSV.

One function formats a cell (``cells``) for both the page and the CSV export, so the export is
exactly what is shown, in the order shown. Sorting is by a column, ascending or descending
(``-`` prefix), with "no data" always last; the sort is part of the view's state (the URL).

The table is sent on every map update, so it is built as the JSON Dash sends (``layouts.plain``),
not as components.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from dashboard import i18n
from dashboard.i18n import Lang
from kpi import registry
from layouts import ids, plain

COLUMNS = ("name", "code", "value", "target", "gap", "volume")
NUMERIC = frozenset({"value", "target", "gap", "volume"})


def headers(kpi: str, lang: Lang) -> list[str]:
    return [
        i18n.t("unit", lang),
        i18n.t("code", lang),
        i18n.kpi_name(kpi, lang),
        i18n.t("target", lang),
        i18n.t("gap", lang),
        i18n.t("volume", lang),
    ]


def cells(row: dict[str, Any], kpi: str, lang: Lang) -> list[str]:
    """A row as displayed: values rounded as the registry shows them, "no data" for none."""
    display = registry.get(kpi).display
    decimals = 0 if display == "integer" else 1
    suffix = _suffix(display, lang)

    def number(value: Any, *, sign: bool = False, none: str = "—") -> str:
        if value is None:
            return none
        text = i18n.number(abs(float(value)), lang, decimals)
        prefix = "-" if float(value) < 0 else "+" if sign and float(value) > 0 else ""
        return f"{prefix}{text}{suffix}"

    return [
        str(row["name"]),
        str(row["code"]),
        number(row["value"], none=i18n.t("no_data", lang)),
        number(row["target"]),
        number(row["gap"], sign=True),
        i18n.number(float(row["volume"]), lang, 0),
    ]


def ordered(rows: Sequence[dict[str, Any]], sort: str | None) -> list[dict[str, Any]]:
    """``rows`` sorted by ``sort`` (``gap``, ``-value``…; none: as given), "no data" last."""
    column = (sort or "").lstrip("-")
    if column not in COLUMNS:
        return list(rows)
    descending = (sort or "").startswith("-")
    present = [r for r in rows if r[column] is not None]
    missing = [r for r in rows if r[column] is None]
    return sorted(present, key=lambda r: r[column], reverse=descending) + missing


def table(rows: Sequence[dict[str, Any]], kpi: str, lang: Lang, sort: str | None) -> plain.Json:
    """The table (a ``dbc.Table``); each header is a button that sorts by its column."""
    column = (sort or "").lstrip("-")
    arrow = " ▼" if (sort or "").startswith("-") else " ▲"
    head = plain.html(
        "Thead",
        plain.html(
            "Tr",
            [
                plain.html(
                    "Th",
                    plain.html(
                        "Button",
                        title + (arrow if key == column else ""),
                        id={"type": ids.OP_SORT, "column": key},
                        className="btn btn-link sort",
                        n_clicks=0,
                    ),
                    className="num" if key in NUMERIC else None,
                )
                for key, title in zip(COLUMNS, headers(kpi, lang), strict=True)
            ],
        ),
    )
    body = plain.html(
        "Tbody",
        [
            plain.html(
                "Tr",
                [
                    plain.html("Td", text, className="num" if key in NUMERIC else None)
                    for key, text in zip(COLUMNS, cells(row, kpi, lang), strict=True)
                ],
                className="no-data" if row["value"] is None else None,
            )
            for row in rows
        ],
    )
    return plain.bootstrap("Table", [head, body], striped=True, hover=True, size="sm", className="op-table")


def csv_text(rows: Sequence[dict[str, Any]], kpi: str, lang: Lang) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers(kpi, lang))
    writer.writerows(cells(row, kpi, lang) for row in rows)
    return out.getvalue()


def _suffix(display: str, lang: Lang) -> str:
    if display == "percent":
        return " %" if lang == "vi" else "%"
    return f" {i18n.t('days_unit', lang)}" if display == "days" else ""
