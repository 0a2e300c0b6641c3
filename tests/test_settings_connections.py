"""Connecting to servers that require TLS or passwords: the Kafka security settings and the
kafka-python options they give, and our Redis clients against a Redis that requires a password."""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from ingest.kafka_options import kafka_client_options
from ingest.notify import VERSION_KEY, ChangeNotifier
from ioc.errors import ConfigError
from ioc.settings import KafkaSecurity, Settings, redact
from kpi.cache import KpiCache
from kpi.model import KpiValue
from tests.net import free_port

SECRET = "s3cr3t-Kafka-pw"
REDIS_SERVER = Path("/usr/bin/redis-server")


def _sasl_ssl(**extra: str) -> dict[str, str]:
    return {
        "IOC_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "IOC_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "IOC_KAFKA_SASL_USERNAME": "ioc-ingest",
        "IOC_KAFKA_SASL_PASSWORD": SECRET,
        **extra,
    }


@pytest.fixture
def ca_file(tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\n")
    return path


def test_plaintext_adds_nothing_to_kafka_python_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.kafka_security == KafkaSecurity()
    assert kafka_client_options(settings) == {}


def test_sasl_ssl_maps_onto_kafka_python_arguments(ca_file: Path) -> None:
    settings = Settings.from_env(_sasl_ssl(IOC_KAFKA_SSL_CAFILE=str(ca_file)))
    assert kafka_client_options(settings) == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "ioc-ingest",
        "sasl_plain_password": SECRET,
        "ssl_cafile": str(ca_file),
    }


def test_ssl_with_a_client_certificate(tmp_path: Path, ca_file: Path) -> None:
    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    cert.write_text("cert")
    key.write_text("key")
    env = {
        "IOC_KAFKA_SECURITY_PROTOCOL": "ssl",  # case does not matter
        "IOC_KAFKA_SSL_CAFILE": str(ca_file),
        "IOC_KAFKA_SSL_CERTFILE": str(cert),
        "IOC_KAFKA_SSL_KEYFILE": str(key),
    }
    assert kafka_client_options(Settings.from_env(env)) == {
        "security_protocol": "SSL",
        "ssl_cafile": str(ca_file),
        "ssl_certfile": str(cert),
        "ssl_keyfile": str(key),
    }


def test_sasl_plaintext_and_the_password_from_a_file(tmp_path: Path) -> None:
    secret_file = tmp_path / "kafka_password"
    secret_file.write_text(SECRET + "\n")
    env = {
        "IOC_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "IOC_KAFKA_SASL_USERNAME": "u",
        "IOC_KAFKA_SASL_PASSWORD_FILE": str(secret_file),
    }
    options = kafka_client_options(Settings.from_env(env).kafka_security)
    assert options == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "PLAIN",
        "sasl_plain_username": "u",
        "sasl_plain_password": SECRET,
    }


