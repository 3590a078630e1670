"""Secrets out of what is stored or exported: URLs, call-log texts, log lines.

Prompts quote sellers and customers, error texts quote providers, and a base URL can carry a key.
What the call log keeps is read by more people than the ones who configured the run, so
credentials are replaced before anything is written; the texts are otherwise kept as they were,
because a prompt that is not the exact prompt cannot explain a value.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit, urlunsplit

__all__ = ["redact_text", "redact_url"]

_SECRET_QUERY_KEYS = {"key", "api_key", "apikey", "token", "access_token"}

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Provider API keys (OpenAI, Anthropic, ...) and AWS access key ids.
    (re.compile(r"\b(sk|pk|rk)-[A-Za-z0-9_-]{16,}"), r"\1-***"),
    (re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"), r"\1***"),
    # Authorization headers and key=value credentials.
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{12,}"), r"\1 ***"),
    (
        re.compile(
            r"(?i)\b(api[_-]?key|access[_-]?token|secret|password|passwd)(\s*[=:]\s*)[^\s,;&\"']+"
        ),
        r"\1\2***",
    ),
    # Passwords in URLs: scheme://user:password@host.
    (re.compile(r"(://[^/\s:@]+):[^/\s@]+@"), r"\1:***@"),
]


def redact_text(text: str) -> str:
    """``text`` with credentials it quotes replaced by ``***``."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_url(url: str) -> str:
    """``url`` with any password (and API-key-like query values) replaced by ``***``."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password:
        netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
    query = "&".join(
        f"{k}=***" if k.lower() in _SECRET_QUERY_KEYS else f"{k}={v}"
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
