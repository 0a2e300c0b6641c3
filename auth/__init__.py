"""Sign-in, roles and scopes, kiosk links and the audit trail (issue 7), free of Dash.

``model`` (roles, the closed set of actions, ``may``, ``in_scope``; pure), ``passwords``
(argon2id), ``users`` (the users table), ``throttle`` (slowing repeated failures, shared by every
worker through PostgreSQL), ``signin`` (one call per sign-in form: throttle, check, audit,
session), ``sessions`` (what a cookie holds and the check each request makes), ``kiosk``
(read-only links for wall displays), ``audit`` (who did what, when), ``cli`` (``ioc users``,
``ioc kiosk``, ``ioc audit``).
"""
