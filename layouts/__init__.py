"""Page layouts of the dashboard: pure functions returning Dash components."""
