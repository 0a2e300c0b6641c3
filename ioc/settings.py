"""Settings from ``IOC_*`` environment variables, validated once at start.

Every setting has a documented default (README, "Configuration"); the defaults point
at the local stack that ``ioc stack up`` starts, so a newcomer needs to set nothing.
A malformed value raises ``ConfigError`` naming the variable and what was wrong.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ioc.errors import ConfigError
from stack.layout import StackConfig

T = TypeVar("T")

_TOPIC = re.compile(r"[A-Za-z0-9._-]{1,249}")
_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")
_QUERY_PASSWORD = re.compile(r"([?&](?:ssl)?password=)[^&#]*", re.IGNORECASE)
_HOST_PORT = re.compile(r"(?P<host>\[[0-9A-Fa-f:]+\]|[A-Za-z0-9.-]+):(?P<port>\d{1,5})")


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, default and meaning (README lists them all)."""

    name: str
    default: str
    meaning: str


SETTINGS: tuple[Setting, ...] = (
    Setting("IOC_STACK_DIR", ".stack", "state folder of the local stack: data, logs, caches"),
    Setting("IOC_STACK_KAFKA_PORT", "19092", "port of the local Kafka broker"),
    Setting("IOC_STACK_KAFKA_CONTROLLER_PORT", "19093", "port of the local Kafka KRaft controller"),
    Setting("IOC_STACK_POSTGRES_PORT", "15432", "port of the local PostgreSQL"),
    Setting("IOC_STACK_REDIS_PORT", "16379", "port of the local Redis"),
    Setting("IOC_STACK_KAFKA_VERSION", "4.3.1", "Apache Kafka version resolved from Maven Central"),
    Setting(
        "IOC_KAFKA_BOOTSTRAP",
        "127.0.0.1:<IOC_STACK_KAFKA_PORT>",
        "Kafka bootstrap servers, host:port[,host:port]",
    ),
    Setting(
        "IOC_DATABASE_URL",
        "postgresql://ioc@127.0.0.1:<IOC_STACK_POSTGRES_PORT>/ioc",
        "PostgreSQL connection URL",
    ),
    Setting(
        "IOC_REDIS_URL",
        "redis://127.0.0.1:<IOC_STACK_REDIS_PORT>/0",
        "Redis URL (redis://, rediss:// or unix://)",
    ),
    Setting(
        "IOC_KAFKA_SECURITY_PROTOCOL",
        "PLAINTEXT",
        "how clients talk to Kafka: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL",
    ),
    Setting("IOC_KAFKA_SASL_MECHANISM", "PLAIN", "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"),
    Setting("IOC_KAFKA_SASL_USERNAME", "", "SASL user name (SASL_PLAINTEXT and SASL_SSL only)"),
    Setting(
        "IOC_KAFKA_SASL_PASSWORD",
        "",
        "SASL password; or IOC_KAFKA_SASL_PASSWORD_FILE, a file holding it",
    ),
    Setting(
        "IOC_KAFKA_SSL_CAFILE",
        "",
        "PEM file of the CAs that signed the brokers' certificates; empty: the system's CAs",
    ),
    Setting("IOC_KAFKA_SSL_CERTFILE", "", "PEM client certificate, for brokers that require one (mTLS)"),
    Setting("IOC_KAFKA_SSL_KEYFILE", "", "PEM private key of that certificate, if not inside it"),
    Setting("IOC_TOPIC", "dvc.application-events", "Kafka topic of application events"),
    Setting("IOC_TIMEZONE", "Asia/Ho_Chi_Minh", "time zone of days, weeks and months in KPIs"),
    Setting(
        "IOC_RETENTION_DAYS", "1096", "events older than this are dropped by `ioc db maintain`; 0 keeps all"
    ),
    Setting(
        "IOC_COMPRESS_AFTER_DAYS",
        "30",
        "chunks older than this are compressed where TimescaleDB's licence allows",
    ),
    Setting(
        "IOC_STALE_AFTER_S", "300", "seconds without a new event before the dashboard calls its data stale"
    ),
    Setting(
        "IOC_WALL_UNIT",
        "VN",
        "home unit of the wall display: VN (the whole country, its provinces) or a unit code",
    ),
    Setting(
        "IOC_WALL_SCENES",
        "<dashboard/scenes.example.yaml>",
        "YAML file of the wall display's scenes (KPI, period, seconds); default: the shipped example",
    ),
    Setting("IOC_DASHBOARD_POLL_MS", "2000", "how often open pages ask whether the data changed, ms"),
    Setting(
        "IOC_ALERTS_INTERVAL_S", "300", "seconds between two evaluations of every target by `ioc alerts`"
    ),
    Setting(
        "IOC_ALERTS_DEBOUNCE_S",
        "2",
        "seconds `ioc alerts` waits after ingest announces changes, to gather more",
    ),
    Setting("IOC_ALERTS_PENDING_S", "300", "seconds a breach must last before its alert fires"),
    Setting(
        "IOC_ALERTS_HYSTERESIS",
        "2",
        "how much better than the threshold a firing alert's value must be to resolve, in the threshold's"
        " unit (percentage points for ratios)",
    ),
    Setting("IOC_ALERTS_RESOLVE_S", "0", "seconds the value must stay that much better before resolving"),
    Setting("IOC_ALERTS_WEBHOOKS", "", "comma-separated URLs each firing and resolved alert is POSTed to"),
    Setting("IOC_ALERTS_WEBHOOK_TIMEOUT_S", "5", "seconds a webhook may take to answer"),
    Setting("IOC_ALERTS_RETRY_BASE_S", "5", "first retry of a failed webhook after this, doubling each time"),
    Setting("IOC_ALERTS_RETRY_MAX_S", "3600", "longest wait between two retries of a webhook"),
    Setting("IOC_ALERTS_RETRY_ATTEMPTS", "20", "attempts before a webhook is given up; 0 retries forever"),
    Setting("IOC_ALERTS_STANDBY_S", "5", "how often a standby `ioc alerts` tries to take over"),
    Setting("IOC_AUTH_SESSION_S", "43200", "seconds a sign-in lasts before the user must sign in again"),
    Setting(
        "IOC_AUTH_THROTTLE_WINDOW_S", "900", "seconds over which failed sign-ins are counted by the throttle"
    ),
    Setting(
        "IOC_AUTH_THROTTLE_FREE",
        "5",
        "failed sign-ins of one username within the window before each further attempt must wait",
    ),
    Setting(
        "IOC_AUTH_THROTTLE_ADDRESS_FREE",
        "50",
        "failed sign-ins from one client address within the window before each further attempt must wait",
    ),
    Setting("IOC_AUTH_THROTTLE_MAX_S", "300", "longest wait the throttle imposes between two attempts"),
    Setting(
        "IOC_AUTH_SECRET",
        "",
        "key that signs the dashboard's cookies, 32 characters or more, the same for every worker;"
        " or IOC_AUTH_SECRET_FILE, a file holding it. `ioc serve` refuses to start without one;"
        " `ioc up` keeps one under the stack folder",
    ),
    Setting(
        "IOC_METRICS_TOKEN",
        "",
        "bearer token a Prometheus scraper sends for the dashboard's /metrics; or IOC_METRICS_TOKEN_FILE;"
        " empty: /metrics answers 404",
    ),
    Setting(
        "IOC_AUTH_COOKIE_SECURE",
        "auto",
        "Secure flag of the cookies: auto (when the request came over HTTPS), 1 (always) or 0",
    ),
    Setting(
        "IOC_AUTH_PROXIES",
        "0",
        "reverse proxies in front of the dashboard whose X-Forwarded-For/-Proto to trust (client address"
        " of the throttle and audit, HTTPS)",
    ),
    Setting(
        "IOC_OIDC_ISSUER", "", "OpenID Connect issuer URL (e.g. a Keycloak realm); empty: local accounts only"
    ),
    Setting("IOC_OIDC_CLIENT_ID", "", "OpenID Connect client id of the dashboard"),
    Setting(
        "IOC_OIDC_CLIENT_SECRET",
        "",
        "OpenID Connect client secret; or IOC_OIDC_CLIENT_SECRET_FILE, a file holding it",
    ),
    Setting("IOC_OIDC_SCOPES", "openid profile email", "scopes the dashboard asks the identity server for"),
    Setting(
        "IOC_OIDC_USERNAME_CLAIM",
        "preferred_username",
        "ID-token claim naming the local user (`ioc users add`) whose role and scope apply",
    ),
)
_DEFAULTS = {s.name: s.default for s in SETTINGS}


