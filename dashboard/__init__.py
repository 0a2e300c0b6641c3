"""The Dash app factory and its WSGI server (wall display, operator views, system status).

``app.create_app(settings)`` is the public entry point (``serve.serve`` runs it under gunicorn).
Inside: ``data`` (every read: KPIs through ``kpi.queries`` and the Redis cache, reference data,
targets, the data version), ``pool`` (connections, opened after fork), ``maps`` (geometry served
once by URL), ``feed`` (the wall's own SQL: latest events, alerts), ``goals`` (which target
applies), ``scenes`` (the wall's rotation), ``view_state`` (the operator view's URL state),
``i18n`` (every word, Vietnamese and English, and locale formats), ``compress`` (gzip),
``health`` (``/healthz``), ``errors``.
"""
