"""Everything a page loads comes from the app itself: no CDN, no web fonts, no map tiles."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests import test_dashboard_fixtures as fx
from tests.test_dashboard_fixtures import DashStore

dash_store = fx.dash_store  # fixtures shared by the dashboard tests
make_app = fx.make_app

ASSETS = Path(__file__).parents[1] / "dashboard" / "assets"
REFERENCE = re.compile(r"""(?:src|href)=["']([^"']+)["']""")


def test_pages_load_nothing_from_other_hosts(dash_store: DashStore, make_app: Any):
    app = make_app(dash_store.settings)
    client = app.server.test_client()
    for path in ("/", "/wall", "/wall?lang=en"):
        with client.get(path) as response:
            assert response.status_code == 200
            html = response.get_data(as_text=True)
        assert "http://" not in html, path
        assert "https://" not in html, path
        loaded = REFERENCE.findall(html)
        assert any("bootstrap.min.css" in url for url in loaded)
        assert any("dash_renderer" in url for url in loaded)
        for url in loaded:
            assert url.startswith("/"), url
            with client.get(url) as asset:
                assert asset.status_code == 200, url
    layout = client.get("/_dash-layout").get_data(as_text=True)
    assert "http://" not in layout
    assert "https://" not in layout


def test_stylesheets_fetch_nothing_remote():
    sheets = list(ASSETS.rglob("*.css"))
    assert {p.name for p in sheets} >= {"bootstrap.min.css", "ioc.css"}
    for sheet in sheets:
        text = sheet.read_text(encoding="utf-8")
        assert "@import" not in text, sheet
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", text), sheet  # data: URIs only
        assert "@font-face" not in text, sheet  # system fonts
    assert (ASSETS / "vendor" / "bootstrap" / "LICENSE").is_file()
    assert (ASSETS / "topojson" / "world_110m.json").is_file()  # plotly's outline, served locally


def test_first_load_fits_the_budget(dash_store: DashStore, make_app: Any):
    """Everything a first visit downloads (gzipped): page, scripts, styles, layout, callbacks'
    definitions, plotly.js, the world outline and the map's geometry; under 1.5 MB."""
    app = make_app(dash_store.settings)
    client = app.server.test_client()
    gz = {"Accept-Encoding": "gzip"}
    for path in ("/wall", "/"):
        with client.get(path) as response:
            html = response.get_data(as_text=True)
        urls = [path, *REFERENCE.findall(html), "/_dash-layout", "/_dash-dependencies"]
        urls += ["/assets/topojson/world_110m.json", "/geo/VN.json"]
        urls += [f"/_dash-component-suites/dash/dcc/async-{part}.js" for part in ("graph", "dropdown")]
        total = 0
        for url in urls:
            with client.get(url, headers=gz) as response:
                assert response.status_code == 200, url
                total += len(response.get_data())
        assert total < 1_500_000, (path, total)
