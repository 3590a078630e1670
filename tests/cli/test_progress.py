"""Progress on long work: a bar on a terminal, plain lines in a log, nothing when quiet."""

from __future__ import annotations

import io

from rich.console import Console
from rich.progress import Progress

from dissensus.cli._progress import LoggedProgress, progress_bar


class Clock:
    """A hand-driven clock, so the throttling is tested without waiting."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def logged(every: float = 60.0) -> tuple[LoggedProgress, io.StringIO, Clock]:
    out = io.StringIO()
    clock = Clock()
    progress = LoggedProgress(
        console=Console(file=out, force_terminal=False, width=200),
        every=every,
        get_time=clock,
        clock=lambda: "12:00:00",
    )
    return progress, out, clock


def lines(out: io.StringIO) -> list[str]:
    return out.getvalue().splitlines()


def test_a_terminal_gets_a_bar_a_log_gets_lines_and_quiet_gets_nothing() -> None:
    terminal = Console(file=io.StringIO(), force_terminal=True)
    log = Console(file=io.StringIO(), force_terminal=False)
    bar = progress_bar(quiet=False, console=terminal)
    assert type(bar) is Progress and not bar.disable
    assert isinstance(progress_bar(quiet=False, console=log), LoggedProgress)
    silent = progress_bar(quiet=True, console=log)
    assert type(silent) is Progress and silent.disable


def test_a_log_gets_a_line_per_phase_one_a_minute_and_one_at_the_end() -> None:
    progress, out, clock = logged(every=60.0)
    with progress:
        task = progress.add_task("preparing", total=None)
        progress.update(task, total=10, completed=0, description="stream 0-5")
        for _ in range(3):  # 3 passes within the first minute: no line
            clock.now += 15.0
            progress.advance(task)
        assert lines(out) == ["12:00:00 stream 0-5: 0/10 (0 %), 0s"]
        clock.now += 20.0  # a minute after the last line
        progress.advance(task)
        assert lines(out)[-1].startswith("12:00:00 stream 0-5: 4/10 (40 %), 1m05s, ")
        assert lines(out)[-1].endswith(" left")
        progress.update(task, description="evaluation 5")  # a new phase: a line at once
        clock.now += 1.0
        assert lines(out)[-1] == "12:00:00 evaluation 5: 4/10 (40 %), 1m05s, 1m40s left"
        for _ in range(6):
            clock.now += 1.0
            progress.advance(task)
        progress.update(task, completed=10)  # the same count again says nothing new
    assert lines(out)[-1] == "12:00:00 evaluation 5: 10/10 (100 %), 1m12s"
    assert len(lines(out)) == 4


def test_an_open_ended_task_reports_its_count_and_descriptions_are_not_markup() -> None:
    progress, out, clock = logged(every=10.0)
    with progress:
        task = progress.add_task("[bold]enriching", total=None)
        progress.update(task, completed=3)
        clock.now += 10.0
        progress.update(task, completed=7)
    assert lines(out) == [
        "12:00:00 [bold]enriching: 3 done, 0s",
        "12:00:00 [bold]enriching: 7 done, 10s",
    ]


def test_batches_far_apart_keep_the_time_left_and_stopping_short_gets_an_end_line() -> None:
    progress, out, clock = logged(every=60.0)
    with progress:
        task = progress.add_task("enriching", total=100)
        for _ in range(4):  # a batch every 45 s: further apart than rich's own 30 s window
            clock.now += 45.0
            progress.advance(task, 8)
        # Lines at 45 s and 135 s; the speed estimate survived the gaps.
        assert lines(out)[-1] == "12:00:00 enriching: 24/100 (24 %), 2m15s, 7m08s left"
        clock.now += 10.0  # interrupted here, 32 done, before the next line was due
    assert lines(out)[-1].startswith("12:00:00 enriching: 32/100 (32 %), 3m10s")
    assert len(lines(out)) == 3


def test_work_with_nothing_to_do_says_so() -> None:
    progress, out, _ = logged()
    with progress:
        progress.add_task("stream 0-0", total=0)
    assert lines(out) == ["12:00:00 stream 0-0: nothing to do, 0s"]
