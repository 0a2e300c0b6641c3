"""The KPI registry (DESIGN.md §4): every KPI of DOMAIN.md §3, defined once.

Each ``Kpi`` says what it is (key, Vietnamese and English names, what its numerator and
denominator count), how it is computed (``kind``), which way is good (``direction``) and how it
is shown (``display``). Views and the alert engine read KPIs through ``get`` and ``all_kpis``;
no screen computes a ratio of its own.

Values are exact: a ratio is a ``Fraction`` from ``ratio(numerator, denominator)``, ``None`` when
the denominator is 0 ("no data", never 0 % or 100 %); a count is an ``int``; an average is a
``Fraction`` (or ``None`` over nothing). Only ``format_value`` rounds, half up, for display.

The counts by channel use the application's channel from its earliest ``submitted``; an
application whose ``submitted`` has not arrived counts in the total and in no channel, so the
channel counts may sum to less than the total.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

Kind = Literal["ratio", "count", "average"]
# ``neutral``: volumes (received, resolved) are neither good nor bad in themselves.
Direction = Literal["higher_is_better", "lower_is_better", "neutral"]
Display = Literal["percent", "integer", "days"]
Locale = Literal["vi", "en"]


@dataclass(frozen=True)
class Kpi:
    key: str
    name_vi: str
    name_en: str
    numerator_vi: str
    numerator_en: str
    denominator_vi: str  # empty for a count
    denominator_en: str
    kind: Kind
    direction: Direction
    display: Display  # percent and days with 1 decimal, integer with thousands separators


def _ratio(key: str, name_vi: str, name_en: str, num: tuple[str, str], den: tuple[str, str]) -> Kpi:
    return Kpi(key, name_vi, name_en, num[0], num[1], den[0], den[1], "ratio", "higher_is_better", "percent")


def _count(key: str, name_vi: str, name_en: str, what: tuple[str, str], direction: Direction) -> Kpi:
    return Kpi(key, name_vi, name_en, what[0], what[1], "", "", "count", direction, "integer")


_RECEIVED = ("Hồ sơ tiếp nhận trong kỳ", "Applications received in the period")
_RESOLVED = ("Hồ sơ giải quyết trong kỳ", "Applications resolved in the period")
_CHANNELS = (
    ("online", "trực tuyến", "online"),
    ("in_person", "trực tiếp", "in person"),
    ("postal", "qua bưu chính công ích", "by post"),
)

_KPIS: tuple[Kpi, ...] = (
    _ratio(
        "online_submission_rate",
        "Tỷ lệ hồ sơ nộp trực tuyến",
        "Online submission rate",
        ("Hồ sơ tiếp nhận trong kỳ nộp trực tuyến", "Applications received in the period, filed online"),
        _RECEIVED,
    ),
    _ratio(
        "full_online_rate",
        "Tỷ lệ hồ sơ trực tuyến toàn trình",
        "Full-online application rate",
        (
            "Hồ sơ tiếp nhận trong kỳ nộp trực tuyến, dịch vụ công trực tuyến toàn trình",
            "Applications received in the period, filed online for a procedure offered fully online",
        ),
        _RECEIVED,
    ),
    _ratio(
        "online_resolution_rate",
        "Tỷ lệ hồ sơ giải quyết trực tuyến",
        "Online resolution rate",
        ("Hồ sơ giải quyết trong kỳ đã nộp trực tuyến", "Applications resolved in the period, filed online"),
        _RESOLVED,
    ),
    _ratio(
        "services_with_online_apps_rate",
        "Tỷ lệ DVCTT có phát sinh hồ sơ",
        "Online services with applications",
        (
            "Thủ tục cung cấp trực tuyến của đơn vị có ít nhất một hồ sơ trực tuyến tiếp nhận trong kỳ",
            "Online-offered procedures of the unit with at least one online application received"
            " in the period",
        ),
        (
            "Thủ tục cung cấp trực tuyến (toàn trình hoặc một phần) thuộc cấp của đơn vị hoặc cấp dưới",
            "Procedures offered online (full or partial) handled at the unit's level or below",
        ),
    ),
    _ratio(
        "on_time_rate",
        "Tỷ lệ giải quyết đúng hạn",
        "On-time resolution rate",
        (
            "Hồ sơ tiếp nhận trong kỳ chưa trễ hạn tại thời điểm đánh giá (thời gian chờ bổ sung được"
            " cộng vào hạn; yêu cầu bổ sung quá một lần tính là trễ hạn)",
            "Applications received in the period and not late at the evaluation time (supplement"
            " waiting time extends the deadline; more than one supplement request counts as late)",
        ),
        _RECEIVED,
    ),
    _count(
        "overdue_open",
        "Hồ sơ quá hạn đang xử lý",
        "Overdue applications in progress",
        ("Hồ sơ đang xử lý đã quá hạn tại thời điểm hiện tại", "Open applications past their deadline now"),
        "lower_is_better",
    ),
    _count(
        "due_soon_open",
        "Hồ sơ sắp đến hạn",
        "Applications due soon",
        ("Hồ sơ đang xử lý đến hạn trong 24 giờ tới", "Open applications due within the next 24 hours"),
        "lower_is_better",
    ),
    Kpi(
        "avg_processing_days",
        "Thời gian giải quyết trung bình",
        "Average processing time",
        "Tổng số ngày làm việc từ tiếp nhận đến giải quyết, trừ thời gian chờ bổ sung",
        "Total working days from receipt to resolution, supplement waiting time excluded",
        "Hồ sơ giải quyết trong kỳ (có ngày tiếp nhận)",
        "Applications resolved in the period (with a receipt date)",
        "average",
        "lower_is_better",
        "days",
    ),
    _ratio(
        "digitization_rate",
        "Tỷ lệ số hóa hồ sơ",
        "Digitization rate",
        (
            "Hồ sơ tiếp nhận trong kỳ đã được số hóa và, nếu đã được chấp thuận với kết quả là giấy tờ,"
            " kết quả cũng đã được số hóa",
            "Applications received in the period whose file was digitized and, when approved with a"
            " document result, whose result was digitized too",
        ),
        _RECEIVED,
    ),
    _ratio(
        "e_result_rate",
        "Tỷ lệ cấp kết quả điện tử",
        "Electronic result rate",
        (
            "Hồ sơ được chấp thuận trong kỳ có kết quả điện tử, thủ tục có kết quả là giấy tờ",
            "Applications approved in the period with an electronic result, procedures with a"
            " document result",
        ),
        (
            "Hồ sơ được chấp thuận trong kỳ, thủ tục có kết quả là giấy tờ",
            "Applications approved in the period, procedures with a document result",
        ),
    ),
    _ratio(
        "data_reuse_rate",
        "Tỷ lệ tái sử dụng dữ liệu số hóa",
        "Digitized data reuse rate",
        (
            "Hồ sơ tiếp nhận trong kỳ có ít nhất một thành phần tái sử dụng dữ liệu đã số hóa",
            "Applications received in the period with at least one reused digitized component",
        ),
        _RECEIVED,
    ),
    _ratio(
        "vneid_rate",
        "Tỷ lệ hồ sơ dùng định danh điện tử (VNeID)",
        "VNeID authentication rate",
        (
            "Hồ sơ tiếp nhận trong kỳ xác thực bằng VNeID / dữ liệu dân cư",
            "Applications received in the period authenticated with VNeID / population data",
        ),
        _RECEIVED,
    ),
    _ratio(
        "online_payment_rate",
        "Tỷ lệ thanh toán trực tuyến",
        "Online payment rate",
        (
            "Hồ sơ tiếp nhận trong kỳ có phí đã thanh toán trực tuyến",
            "Applications received in the period with a fee, paid online",
        ),
        (
            "Hồ sơ tiếp nhận trong kỳ có tổng số tiền đã nộp lớn hơn 0",
            "Applications received in the period whose payments sum to more than 0",
        ),
    ),
    _ratio(
        "satisfaction_rate",
        "Tỷ lệ hài lòng",
        "Satisfaction rate",
        (
            "Hồ sơ tiếp nhận trong kỳ không trễ hạn và không bị đánh giá không hài lòng (1-2 điểm)",
            "Applications received in the period neither late nor rated unsatisfied (score 1-2)",
        ),
        _RECEIVED,
    ),
    _count("received", "Tiếp nhận", "Received", _RECEIVED, "neutral"),
    *(
        _count(
            f"received_{channel}",
            f"Tiếp nhận {vi}",
            f"Received {en}",
            (f"Hồ sơ tiếp nhận trong kỳ nộp {vi}", f"Applications received in the period, filed {en}"),
            "neutral",
        )
        for channel, vi, en in _CHANNELS
    ),
    _count("resolved", "Đã giải quyết", "Resolved", _RESOLVED, "neutral"),
    *(
        _count(
            f"resolved_{channel}",
            f"Đã giải quyết, nộp {vi}",
            f"Resolved, filed {en}",
            (f"Hồ sơ giải quyết trong kỳ đã nộp {vi}", f"Applications resolved in the period, filed {en}"),
            "neutral",
        )
        for channel, vi, en in _CHANNELS
    ),
    _count(
        "open",
        "Đang xử lý",
        "In progress",
        (
            "Hồ sơ đã tiếp nhận, chưa kết thúc tại cuối kỳ",
            "Applications received and not ended at the period's end",
        ),
        "neutral",
    ),
    *(
        _count(
            f"open_{channel}",
            f"Đang xử lý, nộp {vi}",
            f"In progress, filed {en}",
            (
                f"Hồ sơ nộp {vi} đã tiếp nhận, chưa kết thúc tại cuối kỳ",
                f"Applications filed {en}, received and not ended at the period's end",
            ),
            "neutral",
        )
        for channel, vi, en in _CHANNELS
    ),
)

_BY_KEY: dict[str, Kpi] = {k.key: k for k in _KPIS}
if len(_BY_KEY) != len(_KPIS):  # pragma: no cover - a guard against editing mistakes
    _msg = "duplicate KPI key in the registry"
    raise RuntimeError(_msg)


class UnknownKpi(KeyError):
    """No KPI has this key."""


def get(key: str) -> Kpi:
    """The KPI with this key; raises ``UnknownKpi`` naming the known keys."""
    try:
        return _BY_KEY[key]
    except KeyError:
        msg = f"unknown KPI {key!r}; known: {', '.join(_BY_KEY)}"
        raise UnknownKpi(msg) from None


def all_kpis() -> tuple[Kpi, ...]:
    """Every KPI, in the order of DOMAIN.md §3."""
    return _KPIS


def ratio(numerator: int, denominator: int) -> Fraction | None:
    """``numerator / denominator`` exactly, or ``None`` ("no data") when the denominator is 0."""
    if denominator < 0 or numerator < 0:
        msg = f"a ratio of counts needs counts >= 0, got {numerator}/{denominator}"
        raise ValueError(msg)
    if denominator == 0:
        return None
    return Fraction(numerator, denominator)


NO_DATA = {"vi": "Không có dữ liệu", "en": "No data"}


def format_value(kpi: Kpi, value: Fraction | int | None, locale: Locale = "vi") -> str:
    """A value as shown: ``45,8 %`` / ``45.8%``, ``1.234`` / ``1,234``, ``3,5 ngày`` / ``3.5 days``.

    Rounds half up to one decimal (percent of a ratio, days); ``None`` is "no data".
    """
    if locale not in NO_DATA:
        msg = f"locale should be 'vi' or 'en', got {locale!r}"
        raise ValueError(msg)
    if value is None:
        return NO_DATA[locale]
    if kpi.display == "integer":
        text = f"{_round_half_up(Fraction(value), 0):,}"
        return text.replace(",", ".") if locale == "vi" else text
    scaled = Fraction(value) * 100 if kpi.display == "percent" else Fraction(value)
    tenths = _round_half_up(scaled, 1)
    sign = "-" if tenths < 0 else ""
    whole, tenth = divmod(abs(tenths), 10)
    if locale == "vi":
        number = f"{sign}{whole:,}".replace(",", ".") + f",{tenth}"
        return f"{number} %" if kpi.display == "percent" else f"{number} ngày"
    number = f"{sign}{whole:,}.{tenth}"
    return f"{number}%" if kpi.display == "percent" else f"{number} days"


def _round_half_up(value: Fraction, decimals: int) -> int:
    """``value`` times 10**decimals rounded half away from zero, as an integer."""
    scaled = abs(value) * 10**decimals
    rounded = int(scaled + Fraction(1, 2))  # floor of a non-negative number
    return rounded if value >= 0 else -rounded
