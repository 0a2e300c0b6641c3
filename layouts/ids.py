"""Component IDs, in one place (hyphenated, no dots); layouts/__init__.py lists what they show."""

from __future__ import annotations

# The shell around every page.
URL = "url"
PAGE = "page"
FOOTER = "footer"
SIGN_OUT = "sign-out"
STATUS = "status"
LANG = "page-lang"
LANG_SWITCH = "lang-switch"
MESSAGE = "message"
RETRY = "retry"  # a timer on full-page database messages: reloads the page

# Wall display.
WALL = "wall"
WALL_POLL = "wall-poll"
WALL_STATE = "wall-state"
WALL_HOME = "wall-home"
WALL_CLOCK = "wall-clock"
WALL_AGE = "wall-age"
WALL_STALE = "wall-stale-banner"
WALL_TITLE = "wall-title"
WALL_MAP = "wall-map"
WALL_MAP_TITLE = "wall-map-title"
WALL_MAP_NOTE = "wall-map-note"
WALL_TILES = "wall-tiles"
WALL_COUNTERS = "wall-counters"
WALL_TICKER = "wall-ticker"
WALL_ALERTS = "wall-alerts"
WALL_ALERT_COUNT = "wall-alert-count"  # store: active alerts now
WALL_ALERT_CUE = "wall-alert-cue"  # pulses while alerts are active
WALL_SOUND = "wall-sound"  # store: ?sound=1 asks for an audible cue
WALL_ERROR = "wall-error"
WALL_ANSWERED = "wall-answered"  # store: a new value on every answered tick (the watchdog's heartbeat)
WALL_WATCHDOG = "wall-watchdog"  # the browser's own timer: notices when the server stops answering
WALL_OFFLINE = "wall-offline-banner"  # shown while the server does not answer
TILE_VALUE = "wall-tile-value"  # dict IDs {"type": TILE_VALUE, "kpi": key}
TILE_TARGET = "wall-tile-target"
TILE_CHANGE = "wall-tile-change"
TILE_SPARK = "wall-tile-spark"
COUNTER_VALUE = "wall-counter-value"  # {"type": COUNTER_VALUE, "kpi": key}

# Operator view.
OP = "operator"
OP_POLL = "op-poll"
OP_VERSION = "op-version"
OP_UNIT = "op-unit"
OP_MAP_PARENT = "op-map-parent"
OP_PERIOD = "op-period"
OP_DATES = "op-dates"
OP_DATES_WRAP = "op-dates-wrap"
OP_KPI = "op-kpi"
OP_AGENCY = "op-agency"
OP_PROCEDURE = "op-procedure"
OP_CHANNEL = "op-channel"
OP_BREADCRUMB = "op-breadcrumb"
OP_CRUMB = "op-crumb"  # dict IDs {"type": OP_CRUMB, "unit": code}
OP_TITLE = "op-title"
OP_MAP = "op-map"
OP_MAP_NOTE = "op-map-note"
OP_TABLE = "op-table"
OP_ROWS = "op-rows"  # the table's rows as shown (store), for the export
OP_SORT = "op-sort"  # dict IDs {"type": OP_SORT, "column": name}, the table's header buttons
OP_SORT_STATE = "op-sort-state"
OP_EXPORT = "op-export"
OP_DOWNLOAD = "op-download"
OP_SERIES = "op-series"
OP_BY_AGENCY = "op-by-agency"
OP_BY_PROCEDURE = "op-by-procedure"
OP_MESSAGE = "op-message"
OP_ALERT_BANNER = "op-alert-banner"  # firing alerts in the current unit, with a link to /alerts
NAV = "nav"  # links between pages

# Alerts (/alerts).
AL = "alerts-page"
AL_UNIT = "al-unit"  # store: the unit whose subtree is listed
AL_POLL = "al-poll"
AL_VERSION = "al-version"  # store: data version and minute the list was computed at
AL_SHOW = "al-show"  # active or all
AL_NAME = "al-name"  # who acknowledges
AL_NAME_ERROR = "al-name-error"
AL_MESSAGE = "al-message"
AL_COUNT = "al-count"
AL_LIST = "al-list"
AL_ROW = "al-row"  # each row's id: f"{AL_ROW}-{alert id}"
AL_ACK = "al-ack"  # dict IDs {"type": AL_ACK, "alert": id}, the acknowledge buttons

# Targets (/targets).
TG = "targets-page"
TG_POLL = "tg-poll"
TG_VERSION = "tg-version"
TG_LIST = "tg-list"
TG_ROW = "tg-row"  # each row's class; its id {"type": TG_ROW, "name": target name}
TG_EDIT = "tg-edit"  # dict IDs {"type": TG_EDIT, "name": target name}
TG_NEW = "tg-new"
TG_EDITING = "tg-editing"  # store: the name of the target in the form (None: a new one)
TG_FORM = "tg-form"
TG_FORM_TITLE = "tg-form-title"
TG_SAVE = "tg-save"
TG_DELETE = "tg-delete"
TG_MESSAGE = "tg-message"
TG_SCOPE_ERROR = "tg-scope-error"  # a problem of the row as a whole (unit or level)

# Administration (/admin/kiosk, /admin/users, /admin/audit).
ADMIN_LINK = "admin-link"  # in the footer, for admins
ADMIN_NAV = "admin-nav"  # links between the admin pages
KL = "admin-kiosk-page"
KL_LIST = "kl-list"
KL_ROW = "kl-row"  # each row's class
KL_REVOKE = "kl-revoke"  # dict IDs {"type": KL_REVOKE, "link": id}
KL_LABEL = "kl-label"
KL_UNIT = "kl-unit"
KL_SCENES = "kl-scenes"
KL_CREATE = "kl-create"
KL_MESSAGE = "kl-message"
KL_NEW_URL = "kl-new-url"  # the new link's address, shown once
US = "admin-users-page"
US_LIST = "us-list"
US_ROW = "us-row"  # each row's class
US_TOGGLE = "us-toggle"  # dict IDs {"type": US_TOGGLE, "user": username}: disable or enable
US_USERNAME = "us-username"
US_DISPLAY_NAME = "us-display-name"
US_ROLE = "us-role"
US_SCOPE = "us-scope"
US_PASSWORD = "us-password"  # noqa: S105 - an element ID, not a password
US_ADD = "us-add"
US_PW_USER = "us-pw-user"
US_PW_PASSWORD = "us-pw-password"  # noqa: S105 - an element ID
US_PW_SET = "us-pw-set"
US_MESSAGE = "us-message"
AU = "admin-audit-page"
AU_ACTOR = "au-actor"
AU_ACTION = "au-action"
AU_LIMIT = "au-limit"
AU_OFFSET = "au-offset"  # store: entries skipped (the page shown)
AU_NEWER = "au-newer"
AU_OLDER = "au-older"
AU_SHOWING = "au-showing"
AU_LIST = "au-list"
AU_ROW = "au-row"  # each row's class


def tg_field(name: str) -> str:
    """The form's input for a target's field: ``tg-min-volume``."""
    return f"tg-{name.replace('_', '-')}"


def tg_error(name: str) -> str:
    """Where the form says what is wrong with a field: ``tg-min-volume-error``."""
    return f"{tg_field(name)}-error"
