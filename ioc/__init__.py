"""The ``ioc`` command and the settings every part of the system shares."""
