"""The kafka-python keyword arguments of the configured Kafka security, one mapping for all clients.

Every consumer, producer and admin client the product builds passes these, so a broker that
requires SASL or TLS is reached the same way by ingest, the simulator, the topic check and the
benchmarks; the mapping is empty for PLAINTEXT, leaving kafka-python's defaults untouched.
"""

from __future__ import annotations

from typing import Any

from ioc.settings import KafkaSecurity, Settings


def kafka_client_options(config: Settings | KafkaSecurity | None = None) -> dict[str, Any]:
    """Keyword arguments for KafkaConsumer / KafkaProducer / KafkaAdminClient.

    ``None`` reads ``IOC_KAFKA_*`` from the environment: for code handed bootstrap servers
    rather than Settings, so no caller can forget the security settings.
    """
    if config is None:
        security = KafkaSecurity.from_env()
    elif isinstance(config, Settings):
        security = config.kafka_security
    else:
        security = config
    if security.protocol == "PLAINTEXT":
        return {}
    options: dict[str, Any] = {"security_protocol": security.protocol}
    if security.sasl:
        options["sasl_mechanism"] = security.sasl_mechanism
        options["sasl_plain_username"] = security.sasl_username
        options["sasl_plain_password"] = security.sasl_password
    if security.tls:
        for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
            path = getattr(security, name)
            if path is not None:
                options[name] = str(path)
    return options
