"""Ports for servers a test starts itself."""

import random
import socket

# Below Linux's ephemeral range (32768-60999), so the port stays free: outgoing
# connections never take it between our check and the server's bind.
_LOW, _HIGH = 20_000, 32_000


def free_port() -> int:
    for _ in range(100):
        port = random.randrange(_LOW, _HIGH)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    msg = "no free port below the ephemeral range"
    raise RuntimeError(msg)