def test_no_argument_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The form used by ensure_topic/produce when a caller passes only bootstrap servers."""
    for name, value in _sasl_ssl().items():
        monkeypatch.setenv(name, value)
    assert kafka_client_options()["sasl_plain_password"] == SECRET


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"IOC_KAFKA_SECURITY_PROTOCOL": "TLS"}, "expected one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"),
        (_sasl_ssl(IOC_KAFKA_SASL_MECHANISM="GSSAPI"), "expected one of PLAIN, SCRAM-SHA-256"),
        (
            {"IOC_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"},
            "set IOC_KAFKA_SASL_USERNAME and IOC_KAFKA_SASL_PASSWORD",
        ),
        (_sasl_ssl(IOC_KAFKA_SASL_USERNAME=""), "set IOC_KAFKA_SASL_USERNAME"),
        (_sasl_ssl(IOC_KAFKA_SASL_PASSWORD=""), "IOC_KAFKA_SASL_PASSWORD_FILE"),
        (_sasl_ssl(IOC_KAFKA_SECURITY_PROTOCOL="SSL"), "does not use SASL: choose SASL_SSL"),
        (_sasl_ssl(IOC_KAFKA_SECURITY_PROTOCOL="PLAINTEXT"), "does not use SASL"),
        (_sasl_ssl(IOC_KAFKA_SASL_PASSWORD_FILE="/nonexistent"), "are both set"),
        (
            {**_sasl_ssl(IOC_KAFKA_SASL_PASSWORD=""), "IOC_KAFKA_SASL_PASSWORD_FILE": "/nonexistent/pw"},
            "IOC_KAFKA_SASL_PASSWORD_FILE='/nonexistent/pw': cannot read it",
        ),
        (
            _sasl_ssl(IOC_KAFKA_SSL_CAFILE="/nonexistent/ca.pem"),
            "IOC_KAFKA_SSL_CAFILE='/nonexistent/ca.pem': no such",
        ),
    ],
)
def test_a_half_done_setup_is_refused_without_echoing_the_secret(env: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    message = str(caught.value)
    assert expected in message
    assert SECRET not in message
    assert "\n" not in message


def test_tls_files_need_a_tls_protocol(ca_file: Path) -> None:
    with pytest.raises(ConfigError, match="does not use TLS: choose SSL or SASL_SSL"):
        Settings.from_env({"IOC_KAFKA_SSL_CAFILE": str(ca_file)})
    with pytest.raises(ConfigError, match="does not use TLS"):
        Settings.from_env(
            _sasl_ssl(IOC_KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT", IOC_KAFKA_SSL_CAFILE=str(ca_file))
        )


def test_a_key_needs_its_certificate(ca_file: Path) -> None:
    env = {"IOC_KAFKA_SECURITY_PROTOCOL": "SSL", "IOC_KAFKA_SSL_KEYFILE": str(ca_file)}
    with pytest.raises(ConfigError, match="IOC_KAFKA_SSL_KEYFILE is set without IOC_KAFKA_SSL_CERTFILE"):
        Settings.from_env(env)


def test_secrets_stay_out_of_repr() -> None:
    env = {
        **_sasl_ssl(),
        "IOC_DATABASE_URL": "postgresql://ioc:db-pw@db:5432/ioc?sslmode=verify-full&sslpassword=key-pw",
        "IOC_REDIS_URL": "rediss://:redis-pw@cache:6380/0?ssl_cert_reqs=required",
        "IOC_AUTH_SECRET": "x" * 40,
    }
    settings = Settings.from_env(env)
    shown = repr(settings)
    for secret in (SECRET, "db-pw", "key-pw", "redis-pw", "x" * 40):
        assert secret not in shown
    assert "sslmode=verify-full" in shown
    assert "ioc-ingest" in shown  # the user name is not a secret, and helps diagnose
    # the URLs themselves go through unchanged: libpq and redis-py read their parameters
    assert settings.database_url == env["IOC_DATABASE_URL"]
    assert settings.redis_url == env["IOC_REDIS_URL"]


def test_redact_masks_libpq_password_parameters() -> None:
    assert (
        redact("postgresql://u@h/db?password=pw&sslmode=require")
        == "postgresql://u@h/db?password=***&sslmode=require"
    )
    assert redact("postgresql://u:p@ss@h/db") == "postgresql://u:***@ss@h/db"
    assert "pw" not in redact("unix:///run/redis.sock?db=0&password=pw")


# --- a Redis that requires a password -------------------------------------------------------


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[int]:
    """A second redis-server of our own with ``--requirepass``; the local stack's has no password."""
    if not REDIS_SERVER.exists():
        pytest.skip("no /usr/bin/redis-server")
    port = free_port()
    args = [str(REDIS_SERVER), "--port", str(port), "--bind", "127.0.0.1", "--requirepass", "right-pw"]
    args += ["--save", "", "--appendonly", "no", "--dir", str(tmp_path)]
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        probe = redis.Redis(port=port, password="right-pw", socket_timeout=0.5)
        deadline = time.monotonic() + 5
        while True:
            try:
                probe.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.05)
        probe.close()
        yield port
    finally:
        server.terminate()
        server.wait(timeout=5)


def test_our_redis_clients_use_the_password_in_the_url(private_redis: int) -> None:
    url = Settings.from_env({"IOC_REDIS_URL": f"redis://:right-pw@127.0.0.1:{private_redis}/0"}).redis_url
    notifier = ChangeNotifier(url)
    try:
        assert notifier.publish(["01"]) is True
    finally:
        notifier.close()
    cache = KpiCache(url, prefix="test:")
    answer: dict[str, dict[str, KpiValue]] = {"01": {}}
    assert cache.answer({"q": 1}, lambda: answer) == answer
    assert cache.answer({"q": 1}, lambda: pytest.fail("not cached")) == answer
    check = redis.Redis.from_url(url)
    assert check.get(VERSION_KEY) == b"1"
    check.close()


def test_a_wrong_redis_password_is_a_clear_warning_that_does_not_echo_it(
    private_redis: int, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"redis://:wrong-pw@127.0.0.1:{private_redis}/0"
    notifier = ChangeNotifier(url)
    with caplog.at_level(logging.WARNING):
        try:
            assert notifier.publish(["01"]) is False  # ingest goes on; the change is kept for later
        finally:
            notifier.close()
    text = caplog.text
    assert "Redis unreachable" in text
    assert "invalid username-password pair" in text or "WRONGPASS" in text, text
    assert "wrong-pw" not in text
    with pytest.raises(redis.AuthenticationError):
        redis.Redis.from_url(url).ping()
