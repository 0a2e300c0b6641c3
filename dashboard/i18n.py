"""Every word the dashboard shows, in Vietnamese (the default) and English, and locale formats.

KPI names are not here: they come from the registry (``kpi_name``). Formats:

- Vietnamese: ``1.234,5`` and ``28/11/2026 14:05``;
- English: ``1,234.5`` and ``2026-11-28 14:05`` (ISO dates: unambiguous for every reader);
- KPI values through ``kpi.registry.format_value`` ("Không có dữ liệu" / "No data" for none).
"""

from __future__ import annotations

from datetime import date, datetime
from fractions import Fraction
from typing import Literal

from kpi import registry

Lang = Literal["vi", "en"]
LANGS: tuple[Lang, ...] = ("vi", "en")

_STRINGS: dict[str, tuple[str, str]] = {
    "app_title": (
        "Trung tâm điều hành — Dịch vụ công trực tuyến",
        "Operations centre — Online public services",
    ),
    "country": ("Toàn quốc", "Whole country"),
    "period_today": ("Hôm nay", "Today"),
    "period_week": ("Tuần này", "This week"),
    "period_month": ("Tháng này", "Month to date"),
    "period_quarter": ("Quý này", "Quarter to date"),
    "period_year": ("Năm nay", "Year to date"),
    "period_custom": ("Tùy chọn", "Custom"),
    "period": ("Kỳ báo cáo", "Period"),
    "kpi": ("Chỉ tiêu", "Indicator"),
    "agency": ("Cơ quan", "Agency"),
    "procedure": ("Thủ tục", "Procedure"),
    "channel": ("Kênh nộp", "Channel"),
    "all": ("Tất cả", "All"),
    "channel_online": ("Trực tuyến", "Online"),
    "channel_in_person": ("Trực tiếp", "In person"),
    "channel_postal": ("Bưu chính công ích", "By post"),
    "target": ("Chỉ tiêu giao", "Target"),
    "no_target": ("Chưa giao chỉ tiêu", "No target"),
    "gap": ("Chênh lệch", "Gap"),
    "value": ("Giá trị", "Value"),
    "unit": ("Đơn vị", "Unit"),
    "code": ("Mã", "Code"),
    "volume": ("Số hồ sơ", "Applications"),
    "change": (
        "▲▼ so với kỳ trước cùng độ dài · đường: 14 ngày gần nhất",
        "▲▼ versus the previous period of the same length · line: the last 14 days",
    ),
    "no_change": ("chưa so sánh được", "no comparison"),
    "no_data": ("Không có dữ liệu", "No data"),
    "no_data_yet": (
        "Chưa có dữ liệu: hệ thống chưa nhận được hồ sơ nào.",
        "No data yet: no application has been received.",
    ),
    "db_down": (
        "Mất kết nối cơ sở dữ liệu. Số liệu sẽ hiển thị lại khi kết nối được khôi phục.",
        "The database is unreachable. Figures will return when it is back.",
    ),
    "db_error": (
        "Cơ sở dữ liệu báo lỗi khi truy vấn (xem nhật ký máy chủ; đã chạy `ioc db migrate` chưa?).",
        "The database answered with an error (see the server log; was `ioc db migrate` run?).",
    ),
    "unknown_unit": ("Không tìm thấy đơn vị có mã {code}.", "No unit has the code {code}."),
    "unknown_page": ("Không có trang này.", "No such page."),
    "back_home": ("Về trang chính", "Back to the main page"),
    "stale_banner": (
        "DỮ LIỆU KHÔNG ĐƯỢC CẬP NHẬT — không có sự kiện mới từ {age}",
        "DATA NOT UPDATING — no new event for {age}",
    ),
    "offline_banner": (
        "Mất kết nối với máy chủ — số liệu trên màn hình có thể đã cũ",
        "Connection to the server lost — the figures on screen may be out of date",
    ),
    "never_received": ("chưa từng nhận", "never received"),
    "data_age": ("Dữ liệu mới nhất: {age} trước", "Latest data: {age} ago"),
    "data_age_none": ("Chưa có dữ liệu", "No data yet"),
    "age_seconds": ("{n} giây", "{n} s"),
    "age_minutes": ("{n} phút", "{n} min"),
    "age_hours": ("{n} giờ", "{n} h"),
    "age_days": ("{n} ngày", "{n} days"),
    "live_today": ("Hôm nay", "Today"),
    "latest_events": ("Sự kiện mới nhất", "Latest events"),
    "active_alerts": ("Cảnh báo đang hoạt động", "Active alerts"),
    "no_alerts": ("Không có cảnh báo", "No active alerts"),
    "coloured_by_target": (
        "Màu theo chênh lệch với chỉ tiêu {target}",
        "Colour: gap to the target of {target}",
    ),
    "coloured_by_value": (
        "Chưa giao chỉ tiêu: màu theo giá trị",
        "No target set: colour by value",
    ),
    "no_geometry": (
        "Chưa có ranh giới cho các đơn vị này (nạp bằng `ioc geo load-default` hoặc `ioc geo import`).",
        "No outlines for these units yet (load them with `ioc geo load-default` or `ioc geo import`).",
    ),
    "grey_no_data": ("Màu xám: không có dữ liệu", "Grey: no data"),
    "series_title": ("Diễn biến theo {grain}", "Trend by {grain}"),
    "grain_day": ("ngày", "day"),
    "grain_week": ("tuần", "week"),
    "grain_month": ("tháng", "month"),
    "by_agency": ("Theo cơ quan", "By agency"),
    "by_procedure": ("Theo thủ tục", "By procedure"),
    "export_csv": ("Xuất CSV", "Export CSV"),
    "language": ("English", "Tiếng Việt"),
    "children_of": ("Các đơn vị trực thuộc {unit}", "Units of {unit}"),
    "no_children": ("{unit} không có đơn vị trực thuộc.", "{unit} has no units below it."),
    "from": ("Từ ngày", "From"),
    "to": ("Đến ngày", "To"),
    "attribution": ("Bản đồ: {text}", "Map: {text}"),
    "sample_map": ("Ranh giới huyện, xã là dữ liệu mẫu.", "District and commune outlines are samples."),
    "clock": ("Giờ Việt Nam", "Vietnam time"),
    "points": ("điểm %", "pp"),
    "days_unit": ("ngày", "days"),
    "severity_info": ("Thông tin", "Info"),
    "severity_warning": ("Cảnh báo", "Warning"),
    "severity_critical": ("Nghiêm trọng", "Critical"),
    "scene_title": ("{kpi} — {period}", "{kpi} — {period}"),
    "ev_submitted": ("Nộp hồ sơ", "Submitted"),
    "ev_received": ("Tiếp nhận", "Received"),
    "ev_supplement_requested": ("Yêu cầu bổ sung", "Supplement requested"),
    "ev_supplement_received": ("Đã bổ sung", "Supplement received"),
    "ev_resolved": ("Giải quyết xong", "Resolved"),
    "ev_withdrawn": ("Rút hồ sơ", "Withdrawn"),
    "ev_result_returned": ("Trả kết quả", "Result returned"),
    "ev_paid": ("Thanh toán", "Paid"),
    "ev_digitized": ("Số hóa", "Digitized"),
    "ev_rated": ("Đánh giá", "Rated"),
}


