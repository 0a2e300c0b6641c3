"""The alert engine's settings (IOC_ALERTS_*): documented defaults, and one clear line for a bad value."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ioc.errors import ConfigError
from ioc.settings import AlertSettings, Settings


def test_defaults_and_explicit_values():
    assert Settings.from_env({}).alerts == AlertSettings()
    chosen = Settings.from_env(
        {
            "IOC_ALERTS_INTERVAL_S": "0.5",
            "IOC_ALERTS_PENDING_S": "0",
            "IOC_ALERTS_HYSTERESIS": "1.5",
            "IOC_ALERTS_WEBHOOKS": "http://a.example/hook, https://b.example:8443/x?y=1",
            "IOC_ALERTS_RETRY_ATTEMPTS": "0",
        }
    ).alerts
    assert chosen.interval_s == 0.5
    assert chosen.pending_s == 0
    assert chosen.hysteresis == Decimal("1.5")
    assert chosen.webhooks == ("http://a.example/hook", "https://b.example:8443/x?y=1")
    assert chosen.retry_attempts == 0


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("IOC_ALERTS_INTERVAL_S", "0", "more than 0"),
        ("IOC_ALERTS_PENDING_S", "-1", "0 or more"),
        ("IOC_ALERTS_PENDING_S", "soon", "seconds"),
        ("IOC_ALERTS_HYSTERESIS", "-2", "0 or more"),
        ("IOC_ALERTS_HYSTERESIS", "two", "number"),
        ("IOC_ALERTS_WEBHOOKS", "ftp://x/y", "http://"),
        ("IOC_ALERTS_WEBHOOKS", "http://ok/x,notaurl", "http://"),
        ("IOC_ALERTS_RETRY_ATTEMPTS", "-1", "0 or more"),
    ],
)
def test_a_bad_value_names_the_setting(name, value, expected):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({name: value})
    assert str(caught.value).startswith(f"{name}=")
    assert expected in str(caught.value)


def test_webhook_passwords_are_not_shown():
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"IOC_ALERTS_WEBHOOKS": "ftp://user:s3cret@host/x"})
    assert "s3cret" not in str(caught.value)
