"""OpenTelemetry traces of runs: a span per batch, product and stage, around pydantic-ai's own.

The model calls' spans (``chat {model}`` with ``gen_ai.request.model``, ``gen_ai.usage.*``,
finish reasons, ``error.type``) come from pydantic-ai's instrumentation, switched on per model
through the pool (:meth:`dissensus.llm.ModelPool.instrument`); this module adds the spans that
say what dissensus was doing around them (``product``, ``workers``, ``consensus``,
``supervisor``, ``learn``) with the category, the learning ids in the prompt and the KB version.

Off by default and free when off: :meth:`Tracing.off` hands out no tracer and :meth:`span`
yields at once, with nothing from the OpenTelemetry SDK imported. On, spans go by OTLP/HTTP to
the configured endpoint (Phoenix, Langfuse, Jaeger, an ADOT collector for CloudWatch), or to any
span processor a caller gives (the in-memory exporter in tests).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from dissensus.config import TracingSettings
from dissensus.errors import ConfigError, MissingExtraError

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
    from opentelemetry.trace import Span, Tracer

__all__ = ["Tracing", "otlp_endpoint"]

AttributeValue = str | int | float | bool | Sequence[str]


def otlp_endpoint(settings: TracingSettings) -> str | None:
    """The traces URL: the setting, else the standard OpenTelemetry variables, else ``None``."""
    if settings.otlp_endpoint:
        return settings.otlp_endpoint
    if url := os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return url
    if base := os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return base.rstrip("/") + "/v1/traces"
    return None


class Tracing:
    """Where a run's spans go; :meth:`off` when nowhere."""

    def __init__(self, provider: TracerProvider | None, *, content: bool = False) -> None:
        self.provider = provider
        self.content = content
        """Whether model spans carry prompts and answers (``tracing.content``)."""
        self._tracer: Tracer | None = (
            provider.get_tracer("dissensus") if provider is not None else None
        )

    @classmethod
    def off(cls) -> Tracing:
        return cls(None)

    @classmethod
    def from_settings(cls, settings: TracingSettings) -> Tracing:
        """OTLP/HTTP export to the configured endpoint, or :meth:`off` when there is none.

        Raises:
            MissingExtraError: an endpoint is set but the ``tracing`` extra is not installed.
            ConfigError: the endpoint is not an http(s) URL.
        """
        url = otlp_endpoint(settings)
        if url is None:
            return cls.off()
        if not url.startswith(("http://", "https://")):
            raise ConfigError(
                f"tracing endpoint {url!r} is not an http(s) URL; OTLP/HTTP traces go to e.g. "
                "http://127.0.0.1:6006/v1/traces"
            )
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
        except ImportError as exc:
            raise MissingExtraError("tracing", "sending traces (tracing.otlp_endpoint)") from exc
        exporter = OTLPSpanExporter(endpoint=url, headers=dict(settings.headers) or None)
        return cls.with_processor(
            BatchSpanProcessor(exporter),
            service_name=settings.service_name,
            content=settings.content,
        )

    @classmethod
    def with_processor(
        cls, processor: SpanProcessor, *, service_name: str = "dissensus", content: bool = False
    ) -> Tracing:
        """Spans to ``processor`` (an exporter's batch processor, or a test's in-memory one)."""
        try:
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
        except ImportError as exc:
            raise MissingExtraError("tracing", "tracing") from exc
        provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        provider.add_span_processor(processor)
        return cls(provider, content=content)

    @property
    def enabled(self) -> bool:
        return self._tracer is not None

    @contextmanager
    def span(
        self, name: str, attributes: Mapping[str, AttributeValue | None] | None = None
    ) -> Iterator[Span | None]:
        """A child of the current span; exceptions are recorded on it. Yields ``None`` when off."""
        if self._tracer is None:
            yield None
            return
        clean: dict[str, Any] = {
            k: list(v) if isinstance(v, list | tuple) else v
            for k, v in (attributes or {}).items()
            if v is not None
        }
        with self._tracer.start_as_current_span(name, attributes=clean) as span:
            yield span

    def shutdown(self) -> None:
        """Send what is buffered and stop; a run calls it once at its end."""
        if self.provider is not None:
            self.provider.shutdown()
