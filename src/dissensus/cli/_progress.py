"""Progress on long work, on a terminal and in a log file alike.

A rich progress bar redraws itself in place, so it only shows on a terminal: written to a file
(``nohup``, a CI log, a batch scheduler's output) it prints nothing until the work ends. A
medium benchmark is hours of work, and a production run can be too, so a log gets plain lines
instead: one when a phase starts, one at most every ``every`` seconds while it runs, and one when
it finishes, each with the count, the elapsed time and the time left.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, ProgressColumn, Task, TaskID

from dissensus.cli._common import err_console

__all__ = ["LoggedProgress", "duration", "progress_bar"]

LOG_EVERY_SECONDS = 60.0
"""How often a log gets a progress line while a phase runs: often enough to see a run is alive,
rarely enough that an hour's log stays readable."""


def progress_bar(
    *columns: str | ProgressColumn,
    quiet: bool = False,
    console: Console | None = None,
) -> Progress:
    """A rich progress bar on a terminal, log lines elsewhere, nothing when ``quiet``."""
    out = console or err_console
    if quiet or out.is_terminal:
        return Progress(*columns, console=out, disable=quiet)
    return LoggedProgress(console=out)


def duration(seconds: float | None) -> str:
    """Seconds as a person reads them in a line of text: 45s, 3m05s, 1h02m."""
    if seconds is None:
        return "?"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


class LoggedProgress(Progress):
    """A progress bar that writes plain lines instead of redrawing itself.

    It keeps rich's task bookkeeping (counts, elapsed time, the speed estimate behind the time
    left), so the callers use it exactly like a bar; only the drawing is replaced.
    """

    def __init__(
        self,
        *,
        console: Console,
        every: float = LOG_EVERY_SECONDS,
        get_time: Callable[[], float] | None = None,
        clock: Callable[[], str] | None = None,
    ) -> None:
        # Rich estimates speed from the last 30 s of updates; a run reports once per batch,
        # often more than 30 s apart, which would leave no estimate of the time left.
        super().__init__(
            console=console,
            disable=True,
            get_time=get_time,
            speed_estimate_period=max(30.0, 10 * every),
        )
        self.every = every
        self._clock = clock or (lambda: time.strftime("%H:%M:%S"))
        self._logged: dict[TaskID, tuple[str, float, float]] = {}
        """Per task, the description, count and time of its last line."""

    def update(self, task_id: TaskID, **kwargs: Any) -> None:  # type: ignore[override]
        super().update(task_id, **kwargs)
        self._log(task_id)

    def advance(self, task_id: TaskID, advance: float = 1) -> None:
        super().advance(task_id, advance)
        self._log(task_id)

    def stop(self) -> None:
        """The last state of every task, if its last line does not already say it (work that
        failed, was interrupted or ended short of its total gets an end line too)."""
        for task in self.tasks:
            self._log(task.id, force=True)
        super().stop()

    def _log(self, task_id: TaskID, *, force: bool = False) -> None:
        with self._lock:  # re-entrant; keeps lines whole if work reports from several threads
            task = next(t for t in self.tasks if t.id == task_id)
            now = self.get_time()
            last = self._logged.get(task_id)
            if last is not None and (last[0], last[1]) == (task.description, task.completed):
                return  # nothing new to say
            new_phase = last is None or last[0] != task.description
            finished = task.total is not None and task.completed >= task.total
            due = last is None or now - last[2] >= self.every
            if not (force or new_phase or finished or due):
                return
            self._logged[task_id] = (task.description, task.completed, now)
            self.console.print(self._line(task), highlight=False, soft_wrap=True)

    def _line(self, task: Task) -> str:
        head = f"{self._clock()} {escape(task.description)}"
        elapsed = duration(task.elapsed)
        if task.total is None:
            return f"{head}: {task.completed:g} done, {elapsed}"
        if task.total == 0:  # "0/0 (0 %)" reads as stuck; an empty input is simply done
            return f"{head}: nothing to do, {elapsed}"
        share = f"{task.completed:g}/{task.total:g} ({task.percentage:.0f} %)"
        remaining = task.time_remaining
        if remaining is None or task.completed >= task.total:
            return f"{head}: {share}, {elapsed}"
        return f"{head}: {share}, {elapsed}, {duration(remaining)} left"
