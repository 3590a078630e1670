"""The suite's network guard (tests/conftest.py) refuses anything but loopback."""

from __future__ import annotations

import re
import socket

import pytest
from tests.conftest import NetworkBlocked


def test_a_connection_off_the_machine_fails_at_once_with_a_message() -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s,
        pytest.raises(
            NetworkBlocked, match=re.escape("only connect to loopback, not ('93.184.216.34', 443)")
        ),
    ):
        s.connect(("93.184.216.34", 443))


def test_loopback_stays_open() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=5):
            pass
