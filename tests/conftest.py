"""What every test shares: asyncio for async tests, a network guard, and moto's AWS server.

The guard makes any connection to a non-loopback address fail at once with a message naming
it, in this process: the suite must run offline (CI has no internet either), and a test that
reached a real API by accident would pass here and hang or cost money elsewhere. Loopback
servers (the fake OpenAI-compatible ones, PostgreSQL, Prometheus, moto) and Unix sockets stay
allowed. Child processes started by tests are not guarded; they run our own scripts.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


class NetworkBlocked(OSError):
    """A test tried to reach a non-loopback address."""


def _is_loopback(address: Any) -> bool:
    if not isinstance(address, tuple):  # AF_UNIX paths and abstract names
        return True
    host = str(address[0])
    if host in ("localhost", "localhost.localdomain", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False  # a host name other than localhost: it would resolve off the machine


def _guarded_connect(self: socket.socket, address: Any) -> None:
    if not _is_loopback(address):
        raise NetworkBlocked(f"tests may only connect to loopback, not {address!r}")
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    if not _is_loopback(address):
        raise NetworkBlocked(f"tests may only connect to loopback, not {address!r}")
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True, scope="session")
def _network_guard() -> Iterator[None]:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    try:
        yield
    finally:
        socket.socket.connect = _real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio (the runtime dissensus uses)."""
    return "asyncio"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's AWS server (SQS, S3, DynamoDB) on a free loopback port: a real HTTP endpoint.

    It answers one request at a time. DynamoDB makes each transaction atomic; moto's does not
    across threads: it checks the conditions, then writes, and on a failed transaction restores
    a copy of the whole table taken before, undoing other requests' writes in between. Served
    one at a time, each request is atomic as on AWS, while a test's threads still interleave
    their requests.
    """
    if importlib.util.find_spec("moto") is None or importlib.util.find_spec("boto3") is None:
        pytest.skip("install the dev extra (moto[server], boto3) to test the AWS parts")
    from moto.moto_server import threaded_moto_server as moto_server

    class OneAtATime(moto_server.ThreadedMotoServer):
        def _server_entry(self) -> None:
            app = moto_server.DomainDispatcherApplication(moto_server.create_backend_app)
            self._server = moto_server.make_server(
                self._ip_address,
                self._port,
                app,
                False,  # not threaded
                request_handler=moto_server.MotoRequestHandler,
            )
            self._server_ready_event.set()
            self._server.serve_forever()

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = OneAtATime(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto accepts any credentials; these keep boto3 from looking for real ones."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
