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
    "status_ok": ("Hoạt động bình thường", "Running normally"),
    "status_stale": ("Dữ liệu không được cập nhật", "Data not updating"),
    "status_degraded": ("Hoạt động chậm (không có bộ nhớ đệm Redis)", "Running slower (no Redis cache)"),
    "status_down": ("Mất kết nối cơ sở dữ liệu", "Database unreachable"),
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
    # Navigation between pages.
    "nav_operator": ("Điều hành", "Operations"),
    "nav_alerts": ("Cảnh báo", "Alerts"),
    "nav_targets": ("Mục tiêu cảnh báo", "Alert targets"),
    "nav_wall": ("Màn hình lớn", "Wall display"),
    # Alerts: the /alerts page, the operator's banner, the wall.
    "alerts_title": ("Cảnh báo", "Alerts"),
    "alerts_in": ("Cảnh báo tại {unit}", "Alerts in {unit}"),
    "show_active": ("Đang hoạt động", "Active"),
    "show_all": ("Tất cả, kể cả đã kết thúc", "All, with resolved ones"),
    "no_alerts_all": ("Không có cảnh báo", "No alerts"),
    "alert_count": ("{n} cảnh báo đang hoạt động", "{n} active alert(s)"),
    "col_state": ("Trạng thái", "State"),
    "col_severity": ("Mức độ", "Severity"),
    "col_fired_value": ("Giá trị khi phát", "Value when fired"),
    "col_resolved_value": ("Giá trị khi kết thúc", "Value when resolved"),
    "col_threshold": ("Ngưỡng", "Threshold"),
    "col_window": ("Khoảng đánh giá", "Window"),
    "col_fired_at": ("Bắt đầu", "Fired"),
    "col_resolved_at": ("Kết thúc", "Resolved"),
    "col_duration": ("Kéo dài", "Lasted"),
    "col_ack": ("Xác nhận", "Acknowledged"),
    "state_firing": ("Đang cảnh báo", "Firing"),
    "state_resolved": ("Đã kết thúc", "Resolved"),
    "reason_recovered": ("đã đạt lại mục tiêu", "back on target"),
    "reason_insufficient": ("không đủ số hồ sơ để đánh giá", "too few applications to judge"),
    "reason_target_removed": ("mục tiêu đã bị xóa", "target deleted"),
    "window_today": ("Hôm nay", "Today"),
    "window_week": ("Tuần này", "This week"),
    "window_month": ("Tháng này", "Month to date"),
    "window_quarter": ("Quý này", "Quarter to date"),
    "window_year": ("Năm nay", "Year to date"),
    "window_rolling_7_days": ("7 ngày gần nhất", "Last 7 days"),
    "window_rolling_30_days": ("30 ngày gần nhất", "Last 30 days"),
    "duration_days": ("{d} ngày {h} giờ", "{d} d {h} h"),
    "duration_hours": ("{h} giờ {m} phút", "{h} h {m} min"),
    "duration_minutes": ("{m} phút", "{m} min"),
    "duration_short": ("dưới 1 phút", "under a minute"),
    "ack_button": ("Xác nhận", "Acknowledge"),
    "ack_name": ("Người xác nhận", "Acknowledging as"),
    "ack_name_placeholder": ("Họ và tên", "Your name"),
    "ack_name_empty": ("Nhập họ tên người xác nhận.", "Type your name to acknowledge."),
    "ack_name_too_long": ("Họ tên dài quá {n} ký tự.", "The name is longer than {n} characters."),
    "ack_name_control": ("Họ tên có ký tự không hợp lệ.", "The name holds characters that are not allowed."),
    "ack_done": ("Đã xác nhận cảnh báo #{id}.", "Alert #{id} acknowledged."),
    "ack_already": (
        "Cảnh báo #{id} đã được {name} xác nhận trước đó.",
        "Alert #{id} had already been acknowledged by {name}.",
    ),
    "ack_missing": ("Không tìm thấy cảnh báo #{id}.", "No alert #{id}."),
    "banner_alerts": (
        "{n} cảnh báo đang hoạt động tại {unit} — mức cao nhất: {severity}",
        "{n} active alert(s) in {unit} — most severe: {severity}",
    ),
    "banner_link": ("Xem cảnh báo", "See the alerts"),
    "alert_target": ("mục tiêu {threshold}", "target {threshold}"),
    "alert_since": ("từ {at}", "since {at}"),
    # Targets: the /targets page.
    "targets_title": ("Mục tiêu cảnh báo", "Alert targets"),
    "targets_none": ("Chưa có mục tiêu nào.", "No targets yet."),
    "tg_name": ("Tên", "Name"),
    "tg_name_hint": ("Để trống để tự đặt tên", "Leave empty to have it named"),
    "tg_scope": ("Áp dụng cho", "Applies to"),
    "tg_unit": ("Một đơn vị (và các đơn vị trực thuộc)", "One unit (and the units below it)"),
    "tg_level": ("Hoặc mọi đơn vị cấp", "Or every unit of a level"),
    "tg_agency": ("Cơ quan (không bắt buộc)", "Agency (optional)"),
    "tg_comparison": ("So sánh", "Comparison"),
    "tg_threshold": ("Ngưỡng", "Threshold"),
    "tg_threshold_percent": ("Ngưỡng (%)", "Threshold (%)"),
    "tg_window": ("Khoảng đánh giá", "Window"),
    "tg_min_volume": ("Số hồ sơ tối thiểu", "Minimum applications"),
    "tg_severity": ("Mức độ", "Severity"),
    "comparison_ge": ("≥ không thấp hơn", "≥ at least"),
    "comparison_le": ("≤ không cao hơn", "≤ at most"),
    "level_province": ("Tỉnh", "Province"),
    "level_district": ("Huyện", "District"),
    "level_commune": ("Xã", "Commune"),
    "every_province": ("Mọi tỉnh", "Every province"),
    "every_district": ("Mọi huyện", "Every district"),
    "every_commune": ("Mọi xã", "Every commune"),
    "tg_new": ("Thêm mục tiêu", "New target"),
    "tg_edit": ("Sửa", "Edit"),
    "tg_save": ("Lưu", "Save"),
    "tg_delete": ("Xóa", "Delete"),
    "tg_editing": ("Sửa mục tiêu: {name}", "Editing: {name}"),
    "tg_adding": ("Mục tiêu mới", "New target"),
    "tg_saved": ("Đã lưu mục tiêu “{name}”.", "Target “{name}” saved."),
    "tg_deleted": ("Đã xóa mục tiêu “{name}”.", "Target “{name}” deleted."),
    "tg_gone": ("Mục tiêu “{name}” không còn nữa.", "Target “{name}” no longer exists."),
    "tg_not_saved": ("Chưa lưu: hãy sửa các ô được đánh dấu.", "Not saved: correct the marked fields."),
    "tg_read_only": (
        "Bạn chỉ được xem, không được sửa mục tiêu.",
        "You may look at the targets but not change them.",
    ),
    "err_unknown_fields": ("Có trường không hợp lệ: {fields}.", "Unknown field(s): {fields}."),
    "err_unknown_kpi": ("Chọn một chỉ tiêu trong danh mục.", "Choose an indicator from the list."),
    "err_scope": (
        "Chọn một đơn vị hoặc một cấp (không chọn cả hai).",
        "Choose either one unit or a level (not both).",
    ),
    "err_unknown_unit": ("Không có đơn vị mã {got}.", "No unit has the code {got}."),
    "err_unknown_agency": ("Không có cơ quan mã {got}.", "No agency has the code {got}."),
    "err_choice": ("Chọn một trong: {allowed}.", "Choose one of: {allowed}."),
    "err_not_number": ("Nhập một số (đang là “{got}”).", "Type a number (got “{got}”)."),
    "err_not_finite": ("Nhập một số hữu hạn (đang là “{got}”).", "Type a finite number (got “{got}”)."),
    "err_percent_range": (
        "Tỷ lệ phải từ 0 đến 100 (đang là {got}).",
        "A percentage from 0 to 100 (got {got}).",
    ),
    "err_whole_number": ("Nhập một số nguyên từ 0 trở lên.", "Type a whole number, 0 or more."),
    "err_too_long": ("Tối đa {most} ký tự.", "At most {most} characters."),
    "err_name_taken": ("Đã có mục tiêu mang tên này.", "A target has this name already."),
    "signin_title": ("Đăng nhập", "Sign in"),
    "signin_username": ("Tên đăng nhập", "Username"),
    "signin_password": ("Mật khẩu", "Password"),
    "signin_submit": ("Đăng nhập", "Sign in"),
    "signin_oidc": ("Đăng nhập bằng tài khoản {issuer}", "Sign in with {issuer}"),
    "signin_refused": ("Tên đăng nhập hoặc mật khẩu không đúng.", "Wrong username or password."),
    "signin_throttled": (
        "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {seconds} giây.",
        "Too many failed sign-ins. Try again in {seconds} seconds.",
    ),
    "signin_expired_form": (
        "Biểu mẫu đã hết hạn, vui lòng đăng nhập lại.",
        "The form expired; please sign in again.",
    ),
    "signin_db_down": (
        "Không kết nối được cơ sở dữ liệu, chưa thể đăng nhập. Vui lòng thử lại sau ít phút.",
        "The database is unreachable, so nobody can sign in now. Try again in a few minutes.",
    ),
    "signin_oidc_failed": (
        "Đăng nhập qua máy chủ định danh không thành công: {reason}",
        "Sign-in through the identity server failed: {reason}",
    ),
    "signin_no_account": (
        "Tài khoản “{name}” chưa được cấp quyền trên hệ thống này.",
        "The account “{name}” has no access to this system.",
    ),
    "oidc_reason_state": (
        "phiên đăng nhập đã hết hạn hoặc không bắt đầu từ trang này, vui lòng thử lại.",
        "the sign-in expired or was not started here; please try again.",
    ),
    "oidc_reason_refused": (
        "máy chủ định danh đã từ chối yêu cầu.",
        "the identity server refused the request.",
    ),
    "oidc_reason_unreachable": (
        "không kết nối được máy chủ định danh.",
        "the identity server could not be reached.",
    ),
    "oidc_reason_token": ("mã định danh nhận được không hợp lệ.", "the identity token it sent is not valid."),
    "oidc_reason_claim": (
        "máy chủ định danh không cho biết tên đăng nhập.",
        "the identity server did not say the username.",
    ),
    "signout": ("Đăng xuất", "Sign out"),
    "kiosk_unknown": (
        "Liên kết màn hình này không tồn tại hoặc đã bị thu hồi.",
        "This display link does not exist or has been revoked.",
    ),
    "forbidden": ("Bạn không có quyền xem nội dung này.", "You may not see this."),
    "forbidden_action": ("Bạn không có quyền thực hiện thao tác này.", "You may not do this."),
    # Administration: /admin/kiosk, /admin/users, /admin/audit.
    "admin_link": ("Quản trị", "Administration"),
    "admin_kiosk": ("Liên kết màn hình", "Display links"),
    "admin_users": ("Người dùng", "Users"),
    "admin_audit": ("Nhật ký hoạt động", "Audit trail"),
    "kl_title": ("Liên kết cho màn hình lớn", "Links for wall displays"),
    "kl_none": ("Chưa có liên kết nào.", "No links yet."),
    "kl_label": ("Tên gọi (vị trí màn hình)", "Label (where the screen is)"),
    "kl_label_hint": ("Ví dụ: Phòng điều hành, màn hình trái", "e.g. Operations room, left screen"),
    "kl_unit": ("Đơn vị hiển thị", "Unit shown"),
    "kl_scenes": ("Các cảnh trình chiếu", "Scenes shown"),
    "kl_scene": ("{kpi} — {period}, {seconds} giây", "{kpi} — {period}, {seconds} s"),
    "kl_create": ("Tạo liên kết", "Create link"),
    "kl_adding": ("Liên kết mới", "New link"),
    "kl_created": (
        "Đã tạo liên kết “{label}”. Mở địa chỉ sau trên màn hình lớn:",
        "Link “{label}” created. Open this address on the wall display:",
    ),
    "kl_once": (
        "Địa chỉ này chỉ hiển thị một lần, không thể xem lại. Nếu làm mất, hãy thu hồi và tạo liên kết mới.",
        "This address is shown only once and cannot be shown again. If it is lost, revoke the link"
        " and create a new one.",
    ),
    "kl_no_scene": ("Chọn ít nhất một cảnh.", "Choose at least one scene."),
    "kl_revoke": ("Thu hồi", "Revoke"),
    "kl_revoked": (
        "Đã thu hồi liên kết “{label}”: màn hình dùng liên kết này ngừng hiển thị ngay.",
        "Link “{label}” revoked: the screens using it stop at once.",
    ),
    "kl_already_revoked": (
        "Liên kết “{label}” đã bị thu hồi trước đó.",
        "Link “{label}” was already revoked.",
    ),
    "kl_gone": ("Không tìm thấy liên kết #{id}.", "No link #{id}."),
    "kl_active": ("Đang dùng", "Active"),
    "col_label": ("Tên gọi", "Label"),
    "col_scenes": ("Cảnh", "Scenes"),
    "col_created": ("Tạo bởi / lúc", "Created by / at"),
    "col_revoked": ("Thu hồi bởi / lúc", "Revoked by / at"),
    "by_at": ("{by}, {at}", "{by}, {at}"),
    "us_title": ("Người dùng", "Users"),
    "us_none": ("Chưa có người dùng nào trong phạm vi của bạn.", "No users within your scope."),
    "us_username": ("Tên đăng nhập", "Username"),
    "us_display_name": ("Họ và tên", "Display name"),
    "us_role": ("Vai trò", "Role"),
    "us_scope": ("Phạm vi", "Scope"),
    "us_state": ("Trạng thái", "State"),
    "us_password_changed": ("Đổi mật khẩu lúc", "Password changed"),
    "us_active": ("Đang hoạt động", "Active"),
    "us_disabled": ("Đã khóa từ {at}", "Disabled since {at}"),
    "us_disable": ("Khóa", "Disable"),
    "us_enable": ("Mở khóa", "Enable"),
    "us_adding": ("Thêm người dùng", "Add a user"),
    "us_password": ("Mật khẩu ban đầu (ít nhất {n} ký tự)", "Initial password (at least {n} characters)"),
    "us_add": ("Thêm", "Add"),
    "us_added": ("Đã thêm người dùng {name}.", "User {name} added."),
    "us_disabled_done": (
        "Đã khóa {name}: các phiên đăng nhập của người này kết thúc ngay.",
        "{name} disabled: their sessions end at once.",
    ),
    "us_enabled_done": ("Đã mở khóa {name}.", "{name} enabled."),
    "us_not_self": ("Không thể tự khóa tài khoản của chính mình.", "You cannot disable your own account."),
    "us_gone": ("Không tìm thấy người dùng {name}.", "No user is called {name}."),
    "us_set_password": ("Đặt mật khẩu mới", "Set a new password"),
    "us_new_password": ("Mật khẩu mới (ít nhất {n} ký tự)", "New password (at least {n} characters)"),
    "us_password_set": (
        "Đã đặt mật khẩu mới cho {name}: các phiên đăng nhập cũ kết thúc ngay.",
        "New password set for {name}: their old sessions end at once.",
    ),
    "us_choose_user": ("Chọn một người dùng.", "Choose a user."),
    "us_bad_username": (
        "Tên đăng nhập gồm 1-64 ký tự a-z 0-9 . _ @ -, bắt đầu bằng chữ hoặc số.",
        "A username is 1-64 of a-z 0-9 . _ @ -, starting with a letter or digit.",
    ),
    "us_exists": ("Đã có người dùng tên {name}.", "A user called {name} exists already."),
    "us_weak_short": ("Mật khẩu cần ít nhất {n} ký tự.", "A password needs at least {n} characters."),
    "us_weak_long": ("Mật khẩu dài tối đa {n} ký tự.", "A password has at most {n} characters."),
    "us_weak_username": (
        "Mật khẩu không được trùng tên đăng nhập.",
        "The password must not be the username.",
    ),
    "out_of_scope": (
        "Đơn vị này nằm ngoài phạm vi quản lý của bạn.",
        "This unit is outside the scope you manage.",
    ),
    "choose_unit": ("Chọn một đơn vị.", "Choose a unit."),
    "role_viewer": ("Xem", "Viewer"),
    "role_operator": ("Điều hành", "Operator"),
    "role_admin": ("Quản trị", "Administrator"),
    "au_title": ("Nhật ký hoạt động", "Audit trail"),
    "au_none": ("Không có mục nào.", "No entries."),
    "au_actor": ("Người thực hiện", "Actor"),
    "au_actor_hint": ("Tên đăng nhập, kiosk:<số>, cli:<tên>", "A username, kiosk:<id>, cli:<login>"),
    "au_action": ("Thao tác", "Action"),
    "au_limit": ("Số mục mỗi trang", "Entries per page"),
    "au_at": ("Thời điểm", "When"),
    "au_subject": ("Đối tượng", "Subject"),
    "au_address": ("Địa chỉ", "Address"),
    "au_detail": ("Chi tiết", "Detail"),
    "au_newer": ("← Mới hơn", "← Newer"),
    "au_older": ("Cũ hơn →", "Older →"),
    "au_showing": ("Mục {first}-{last}", "Entries {first}-{last}"),
    "act_sign_in": ("Đăng nhập", "Signed in"),
    "act_sign_in_failed": ("Đăng nhập thất bại", "Sign-in failed"),
    "act_sign_out": ("Đăng xuất", "Signed out"),
    "act_user_added": ("Thêm người dùng", "User added"),
    "act_user_disabled": ("Khóa người dùng", "User disabled"),
    "act_user_enabled": ("Mở khóa người dùng", "User enabled"),
    "act_password_set": ("Đặt mật khẩu", "Password set"),
    "act_kiosk_link_created": ("Tạo liên kết màn hình", "Display link created"),
    "act_kiosk_link_revoked": ("Thu hồi liên kết màn hình", "Display link revoked"),
    "act_targets_loaded": ("Nạp mục tiêu", "Targets loaded"),
    "act_target_saved": ("Lưu mục tiêu", "Target saved"),
    "act_target_deleted": ("Xóa mục tiêu", "Target deleted"),
    "act_alert_acknowledged": ("Xác nhận cảnh báo", "Alert acknowledged"),
    "act_export": ("Xuất dữ liệu", "Export"),
}


def t(key: str, lang: Lang, **values: object) -> str:
    """The text of ``key`` in ``lang``, with ``{name}`` placeholders filled from ``values``."""
    vi, en = _STRINGS[key]
    text = vi if lang == "vi" else en
    return text.format(**values) if values else text


def has(key: str) -> bool:
    """Whether ``key`` is a text of this module (for names that come from data: windows, severities)."""
    return key in _STRINGS


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
