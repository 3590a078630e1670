"""Login throttling: too many failed logins for one account or from one address wait a while.

Argon2 makes each guess slow, but not slow enough to stop a patient script (sixty wrong
passwords in 18 s met no resistance). Failures are counted in a sliding window per account and
per client address, in the serving process's memory: a restart forgets them, which is fine for
a brake on guessing (several server processes would each count their own).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["LoginThrottle"]


@dataclass
class LoginThrottle:
    """Counts failed logins; :meth:`wait` says how long a new attempt must wait (0: none).

    Args:
        per_account: Failures allowed per account within ``window`` seconds.
        per_address: Failures allowed per client address within ``window`` seconds.
        window: The sliding window, in seconds.
        clock: Monotonic seconds (tests move it).
    """

    per_account: int = 5
    per_address: int = 20
    window: float = 900.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def wait(self, account: str, address: str) -> float:
        """Seconds until an attempt for ``account`` from ``address`` may be made."""
        return max(
            self._wait(f"account:{account.strip().casefold()}", self.per_account),
            self._wait(f"address:{address}", self.per_address),
        )

    def failed(self, account: str, address: str) -> None:
        """Record a failed attempt."""
        now = self.clock()
        for key in (f"account:{account.strip().casefold()}", f"address:{address}"):
            self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, account: str) -> None:
        """A correct password clears the account's failures (not the address's)."""
        self._failures.pop(f"account:{account.strip().casefold()}", None)

    def _wait(self, key: str, limit: int) -> float:
        times = self._failures.get(key)
        if not times:
            return 0.0
        now = self.clock()
        while times and now - times[0] >= self.window:
            times.popleft()
        if len(times) < limit:
            return 0.0
        return self.window - (now - times[0])