@dataclass(frozen=True)
class AlertSettings:
    """The alert engine's timings and webhooks (``IOC_ALERTS_*``)."""

    interval_s: float = 300.0
    debounce_s: float = 2.0
    pending_s: float = 300.0
    hysteresis: Decimal = Decimal(2)  # in the threshold's unit: percentage points for ratios
    resolve_s: float = 0.0
    webhooks: tuple[str, ...] = ()
    webhook_timeout_s: float = 5.0
    retry_base_s: float = 5.0
    retry_max_s: float = 3600.0
    retry_attempts: int = 20  # 0: forever
    standby_s: float = 5.0


@dataclass(frozen=True)
class AuthSettings:
    """Sessions and the sign-in throttle (``IOC_AUTH_*``)."""

    session_s: float = 43200.0
    throttle_window_s: float = 900.0
    throttle_free: int = 5
    throttle_address_free: int = 50
    throttle_max_s: float = 300.0
    secret: str = field(default="", repr=False)
    cookie_secure: bool | None = None  # None: when the request came over HTTPS
    proxies: int = 0
    oidc: OidcSettings | None = None
    metrics_token: str = field(default="", repr=False)  # the dashboard's /metrics; "" : no /metrics


@dataclass(frozen=True)
class OidcSettings:
    """Sign-in through an OpenID Connect identity server (``IOC_OIDC_*``); None when not configured."""

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: tuple[str, ...]
    username_claim: str


