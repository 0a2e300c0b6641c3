from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ioc.errors import ConfigError
from ioc.settings import SETTINGS, Settings, redact


def test_defaults_point_at_the_local_stack():
    s = Settings.from_env({})
    assert s.kafka_bootstrap == ("127.0.0.1:19092",)
    assert s.database_url == "postgresql://ioc@127.0.0.1:15432/ioc"
    assert s.redis_url == "redis://127.0.0.1:16379/0"
    assert s.topic == "dvc.application-events"
    assert s.timezone == ZoneInfo("Asia/Ho_Chi_Minh")
    assert s.stack.root == Path(".stack").absolute()


def test_stack_ports_carry_into_the_default_urls():
    s = Settings.from_env(
        {"IOC_STACK_KAFKA_PORT": "29092", "IOC_STACK_POSTGRES_PORT": "25432", "IOC_STACK_REDIS_PORT": "26379"}
    )
    assert s.kafka_bootstrap == ("127.0.0.1:29092",)
    assert s.database_url.endswith("@127.0.0.1:25432/ioc")
    assert s.redis_url == "redis://127.0.0.1:26379/0"


def test_explicit_values_win():
    s = Settings.from_env(
        {
            "IOC_KAFKA_BOOTSTRAP": "k1:9092, k2:9092",
            "IOC_DATABASE_URL": "postgresql://u:p@db:5432/x",
            "IOC_TOPIC": "other.topic",
        }
    )
    assert s.kafka_bootstrap == ("k1:9092", "k2:9092")
    assert s.database_url == "postgresql://u:p@db:5432/x"
    assert s.topic == "other.topic"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("IOC_KAFKA_BOOTSTRAP", "localhost", "host:port"),
        ("IOC_KAFKA_BOOTSTRAP", "localhost:99999", "1..65535"),
        ("IOC_DATABASE_URL", "mysql://x@y/z", "postgresql://"),
        ("IOC_DATABASE_URL", "postgresql://x@y:5432", "names no database"),
        ("IOC_DATABASE_URL", "postgresql://x@y:port/db", "port"),
        ("IOC_REDIS_URL", "http://localhost:6379", "redis://"),
        ("IOC_TOPIC", "bad topic!", "Kafka topic"),
        ("IOC_TIMEZONE", "Mars/Olympus_Mons", "IANA time zone"),
        ("IOC_STACK_POSTGRES_PORT", "0", "1..65535"),
        ("IOC_STACK_REDIS_PORT", "many", "whole number"),
        ("IOC_RETENTION_DAYS", "-1", "0 or more"),
        ("IOC_STACK_KAFKA_VERSION", "3.9.0", "Kafka 4.x"),
    ],
)
def test_a_bad_value_names_the_setting_and_the_problem(name, value, expected):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({name: value})
    message = str(caught.value)
    assert message.startswith(f"{name}=")
    assert expected in message
    assert "\n" not in message


def test_passwords_are_never_shown():
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"IOC_DATABASE_URL": "postgresql://ioc:s3cret@db:5432"})
    assert "s3cret" not in str(caught.value)
    assert redact("redis://:pw@h:1/0") == "redis://:***@h:1/0"
    assert redact("postgresql://u@h/db") == "postgresql://u@h/db"


def test_every_setting_is_documented_in_readme():
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    for setting in SETTINGS:
        assert f"`{setting.name}`" in readme, setting.name
