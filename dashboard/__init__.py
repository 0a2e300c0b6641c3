"""The Dash app factory and its WSGI server (wall display, operator views, alerts)."""
