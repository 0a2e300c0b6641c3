"""KPIs of DOMAIN.md §3, defined once: the registry, the working-day calendar, a brute-force
reference computation from raw events, and the Decision 766 estimate. Pure Python, no I/O
except reading the package's own ``index766.yaml``.

Modules: ``registry`` (definitions, exact ratios, display), ``workdays`` (working-day calendar),
``reference`` (every KPI from a list of events, rule by rule), ``index766`` (the 100-point index).
"""