def t(key: str, lang: Lang, **values: object) -> str:
    """The text of ``key`` in ``lang``, with ``{name}`` placeholders filled from ``values``."""
    vi, en = _STRINGS[key]
    text = vi if lang == "vi" else en
    return text.format(**values) if values else text


def lang_of(raw: object) -> Lang:
    """``en`` when asked for, else Vietnamese (the default for anything unknown)."""
    return "en" if raw == "en" else "vi"


def kpi_name(key: str, lang: Lang) -> str:
    kpi = registry.get(key)
    return kpi.name_vi if lang == "vi" else kpi.name_en


def kpi_value(key: str, value: Fraction | int | None, lang: Lang) -> str:
    return registry.format_value(registry.get(key), value, lang)


def number(value: float, lang: Lang, decimals: int = 0) -> str:
    """``1.234,5`` in Vietnamese, ``1,234.5`` in English."""
    text = f"{value:,.{decimals}f}"
    if lang == "vi":
        return text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def day(value: date, lang: Lang) -> str:
    return value.strftime("%d/%m/%Y") if lang == "vi" else value.isoformat()


def moment(value: datetime, lang: Lang) -> str:
    """A local date and time to the minute."""
    return f"{day(value.date(), lang)} {value:%H:%M}"


def age(seconds: float, lang: Lang) -> str:
    """How long ago, in the largest whole unit: ``45 giây``, ``3 phút``, ``2 giờ``, ``4 ngày``."""
    whole = max(0, int(seconds))
    if whole < 60:
        return t("age_seconds", lang, n=whole)
    if whole < 3600:
        return t("age_minutes", lang, n=whole // 60)
    if whole < 86_400:
        return t("age_hours", lang, n=whole // 3600)
    return t("age_days", lang, n=whole // 86_400)


def plotly_separators(lang: Lang) -> str:
    """plotly's ``layout.separators``: decimal then thousands."""
    return ",." if lang == "vi" else ".,"
