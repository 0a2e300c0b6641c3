"""The system status page: is the database there, is Redis, how old is the data (in Vietnamese)."""

from __future__ import annotations

from dash import html

from dashboard import i18n
from dashboard.health import Health
from ioc.settings import Settings


def layout(report: Health, settings: Settings) -> html.Div:
    def reachable(ok: bool) -> str:
        return "kết nối tốt" if ok else "không kết nối được"

    if report.data_age_s is None:
        age = "chưa có sự kiện nào"
    else:
        minutes = int(report.data_age_s // 60)
        age = f"{minutes} phút trước" if minutes else "vừa xong"
    return html.Div(
        [
            html.H1("Trung tâm điều hành thông minh — Dịch vụ công trực tuyến"),
            html.H2(
                i18n.t(f"status_{report.status}", "vi"), id="status", className=f"status-{report.status}"
            ),
            html.Ul(
                [
                    html.Li(f"Cơ sở dữ liệu: {reachable(report.database)}"),
                    html.Li(f"Redis: {reachable(report.redis)}"),
                    html.Li(f"Sự kiện mới nhất: {age}"),
                    html.Li(f"Cảnh báo khi dữ liệu cũ hơn {settings.stale_after_s // 60} phút"),
                ]
            ),
        ],
        lang="vi",
    )
