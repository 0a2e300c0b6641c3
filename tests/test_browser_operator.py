"""The operator view (``/``) in headless chromium, on the real pipeline: a click on the map
drills into a province and the breadcrumb comes back, the language switch, CSV export."""

from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from selenium.webdriver.common.by import By

from tests.fix_browser import DOWNLOADS, LiveSystem, Page

PROVINCES = 34
FIRST_RENDER_S = 60.0
PROVINCE, PROVINCE_NAME = "66", "Tỉnh Đắk Lắk"  # large and compact: easy to hit on the map
COUNTRY_NAME = "Toàn quốc"
SORTED = re.compile(r"\s*[▲▼]$")  # the sort indicator beside a column's name
LABELS_VI = ["Kỳ báo cáo", "Chỉ tiêu", "Cơ quan", "Thủ tục", "Kênh nộp"]
LABELS_EN = ["Period", "Indicator", "Agency", "Procedure", "Channel"]

# A point well inside one unit's outline on the map, in viewport pixels: plotly finds the unit
# under the mouse from the outlines, so the click must land inside the polygon, not merely in
# its bounding box.
POINT_INSIDE = """
for (const path of document.querySelectorAll('#op-map path.choroplethlocation')) {
  if (!path.__data__ || path.__data__.loc !== arguments[0]) continue;
  const box = path.getBBox(), screen = path.getScreenCTM();
  const inside = (x, y) => [[0, 0], [4, 0], [-4, 0], [0, 4], [0, -4]].every(
    ([dx, dy]) => path.isPointInFill(new DOMPoint(x + dx, y + dy)));
  let best = null;
  for (let i = 1; i < 24; i++) for (let j = 1; j < 24; j++) {
    const x = box.x + box.width * i / 24, y = box.y + box.height * j / 24;
    const off = Math.hypot(i - 12, j - 12);
    if (inside(x, y) && (best === null || off < best[2])) best = [x, y, off];
  }
  if (best === null) return null;
  const point = new DOMPoint(best[0], best[1]).matrixTransform(screen);
  return [point.x, point.y];
}
return null;
"""
TABLE = """
const table = document.querySelector('#op-table table');
if (!table) return null;
const cells = row => Array.from(row.querySelectorAll('th, td'), cell => cell.textContent.trim());
return [cells(table.querySelector('thead tr')), ...Array.from(table.querySelectorAll('tbody tr'), cells)];
"""


def table(page: Page) -> list[list[str]]:
    """The ranked table as shown: its header, then its rows in their order."""
    found = page.driver.execute_script(TABLE)
    if not found:
        return []
    header, *rows = found
    return [[SORTED.sub("", str(name)) for name in header], *([str(cell) for cell in row] for row in rows)]


def codes(page: Page) -> list[str]:
    header, *rows = table(page) or [[]]
    column = header.index("Mã" if "Mã" in header else "Code")
    return [row[column] for row in rows]


def search(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.driver.current_url).query)


def open_view(page: Page, path: str = "/") -> None:
    page.open(path)
    # The first render after new data asks PostgreSQL (a cache miss): slower than the rest.
    page.until(lambda _: len(table(page)) > 1, FIRST_RENDER_S, "the ranked table")


