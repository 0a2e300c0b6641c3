"""docker-compose.yml cannot run here (no Docker engine), so its wiring is checked against the code."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer.main
import yaml

from ioc.cli import app
from ioc.settings import SETTINGS, Settings

SECRETS = ("IOC_AUTH_SECRET", "IOC_OIDC_CLIENT_SECRET")  # also read from a file named by <name>_FILE

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def project_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose["services"].items() if "build" in s}


def test_servers_use_the_official_images(compose):
    images = {name: s.get("image", "") for name, s in compose["services"].items()}
    assert images["kafka"].startswith("apache/kafka:4.")
    assert re.fullmatch(r"timescale/timescaledb:[\d.]+-pg15", images["timescaledb"])
    assert images["redis"].startswith("redis:")
    for name in ("kafka", "timescaledb", "redis"):
        service = compose["services"][name]
        assert "healthcheck" in service, name
        assert service["restart"] == "unless-stopped", name
        assert any(str(v).split(":")[0] in compose["volumes"] for v in service["volumes"]), name


def test_kafka_runs_kraft_on_one_node(compose):
    env = compose["services"]["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == 1
    assert "zookeeper" not in str(env).lower()


def test_project_services_use_only_known_settings_that_parse(compose, tmp_path):
    known = {s.name for s in SETTINGS} | {f"{name}_FILE" for name in SECRETS}
    services = project_services(compose)
    assert {"migrate", "refdata", "ingest", "simulate"} <= set(services)
    assert services["ingest"]["deploy"]["replicas"] == 2
    assert services["simulate"]["profiles"] == ["demo"]
    for name, service in services.items():
        env = {k: str(v) for k, v in service["environment"].items()}
        assert set(env) <= known, f"{name}: unknown {set(env) - known}"
        env = {k: v.replace("${IOC_DB_PASSWORD:-ioc}", "ioc") for k, v in env.items()}
        mounted = {f"/run/secrets/{name}": name for name in service.get("secrets", [])}
        for key, path in list(env.items()):
            if key.endswith("_FILE"):
                assert path in mounted, f"{name}: {key}={path} is not a secret of the service"
                secret = tmp_path / mounted[path]
                secret.write_text("x" * 48)
                env[key] = str(secret)
        Settings.from_env(env)  # raises ConfigError on a bad value


def test_the_dashboard_signs_cookies_and_a_first_admin_can_sign_in(compose):
    services = project_services(compose)
    assert "IOC_AUTH_SECRET_FILE" in services["dashboard"]["environment"]
    assert set(compose["secrets"]) == {"auth-secret", "admin-password"}
    command = services["first-admin"]["command"]
    assert command[:2] == ["users", "add"]
    assert "--if-missing" in command
    assert command[command.index("--password-file") + 1] == "/run/secrets/admin-password"


def test_urls_reach_the_servers_as_compose_configures_them(compose):
    services = compose["services"]
    env = Settings.from_env(
        {
            k: str(v).replace("${IOC_DB_PASSWORD:-ioc}", "ioc")
            for k, v in services["migrate"]["environment"].items()
        }
    )
    advertised = services["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert env.kafka_bootstrap == (advertised.removeprefix("PLAINTEXT://"),)
    db = urlsplit(env.database_url)
    pg = services["timescaledb"]["environment"]
    assert (db.hostname, db.port, db.username, db.path) == (
        "timescaledb",
        5432,
        pg["POSTGRES_USER"],
        f"/{pg['POSTGRES_DB']}",
    )
    assert urlsplit(env.redis_url).hostname == "redis"
    assert services["migrate"]["depends_on"]["timescaledb"]["condition"] == "service_healthy"


def test_dockerfile_copies_every_package(compose):
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in packages["include"]:
        top = package.split(".")[0]
        assert f"COPY {top} ./{top}" in dockerfile, top


def test_project_services_run_commands_the_cli_has(compose):
    commands = typer.main.get_command(app).commands
    for name, service in project_services(compose).items():
        assert service["command"][0] in commands, name


def test_long_running_services_have_health_checks_and_restart(compose):
    services = compose["services"]
    for name in ("kafka", "timescaledb", "redis", "ingest", "alerts", "dashboard"):
        assert "healthcheck" in services[name], name
        assert services[name]["restart"] == "unless-stopped", name
    for name in ("ingest", "alerts"):
        command = services[name]["command"]
        port = command[command.index("--metrics-port") + 1]
        assert f"127.0.0.1:{port}/metrics" in " ".join(services[name]["healthcheck"]["test"]), name
