"""Page layouts of the dashboard: pure functions returning Dash components.

Modules: ``common`` (the shell, footer, messages, links between pages), ``wall`` (``/wall``),
``operator`` (``/``), ``alerts`` (``/alerts``), ``targets`` (``/targets``), ``status``
(``/status``), ``figures`` (map, sparkline, trend, bars), ``ids`` (every ID).

Stable element IDs (constants in ``layouts.ids``), for browser tests and styling:

Every page
    ``url`` (dcc.Location), ``page`` (the routed page), ``footer`` (status and map attributions),
    ``status`` (system status in the footer), ``message`` (a full-page message: unknown unit,
    unknown page, database down, no data yet), ``page-lang`` (store: ``vi`` or ``en``).

Wall display ``/wall`` (``?unit=CODE`` and ``?lang=en`` optional)
    ``wall`` (root; class ``wall stale`` when the data is stale), ``wall-title`` (home unit),
    ``wall-clock``, ``wall-age`` (data age), ``wall-stale-banner`` (hidden unless stale),
    ``wall-error``, ``wall-map`` (choropleth graph), ``wall-map-title``, ``wall-map-note``
    (what the colours mean), ``wall-tiles``, tiles by KPI key as dict IDs
    ``{"type": "wall-tile-value" | "wall-tile-target" | "wall-tile-change" | "wall-tile-spark",
    "kpi": key}``, ``wall-counters`` with ``{"type": "wall-counter-value", "kpi": key}``,
    ``wall-ticker`` (list of the latest events), ``wall-alerts`` (the firing alerts of the home
    unit's subtree, each a ``li.wall-alert.alert-<severity>``), ``wall-alert-count`` (store) and
    ``wall-alert-cue`` (pulses while alerts fire), ``wall-state`` and
    ``wall-poll`` (store and timer), ``wall-offline-banner`` (hidden unless the server has not
    answered for a while; the figures behind it dimmed), ``wall-answered`` (store: stamped by
    every answer) and ``wall-watchdog`` (the browser's own timer that watches those stamps).

Operator view ``/``
    ``operator`` (root), ``lang-switch`` (link to the other language), ``op-period``,
    ``op-dates`` (custom range, inside ``op-dates-wrap``), ``op-kpi``, ``op-agency``,
    ``op-procedure``, ``op-channel`` (filters), ``op-breadcrumb`` with
    ``{"type": "op-crumb", "unit": code}`` buttons (the last one, the current unit, a span),
    ``op-title``, ``op-map`` (choropleth graph; click a unit to drill), ``op-map-note``,
    ``op-table`` (DataTable: name, code, value, target, gap, volume), ``op-export`` (button)
    and ``op-download``, ``op-series`` (trend with target line), ``op-by-agency``,
    ``op-by-procedure``, ``op-message``, ``op-unit``, ``op-version``, ``op-poll``,
    ``op-alert-banner`` (the alerts firing in the current unit and below it, with a link to
    ``/alerts``; empty when none), ``nav`` (links to the other pages).

Alerts ``/alerts`` (``?unit=CODE``, ``?show=all`` and ``?lang=en`` optional)
    ``alerts-page`` (root), ``al-show`` (active or all), ``al-name`` (who acknowledges) and
    ``al-name-error``, ``al-message``, ``al-count``, ``al-list`` (the table; each row
    ``al-row-<alert id>``, its acknowledge button ``{"type": "al-ack", "alert": id}``),
    ``al-unit``, ``al-version``, ``al-poll``.

Targets ``/targets`` (``?lang=en`` optional)
    ``targets-page`` (root), ``tg-list`` (the table, rows ``tr.tg-row``, each with its button
    ``{"type": "tg-edit", "name": target name}``), ``tg-form`` with ``tg-form-title``, one input
    per field (``tg-name``, ``tg-kpi``, ``tg-unit``, ``tg-level``, ``tg-agency``,
    ``tg-comparison``, ``tg-threshold``, ``tg-window``, ``tg-min-volume``, ``tg-severity``) and
    under each ``<input id>-error``, ``tg-scope-error``, ``tg-save``, ``tg-delete``, ``tg-new``,
    ``tg-message``, ``tg-editing``, ``tg-version``, ``tg-poll``.
"""
