"""Shared fixtures for the model room: no real network, an asyncio backend, small schemas."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field


def _is_loopback(address: Any) -> bool:
    if isinstance(address, tuple) and address:
        host = address[0]
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False
    return isinstance(address, str | bytes)  # unix sockets


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Refuse connections beyond loopback, and keep the developer's credentials out."""
    real_connect = socket.socket.connect

    def guarded_connect(self: socket.socket, address: Any) -> None:
        if not _is_loopback(address):
            raise ConnectionRefusedError(f"tests may not reach the network ({address!r})")
        real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    for var in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "ANTHROPIC_API_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_BEARER_TOKEN_BEDROCK",
        "DISSENSUS_LLAMA_LOG",
    ):
        monkeypatch.delenv(var, raising=False)
    yield


class Shoe(BaseModel):
    """The kind of output type the workers build: closed options from the title, plus n/a."""

    color: Literal["n/a", "red", "navy blue"] = Field(description="Main colour of the shoe.")
    brand: Literal["n/a", "Nike", "Nike Air"] = Field(description="Brand name as written.")
    material: str = Field(max_length=12, description="Upper material, a word or two.")


TITLE = "Nike Air Max 90 red leather running shoe"
SYSTEM = "You extract product attributes from the product title. Answer with JSON only."
