pytest_plugins = [
    "tests.fix_auth",
    "tests.fix_stack",
    "tests.fix_db",
    "tests.fix_kafka",
    "tests.fix_redis",
    "tests.fix_browser",
]
