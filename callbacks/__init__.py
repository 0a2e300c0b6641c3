"""Dash callbacks of the dashboard, each module registering its own on an app."""