def test_clicking_a_province_drills_down_and_the_breadcrumb_returns(page: Page, live_system: LiveSystem):
    open_view(page)
    assert page.text("#op-breadcrumb") == COUNTRY_NAME
    assert len(codes(page)) == PROVINCES
    point = page.driver.execute_script(POINT_INSIDE, PROVINCE)
    assert point is not None, f"unit {PROVINCE} is not on the map"
    page.click_at(*point)

    page.wait_text("#op-breadcrumb", lambda text: PROVINCE_NAME in text)
    assert re.split(r"\s*›\s*", page.text("#op-breadcrumb")) == [COUNTRY_NAME, PROVINCE_NAME]  # noqa: RUF001
    page.until(lambda _: search(page).get("unit") == [PROVINCE], what="the unit in the URL")
    page.until(lambda _: codes(page) and all(len(code) == 3 for code in codes(page)), what="districts")
    _, *rows = table(page)
    assert all("(Đắk Lắk)" in row[0] for row in rows), rows  # the province's own districts
    page.screenshot("operator-drilled")
    drilled = page.driver.current_url

    page.driver.find_element(By.CSS_SELECTOR, "#op-breadcrumb button").click()  # the country
    page.wait_text("#op-breadcrumb", lambda text: text == COUNTRY_NAME)
    page.until(lambda _: "unit" not in search(page), what="the URL back at the country")
    page.until(lambda _: len(codes(page)) == PROVINCES, what="the provinces again")

    open_view(page, drilled[drilled.index("/", len("http://")) :])  # the link reproduces the view
    page.wait_text("#op-breadcrumb", lambda text: PROVINCE_NAME in text)
    assert all(len(code) == 3 for code in codes(page))
    assert page.browser_errors() == []


def test_the_language_switch_changes_labels_and_formats(page: Page, live_system: LiveSystem):
    open_view(page)
    assert page.texts("#operator label") == LABELS_VI
    assert page.driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "vi"
    assert any(re.fullmatch(r"\d{1,3},\d %", cell) for row in table(page)[1:] for cell in row)
    page.screenshot("operator-1920x1080")

    page.driver.find_element(By.ID, "lang-switch").click()
    page.until(lambda _: page.texts("#operator label") == LABELS_EN, what="English labels")
    assert page.driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert search(page).get("lang") == ["en"]
    assert page.text("#lang-switch") == "Tiếng Việt"
    assert page.text("#op-breadcrumb") == "Whole country"
    page.until(lambda _: table(page)[0][:2] == ["Unit", "Code"], what="English table headers")
    assert any(re.fullmatch(r"\d{1,3}\.\d%", cell) for row in table(page)[1:] for cell in row)

    page.driver.find_element(By.ID, "lang-switch").click()
    page.until(lambda _: page.texts("#operator label") == LABELS_VI, what="Vietnamese labels again")
    assert "lang" not in search(page)
    assert page.browser_errors() == []


def test_csv_export_is_the_table_as_shown(page: Page, live_system: LiveSystem, request):
    folder = DOWNLOADS / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    page.downloads_to(folder)
    open_view(page)
    before = table(page)
    page.driver.find_element(By.CSS_SELECTOR, "#op-table thead th:nth-child(6) button").click()  # by volume
    page.until(lambda _: table(page) != before, what="the table sorted by volume")
    shown = table(page)

    page.driver.find_element(By.ID, "op-export").click()
    page.until(lambda _: completed(folder), what="the CSV download")
    (exported,) = completed(folder)
    rows = list(csv.reader(io.StringIO(exported.read_text(encoding="utf-8-sig"))))
    assert rows[0] == shown[0]
    assert rows[1:] == shown[1:]  # in the order shown, values formatted as shown
    assert len(rows) == PROVINCES + 1


def completed(folder: Path) -> list[Path]:
    """The CSV files downloaded into ``folder``, once chromium has finished writing them."""
    files = list(folder.iterdir())
    if any(f.suffix == ".crdownload" for f in files):
        return []
    return [f for f in files if f.suffix == ".csv"]


def test_a_second_click_on_a_column_reverses_the_sort(page: Page, live_system: LiveSystem):
    open_view(page)

    def volumes() -> list[int]:
        header, *rows = table(page) or [[]]
        column = header.index("Số hồ sơ")
        return [int(row[column].replace(".", "")) for row in rows]

    for sort, order in (("volume", sorted), ("-volume", lambda v: sorted(v, reverse=True))):
        page.driver.find_element(By.CSS_SELECTOR, "#op-table thead th:nth-child(6) button").click()
        page.until(lambda _, sort=sort: search(page).get("sort") == [sort], what=f"sort={sort} in the URL")
        page.until(lambda _, order=order: volumes() == order(volumes()), what=f"the table sorted by {sort}")
    assert page.browser_errors() == []
