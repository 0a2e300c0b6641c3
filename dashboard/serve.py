"""``ioc serve``: the dashboard under gunicorn, with several worker processes.

Each worker builds its own app from the settings (``create_app``); they share nothing but
PostgreSQL and Redis, so a request may land on any of them.
"""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from dashboard import guard, metrics, scenes
from dashboard.app import create_app
from ioc.settings import Settings


class DashboardServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self._settings = settings
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return create_app(self._settings).server


def serve(settings: Settings, *, host: str, port: int, workers: int) -> None:
    """Run until SIGTERM or Ctrl-C (gunicorn stops its workers gracefully).

    A scenes file the wall cannot use, or a missing IOC_AUTH_SECRET, stops here, with its
    message, before any worker starts. The workers count their requests into one private folder
    (``PROMETHEUS_MULTIPROC_DIR``), removed at the end.
    """
    scenes.load(settings.wall_scenes)
    guard.require_secret(settings)
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "sync",
        "timeout": 60,
        "graceful_timeout": 10,
        "accesslog": "-",
        "errorlog": "-",
        "preload_app": False,  # each worker connects on its own
    }
    folder, made = metrics.multiprocess_dir()  # before the workers fork: /metrics adds theirs up
    try:
        DashboardServer(settings, options).run()
    finally:
        if made:
            metrics.remove_dir(folder)
