"""Prometheus metrics: what a run does as it does it, and what the database holds.

Two sources, both named by Prometheus conventions (base units, ``_total`` counters):

- :class:`RunMetrics` counts as products finish in this process: products by outcome,
  disagreements by category and attribute, supervisor calls and their latency, every model
  call's latency, tokens and cost by role and model, learnings put in prompts, and what the
  learning gate let through. ``dissensus run --metrics-port`` serves them while the run goes.
- :class:`StoreCollector` reads the shared database at scrape time: learnings by status and kind,
  review-queue depth, runs by status. ``dissensus serve`` exposes it on ``/metrics``, beside the
  run's counters when both live in one process.

Each owner gets its own registry (no process-wide default), so a test, a run and a server in
one interpreter never mix their numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from dissensus.errors import ConfigError
from dissensus.llm import CallRecord
from dissensus.storage import Database
from dissensus.storage.tables import LearningRow, ReviewItemRow, Run

__all__ = [
    "MetricsServer",
    "ProductOutcomeLabel",
    "RunMetrics",
    "StoreCollector",
    "new_registry",
    "serve_metrics",
]

ProductOutcomeLabel = Literal["agreed", "resolved", "needs_review", "error"]
"""How a product ended: workers agreed on everything; the supervisor settled its disputes; some
value waits for a person; or it could not be processed."""

_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320)
"""Seconds: hosted calls take tenths of a second, the embedded supervisor tens of seconds."""


def new_registry() -> CollectorRegistry:
    """An empty registry (no process or platform collectors: those belong to the host)."""
    return CollectorRegistry(auto_describe=True)


class RunMetrics:
    """The counters and histograms a run updates, one product at a time."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else new_registry()
        r = self.registry
        self.products = Counter(
            "dissensus_products", "Products processed, by outcome.", ["outcome"], registry=r
        )
        self.disagreements = Counter(
            "dissensus_disagreements",
            "Disputed attributes (workers disagreed or the evaluator rejected), by category.",
            ["category", "attribute"],
            registry=r,
        )
        self.supervisor_calls = Counter(
            "dissensus_supervisor_calls", "Cases sent to the supervisor.", ["category"], registry=r
        )
        self.supervisor_duration = Histogram(
            "dissensus_supervisor_duration_seconds",
            "Supervisor time per case.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.model_calls = Counter(
            "dissensus_model_calls",
            "Model calls by role, model and result (ok or abstained).",
            ["role", "model", "result"],
            registry=r,
        )
        self.model_requests = Counter(
            "dissensus_model_requests",
            "Requests sent to models (retries and repair attempts included).",
            ["role", "model"],
            registry=r,
        )
        self.model_duration = Histogram(
            "dissensus_model_call_duration_seconds",
            "Latency of one model call (its repair attempt included).",
            ["role", "model"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.tokens = Counter(
            "dissensus_model_tokens",
            "Tokens by role, model and direction (input or output).",
            ["role", "model", "direction"],
            registry=r,
        )
        self.cost = Counter(
            "dissensus_model_cost_dollars",
            "Model cost in US dollars at the profile's list prices.",
            ["role", "model"],
            registry=r,
        )
        self.learnings_injected = Counter(
            "dissensus_learnings_injected",
            "Learnings put in front of models, summed over products.",
            registry=r,
        )
        self.learnings_written = Counter(
            "dissensus_learnings_written",
            "Learnings the run's cases wrote, by where the gate left them (active or held).",
            ["result"],
            registry=r,
        )

    def product(
        self,
        *,
        category: str | None,
        outcome: ProductOutcomeLabel,
        disputed: Sequence[str],
        calls: Iterable[CallRecord],
        costs: Sequence[float] | None = None,
        supervisor_called: bool,
        learnings_in_prompt: int,
        learnings_active: int,
        learnings_held: int,
    ) -> None:
        """Count one finished product. ``costs``: dollars per call, in ``calls`` order."""
        self.products.labels(outcome).inc()
        where = category or "unknown"
        for attribute in disputed:
            self.disagreements.labels(where, attribute).inc()
        calls = list(calls)
        costs = list(costs) if costs is not None else [0.0] * len(calls)
        supervisor_seconds = 0.0
        for call, cost in zip(calls, costs, strict=True):
            self.model_calls.labels(call.role, call.model, "ok" if call.ok else "abstained").inc()
            self.model_requests.labels(call.role, call.model).inc(call.usage.requests)
            self.model_duration.labels(call.role, call.model).observe(call.latency_s)
            self.tokens.labels(call.role, call.model, "input").inc(call.usage.input_tokens)
            self.tokens.labels(call.role, call.model, "output").inc(call.usage.output_tokens)
            self.cost.labels(call.role, call.model).inc(cost)
            if call.role == "supervisor":
                supervisor_seconds += call.latency_s
        if supervisor_called:
            self.supervisor_calls.labels(where).inc()
            self.supervisor_duration.observe(supervisor_seconds)
        self.learnings_injected.inc(learnings_in_prompt)
        self.learnings_written.labels("active").inc(learnings_active)
        self.learnings_written.labels("held").inc(learnings_held)


class StoreCollector(Collector):
    """Gauges read from the database at each scrape: the knowledge base and the review desk."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def describe(self) -> list[Metric]:
        # Describing without querying keeps registration free of database round trips.
        return [
            GaugeMetricFamily("dissensus_learnings", "Learnings by status and kind."),
            GaugeMetricFamily("dissensus_review_queue_items", "Review items by state and reason."),
            GaugeMetricFamily("dissensus_runs", "Runs by status."),
        ]

    def collect(self) -> Iterator[Metric]:
        learnings = GaugeMetricFamily(
            "dissensus_learnings", "Learnings by status and kind.", labels=["status", "kind"]
        )
        queue = GaugeMetricFamily(
            "dissensus_review_queue_items",
            "Review items by state and reason.",
            labels=["state", "reason"],
        )
        runs = GaugeMetricFamily("dissensus_runs", "Runs by status.", labels=["status"])
        with self.db.read() as session:
            for status, kind, n in session.execute(
                select(LearningRow.status, LearningRow.kind, func.count()).group_by(
                    LearningRow.status, LearningRow.kind
                )
            ):
                learnings.add_metric([status, kind], n)
            for state, reason, n in session.execute(
                select(ReviewItemRow.state, ReviewItemRow.reason, func.count()).group_by(
                    ReviewItemRow.state, ReviewItemRow.reason
                )
            ):
                queue.add_metric([state, reason], n)
            for status, n in session.execute(select(Run.status, func.count()).group_by(Run.status)):
                runs.add_metric([status], n)
        yield learnings
        yield queue
        yield runs


@dataclass(slots=True)
class MetricsServer:
    """A ``/metrics`` endpoint served from a thread; :meth:`close` stops it."""

    port: int
    _server: Any

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def serve_metrics(
    registry: CollectorRegistry, port: int, *, addr: str = "127.0.0.1"
) -> MetricsServer:
    """Serve ``registry`` on ``http://addr:port/metrics`` (port 0: any free port).

    Loopback by default: the counters name categories and models, which is nobody's business
    outside the machine unless someone chose ``--metrics-addr 0.0.0.0``.

    Raises:
        ConfigError: the port is taken or cannot be bound.
    """
    try:
        server, _thread = start_http_server(port, addr=addr, registry=registry)
    except OSError as exc:
        raise ConfigError(
            f"cannot serve metrics on {addr}:{port} ({exc.strerror or exc}); choose another "
            "--metrics-port"
        ) from exc
    return MetricsServer(server.server_port, server)
