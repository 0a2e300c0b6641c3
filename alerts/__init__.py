"""Targets and alerts (DESIGN.md §7): what each unit should reach, and knowing when it slips."""