KAFKA_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
KAFKA_SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclass(frozen=True)
class KafkaSecurity:
    """How Kafka clients authenticate and encrypt (``IOC_KAFKA_SECURITY_PROTOCOL``, ``_SASL_*``,
    ``_SSL_*``); the default is the local stack's PLAINTEXT broker."""

    protocol: str = "PLAINTEXT"
    sasl_mechanism: str = "PLAIN"
    sasl_username: str = ""
    sasl_password: str = field(default="", repr=False)
    ssl_cafile: Path | None = None  # None: the system's CAs
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None

    @property
    def sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        return self.protocol.endswith("SSL")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> KafkaSecurity:
        """Only the Kafka security settings: for code handed bootstrap servers rather than Settings."""
        return _kafka_security(os.environ if environ is None else environ)


@dataclass(frozen=True)
class Settings:
    """The validated configuration of one process."""

    stack: StackConfig
    kafka_bootstrap: tuple[str, ...]
    database_url: str
    redis_url: str
    topic: str
    timezone: ZoneInfo
    retention_days: int
    compress_after_days: int
    stale_after_s: int
    wall_unit: str = "VN"
    wall_scenes: Path | None = None  # None: the shipped dashboard/scenes.example.yaml
    poll_ms: int = 2000
    alerts: AlertSettings = field(default_factory=AlertSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    kafka_security: KafkaSecurity = field(default_factory=KafkaSecurity)

    def __repr__(self) -> str:
        """The dataclass's repr with URL passwords masked, so logging Settings leaks nothing."""
        shown = (f"{f.name}={_masked(getattr(self, f.name))!r}" for f in fields(self))
        return f"{type(self).__name__}({', '.join(shown)})"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every setting; raise ConfigError on the first bad one."""
        env = os.environ if environ is None else environ

        def get(name: str, parse: Callable[[str], T]) -> T:
            raw = env.get(name, "").strip() or _DEFAULTS[name]
            try:
                return parse(raw)
            except ValueError as exc:
                msg = f"{name}={redact(raw)!r}: {exc}"
                raise ConfigError(msg) from None

        stack = StackConfig(
            root=get("IOC_STACK_DIR", Path).absolute(),
            kafka_port=get("IOC_STACK_KAFKA_PORT", _port),
            kafka_controller_port=get("IOC_STACK_KAFKA_CONTROLLER_PORT", _port),
            postgres_port=get("IOC_STACK_POSTGRES_PORT", _port),
            redis_port=get("IOC_STACK_REDIS_PORT", _port),
            kafka_version=get("IOC_STACK_KAFKA_VERSION", _kafka_version),
        )
        ports = {
            "<IOC_STACK_KAFKA_PORT>": str(stack.kafka_port),
            "<IOC_STACK_POSTGRES_PORT>": str(stack.postgres_port),
            "<IOC_STACK_REDIS_PORT>": str(stack.redis_port),
        }

        def get_url(name: str, parse: Callable[[str], T]) -> T:
            def with_ports(raw: str) -> T:
                for placeholder, port in ports.items():
                    raw = raw.replace(placeholder, port)
                return parse(raw)

            return get(name, with_ports)

        return cls(
            stack=stack,
            kafka_bootstrap=get_url("IOC_KAFKA_BOOTSTRAP", _bootstrap),
            database_url=get_url("IOC_DATABASE_URL", _database_url),
            redis_url=get_url("IOC_REDIS_URL", _redis_url),
            topic=get("IOC_TOPIC", _topic),
            timezone=get("IOC_TIMEZONE", _timezone),
            retention_days=get("IOC_RETENTION_DAYS", _non_negative),
            compress_after_days=get("IOC_COMPRESS_AFTER_DAYS", _non_negative),
            stale_after_s=get("IOC_STALE_AFTER_S", _non_negative),
            wall_unit=get("IOC_WALL_UNIT", _unit_code),
            wall_scenes=get("IOC_WALL_SCENES", _optional_path),
            poll_ms=get("IOC_DASHBOARD_POLL_MS", _poll_ms),
            alerts=AlertSettings(
                interval_s=get("IOC_ALERTS_INTERVAL_S", _positive_seconds),
                debounce_s=get("IOC_ALERTS_DEBOUNCE_S", _seconds),
                pending_s=get("IOC_ALERTS_PENDING_S", _seconds),
                hysteresis=get("IOC_ALERTS_HYSTERESIS", _margin),
                resolve_s=get("IOC_ALERTS_RESOLVE_S", _seconds),
                webhooks=get("IOC_ALERTS_WEBHOOKS", _webhooks),
                webhook_timeout_s=get("IOC_ALERTS_WEBHOOK_TIMEOUT_S", _positive_seconds),
                retry_base_s=get("IOC_ALERTS_RETRY_BASE_S", _positive_seconds),
                retry_max_s=get("IOC_ALERTS_RETRY_MAX_S", _positive_seconds),
                retry_attempts=get("IOC_ALERTS_RETRY_ATTEMPTS", _non_negative),
                standby_s=get("IOC_ALERTS_STANDBY_S", _positive_seconds),
            ),
            auth=AuthSettings(
                session_s=get("IOC_AUTH_SESSION_S", _positive_seconds),
                throttle_window_s=get("IOC_AUTH_THROTTLE_WINDOW_S", _positive_seconds),
                throttle_free=get("IOC_AUTH_THROTTLE_FREE", _positive),
                throttle_address_free=get("IOC_AUTH_THROTTLE_ADDRESS_FREE", _positive),
                throttle_max_s=get("IOC_AUTH_THROTTLE_MAX_S", _positive_seconds),
                secret=_secret(env, "IOC_AUTH_SECRET", _auth_secret),
                cookie_secure=get("IOC_AUTH_COOKIE_SECURE", _auto_flag),
                proxies=get("IOC_AUTH_PROXIES", _non_negative),
                oidc=_oidc(env),
                metrics_token=_secret(env, "IOC_METRICS_TOKEN"),
            ),
            kafka_security=_kafka_security(env),
        )


def _masked(value: object) -> object:
    return redact(value) if isinstance(value, str) else value


def _kafka_security(env: Mapping[str, str]) -> KafkaSecurity:
    """The Kafka security settings, checked as a whole: a half-configured SASL or TLS setup is
    refused at start rather than failing later as an opaque broker disconnect."""

    def get(name: str) -> str:
        return env.get(name, "").strip() or _DEFAULTS[name]

    protocol = get("IOC_KAFKA_SECURITY_PROTOCOL").upper()
    if protocol not in KAFKA_PROTOCOLS:
        msg = f"IOC_KAFKA_SECURITY_PROTOCOL={protocol!r}: expected one of {', '.join(KAFKA_PROTOCOLS)}"
        raise ConfigError(msg)
    mechanism = get("IOC_KAFKA_SASL_MECHANISM").upper()
    if mechanism not in KAFKA_SASL_MECHANISMS:
        msg = f"IOC_KAFKA_SASL_MECHANISM={mechanism!r}: expected one of {', '.join(KAFKA_SASL_MECHANISMS)}"
        raise ConfigError(msg)
    security = KafkaSecurity(
        protocol=protocol,
        sasl_mechanism=mechanism,
        sasl_username=get("IOC_KAFKA_SASL_USERNAME"),
        sasl_password=_secret(env, "IOC_KAFKA_SASL_PASSWORD"),
        ssl_cafile=_pem_file(env, "IOC_KAFKA_SSL_CAFILE"),
        ssl_certfile=_pem_file(env, "IOC_KAFKA_SSL_CERTFILE"),
        ssl_keyfile=_pem_file(env, "IOC_KAFKA_SSL_KEYFILE"),
    )
    if security.sasl and not (security.sasl_username and security.sasl_password):
        msg = (
            f"IOC_KAFKA_SECURITY_PROTOCOL={protocol}: set IOC_KAFKA_SASL_USERNAME and"
            " IOC_KAFKA_SASL_PASSWORD (or IOC_KAFKA_SASL_PASSWORD_FILE)"
        )
        raise ConfigError(msg)
    if not security.sasl and (security.sasl_username or security.sasl_password):
        msg = (
            f"IOC_KAFKA_SASL_USERNAME/PASSWORD are set but IOC_KAFKA_SECURITY_PROTOCOL={protocol}"
            " does not use SASL: choose SASL_SSL (or SASL_PLAINTEXT)"
        )
        raise ConfigError(msg)
    tls_files = security.ssl_cafile or security.ssl_certfile or security.ssl_keyfile
    if not security.tls and tls_files:
        msg = (
            f"IOC_KAFKA_SSL_* files are set but IOC_KAFKA_SECURITY_PROTOCOL={protocol}"
            " does not use TLS: choose SSL or SASL_SSL"
        )
        raise ConfigError(msg)
    if security.ssl_keyfile and not security.ssl_certfile:
        msg = "IOC_KAFKA_SSL_KEYFILE is set without IOC_KAFKA_SSL_CERTFILE, the certificate it belongs to"
        raise ConfigError(msg)
    return security


def _pem_file(env: Mapping[str, str], name: str) -> Path | None:
    """A file the TLS client reads at connect time: checked now, so a typo fails at start."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    path = Path(raw)
    if not path.is_file():
        msg = f"{name}={raw!r}: no such file"
        raise ConfigError(msg)
    return path


def _secret(env: Mapping[str, str], name: str, parse: Callable[[str], str] = str) -> str:
    """The secret ``name`` from the environment, or from the file ``<name>_FILE`` names (a mounted
    Docker or Kubernetes secret); never echoed in an error."""
    raw = env.get(name, "").strip()
    path = env.get(f"{name}_FILE", "").strip()
    if raw and path:
        msg = f"{name} and {name}_FILE are both set: keep one"
        raise ConfigError(msg)
    if path:
        try:
            raw = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            msg = f"{name}_FILE={path!r}: cannot read it ({exc.strerror})"
            raise ConfigError(msg) from None
    try:
        return parse(raw) if raw else ""
    except ValueError as exc:
        msg = f"{name}: {exc}"
        raise ConfigError(msg) from None


def _oidc(env: Mapping[str, str]) -> OidcSettings | None:
    issuer = env.get("IOC_OIDC_ISSUER", "").strip()
    if not issuer:
        return None
    parts = urlsplit(issuer)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        msg = f"IOC_OIDC_ISSUER={issuer!r}: expected an https:// URL"
        raise ConfigError(msg)
    client_id = env.get("IOC_OIDC_CLIENT_ID", "").strip()
    if not client_id:
        msg = "IOC_OIDC_ISSUER is set but IOC_OIDC_CLIENT_ID is not"
        raise ConfigError(msg)
    return OidcSettings(
        issuer=issuer.rstrip("/"),
        client_id=client_id,
        client_secret=_secret(env, "IOC_OIDC_CLIENT_SECRET"),
        scopes=tuple((env.get("IOC_OIDC_SCOPES", "").strip() or _DEFAULTS["IOC_OIDC_SCOPES"]).split()),
        username_claim=env.get("IOC_OIDC_USERNAME_CLAIM", "").strip() or _DEFAULTS["IOC_OIDC_USERNAME_CLAIM"],
    )


def redact(value: str) -> str:
    """``value`` with the password of a URL replaced by ``***``, safe to print or log: the one in
    ``user:password@`` and libpq's ``?password=`` / ``?sslpassword=`` parameters."""
    return _QUERY_PASSWORD.sub(r"\1***", _PASSWORD.sub(r"\1***@", value))


def _port(raw: str) -> int:
    port = _int(raw)
    if not 1 <= port <= 65535:
        msg = f"a port is 1..65535, got {port}"
        raise ValueError(msg)
    return port


def _int(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        msg = "expected a whole number"
        raise ValueError(msg) from None


def _non_negative(raw: str) -> int:
    value = _int(raw)
    if value < 0:
        msg = f"expected 0 or more, got {value}"
        raise ValueError(msg)
    return value


def _positive(raw: str) -> int:
    value = _int(raw)
    if value < 1:
        msg = f"expected 1 or more, got {value}"
        raise ValueError(msg)
    return value


def _kafka_version(raw: str) -> str:
    if not re.fullmatch(r"4\.\d+\.\d+", raw):
        msg = "expected an Apache Kafka 4.x version such as 4.3.1"
        raise ValueError(msg)
    return raw


def _bootstrap(raw: str) -> tuple[str, ...]:
    servers = tuple(part.strip() for part in raw.split(",") if part.strip())
    for server in servers:
        match = _HOST_PORT.fullmatch(server)
        if match is None:
            msg = f"expected host:port[,host:port], got {server!r}"
            raise ValueError(msg)
        _port(match["port"])
    if not servers:
        msg = "expected at least one host:port"
        raise ValueError(msg)
    return servers


def _database_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("postgresql", "postgres"):
        msg = "expected a postgresql://user@host:port/database URL"
        raise ValueError(msg)
    try:
        parts.port  # noqa: B018 - urlsplit validates the port lazily
    except ValueError:
        msg = "the port is not a number in 1..65535"
        raise ValueError(msg) from None
    if not parts.path.strip("/"):
        msg = "the URL names no database (…/ioc at the end)"
        raise ValueError(msg)
    return raw


def _redis_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("redis", "rediss", "unix"):
        msg = "expected a redis://host:port/db, rediss:// or unix:// URL"
        raise ValueError(msg)
    try:
        parts.port  # noqa: B018
    except ValueError:
        msg = "the port is not a number in 1..65535"
        raise ValueError(msg) from None
    return raw


def _topic(raw: str) -> str:
    if not _TOPIC.fullmatch(raw) or raw in (".", ".."):
        msg = "a Kafka topic is 1-249 of the characters A-Z a-z 0-9 . _ -"
        raise ValueError(msg)
    return raw


def _timezone(raw: str) -> ZoneInfo:
    try:
        return ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        msg = "not an IANA time zone name such as Asia/Ho_Chi_Minh"
        raise ValueError(msg) from None


def _unit_code(raw: str) -> str:
    if raw != "VN" and not re.fullmatch(r"\d{2}|\d{3}|\d{5}", raw):
        msg = "expected VN (the whole country) or a unit code of 2, 3 or 5 digits"
        raise ValueError(msg)
    return raw


def _optional_path(raw: str) -> Path | None:
    return None if raw.startswith("<") else Path(raw)


def _poll_ms(raw: str) -> int:
    value = _int(raw)
    if not 500 <= value <= 60_000:
        msg = f"expected 500..60000 milliseconds, got {value}"
        raise ValueError(msg)
    return value


def _seconds(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        msg = "expected a number of seconds"
        raise ValueError(msg) from None
    if not 0 <= value < float("inf"):
        msg = f"expected 0 or more seconds, got {raw}"
        raise ValueError(msg)
    return value


def _positive_seconds(raw: str) -> float:
    value = _seconds(raw)
    if value <= 0:
        msg = f"expected more than 0 seconds, got {raw}"
        raise ValueError(msg)
    return value


def _margin(raw: str) -> Decimal:
    try:
        value = Decimal(raw)
    except InvalidOperation:
        msg = "expected a number such as 2"
        raise ValueError(msg) from None
    if not value.is_finite() or value < 0:
        msg = f"expected a number 0 or more, got {raw}"
        raise ValueError(msg)
    return value


def _auth_secret(raw: str) -> str:
    if len(raw) < 32:
        msg = f"expected 32 characters or more, got {len(raw)} (make one with: openssl rand -base64 48)"
        raise ValueError(msg)
    return raw


def _auto_flag(raw: str) -> bool | None:
    choices: dict[str, bool | None] = {"auto": None, "1": True, "true": True, "0": False, "false": False}
    if raw.lower() not in choices:
        msg = "expected auto, 1 or 0"
        raise ValueError(msg)
    return choices[raw.lower()]


def _webhooks(raw: str) -> tuple[str, ...]:
    urls = tuple(part.strip() for part in raw.split(",") if part.strip())
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            msg = f"expected http:// or https:// URLs separated by commas, got {redact(url)!r}"
            raise ValueError(msg)
    return urls
