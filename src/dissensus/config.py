"""Settings for a run: which models play which role, the consensus policy, budgets, storage.

Settings come from (lowest to highest precedence) the defaults below, a YAML file
(``--config dissensus.yaml``), environment variables (``DISSENSUS_HOME``,
``DISSENSUS_DATABASE_URL``) and CLI options. The defaults are the embedded profile: two small
local GGUF models and SQLite, so a new user needs no account and no network.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dissensus.domain import LearningKind
from dissensus.errors import ConfigError
from dissensus.knowledge.deployment import DeploymentMode, DeploymentPolicy

__all__ = [
    "CallLogSettings",
    "CompactionSettings",
    "ConsensusSettings",
    "EffectivenessSettings",
    "GeneratorConfig",
    "GeneratorStyle",
    "ReviewSettings",
    "Settings",
    "SignalSettings",
    "SweetSpotSettings",
    "TracingSettings",
    "default_home",
]

GeneratorStyle = Literal["direct", "evidence"]

DEFAULT_MODEL = "local:gemma3-270m"
DEFAULT_SUPERVISOR = "local:qwen2.5-coder-1.5b"
_ALL_KINDS: tuple[LearningKind, ...] = ("value", "example", "rule")


class _Strict(BaseModel):
    """Settings models refuse unknown keys: ``batch_sise: 16`` must not load as the default."""

    model_config = ConfigDict(extra="forbid")


def default_home() -> Path:
    """``$DISSENSUS_HOME`` or ``~/.dissensus``: where the database and model cache live."""
    return Path(os.environ.get("DISSENSUS_HOME") or Path.home() / ".dissensus")


class GeneratorConfig(_Strict):
    """One generator worker."""

    model: str
    """Model string (``local:gemma3-270m``, ``openai:gpt-4o-mini``, ``scripted:echo``)."""
    style: GeneratorStyle = "direct"
    """Prompt style; two generators on one model still differ when their styles differ."""


class ConsensusSettings(_Strict):
    """Mirror of the consensus policy knobs, kept here so a YAML file can set them."""

    quorum: int | None = None
    """How many generators must agree (default: all of them)."""
    min_voters: int = Field(default=2, ge=1)
    """Fewest workers voting on an attribute for their agreement to count (see
    ``ConsensusPolicy.min_voters``). 2 by default: the embedded team is one generator and the
    lexicon worker, and a value only the generator saw is a case for the supervisor."""
    evaluator_veto: bool = True
    """An evaluator ``wrong``/``missing`` verdict sends the attribute to the supervisor."""
    veto_needs_alternative: bool = True
    """Only a veto that suggests another value counts. On by default because the embedded
    evaluator (Gemma 270M) says ``missing`` about nearly everything with no suggestion; turn it
    off with a capable evaluator."""
    ambiguous_escalates: bool = False
    """Off by default for the same reason: the embedded evaluator calls most values ambiguous."""
    absent_agreement_is_consensus: bool = True
    abstention_escalates: bool = True
    route_after: int = Field(default=4, ge=0)
    """Resolutions of one worker's lone values of one attribute (in one category) after which
    consensus may settle the next one as the supervisor ruled (``consensus.routes``); 0 never
    routes. Only runs that use knowledge read routes, and only learning runs add rulings."""
    route_share: float = Field(default=0.8, gt=0.5, le=1.0)
    """How one-sided those rulings must be (smoothed share) before consensus follows them."""
    route_keep_share: float | None = Field(default=0.85, gt=0.5, le=1.0)
    """How one-sided the rulings that *kept* a worker's lone values must be (smoothed share)
    before consensus publishes the next one without the supervisor; ``None`` never keeps. Higher
    than ``route_share``: a kept value goes into the catalog on one small model's word."""
    presence_floor: float = Field(default=0.1, ge=0.0, lt=1.0)
    """Attributes that fewer than this share of a category's verified products fill are rare:
    a generator's lone value for one is settled absent from the first product, as a route
    (``consensus.routes.presence_routes``), until the supervisor's rulings on it say otherwise.
    Read from the verified catalog, so every run with one has it, learning or not; 0 turns
    it off."""
    presence_min_products: int = Field(default=10, ge=1)
    """Verified products a category needs before its fill rates count (fewer: no prior)."""
    route_audit: float = Field(default=0.1, ge=0.0, le=1.0)
    """Share of products that ignore routes and go to the supervisor as if none existed (picked
    by a hash of the product id, so a rerun picks the same ones). Their rulings keep counting,
    so a route whose worker stops being right loses its share and ends."""


class BedrockBatchSettings(_Strict):
    """Where ``bedrock-batch:`` models run their jobs (``dissensus.llm.bedrock_batch``)."""

    s3_uri: str
    """``s3://bucket/prefix`` for the jobs' input and output files."""
    role_arn: str
    """The service role Bedrock assumes to read and write that bucket."""
    records: int = Field(default=1000, ge=1)
    """Requests per job (Bedrock's minimum per job and model applies; 100 for most)."""
    linger_seconds: float = Field(default=60.0, ge=0.0)
    """How long the first waiting request may wait for its job to fill."""
    poll_seconds: float = Field(default=30.0, gt=0.0)
    timeout_hours: int = Field(default=24, ge=24, le=168)
    """The job's own limit (Bedrock accepts 24 to 168 hours)."""


class RequestLimits(_Strict):
    """Per-model or per-provider overrides of ``request_timeout_seconds``/``request_retries``."""

    timeout_seconds: float | None = Field(default=None, gt=0.0)
    retries: int | None = Field(default=None, ge=0, le=10)


class ReviewSettings(_Strict):
    """The human review queue: what the audit samples and how long a claim lasts.

    A product whose attributes all came from consensus is sampled for audit with probability
    ``max(audit_min_rate, audit_rate * 0.5 ** (maturity / audit_half_life))``, where the
    category's maturity is the number of its products in runs that completed before this run
    started. Sampling hashes the run id and product id, so a resumed run samples the same ones.
    """

    audit_rate: float = Field(default=0.05, ge=0.0, le=1.0)
    """Share of consensus-only products sent to review in a category nothing has matured yet."""
    audit_half_life: int = Field(default=1000, ge=1)
    """Products of a category (in earlier completed runs) after which its audit rate halves."""
    audit_min_rate: float = Field(default=0.005, ge=0.0, le=1.0)
    """The audit rate never decays below this (0: mature categories stop being audited)."""
    claim_minutes: float = Field(default=30.0, gt=0.0)
    """Visibility timeout: a claimed item not submitted within this returns to the queue."""
    teach: bool = True
    """A reviewer's answer becomes value and example learnings of the product's category
    (published as the deployment publishes a person's learnings: at once in deploy-and-learn,
    at the next promotion in learn-then-deploy), so later products benefit, not only this one."""


class SignalSettings(_Strict):
    """Post-inference signals (``dissensus signals ingest``): triage, and when learnings go live."""

    confirmations: int | None = Field(default=None, ge=2)
    """Cases about this many different products, from as many different authors (the
    signals' ``author``: sellers or customers), that must draft a learning before it becomes
    active without a person's approval; ``None`` (the default): only approval does.

    Signal text is untrusted, so at least 2. Off by default because on the sample catalog the
    embedded supervisor drafted the same generic text ("The seller-1 said this value") for three
    products, which counted as three confirmations: repetition by a small model is no evidence.
    """
    strong_consensus: float = Field(default=0.8, ge=0.0, le=1.0)
    """A single customer review against a consensus value this confident is noise."""
    triage_model: str | None = None
    """Cheap model asked where the triage rules cannot tell; ``None``: the first generator's."""


class CompactionSettings(_Strict):
    """The learning aggregator (``dissensus kb compact``)."""

    similarity: float = Field(default=0.5, ge=0.0, le=1.0)
    """Least word overlap (0–1) between two learnings of one scope for them to be grouped."""
    min_group: int = Field(default=3, ge=2)
    """Smallest group of similar learnings synthesized into one broader learning."""
    auto: bool = True
    """Compact a node during a run, at a batch boundary, once new learnings push it past
    ``max_learnings_per_node`` or past ``learning_budget_tokens`` of prompt (runs that write
    learnings only)."""
    max_learnings_per_node: int = Field(default=12, ge=1)
    """Active learnings a node may hold before automatic compaction runs on it."""


class EffectivenessSettings(_Strict):
    """Measured effect of learnings on disagreement (``dissensus report``, ``kb compact``)."""

    threshold: float = Field(default=0.15, ge=0.0, le=1.0)
    """Deprecate a learning whose products disagree this much more often than before it."""
    min_products: int = Field(default=5, ge=1)
    """Products needed on each side (with it, before it) before an effect counts."""
    auto_deprecate: bool = True
    """Deprecate hurting learnings automatically (off: flag them only)."""


class CallLogSettings(_Strict):
    """The call log: each model call's prompt and answer, kept with its run (`dissensus logs`)."""

    enabled: bool = True
    """False keeps only each call's model, role, tokens and latency, not its texts."""
    max_chars: int = Field(default=8000, ge=200)
    """Each of system prompt, prompt and answer is cut to this many characters."""


class TracingSettings(_Strict):
    """OpenTelemetry traces of runs, sent by OTLP/HTTP; off unless an endpoint is set."""

    otlp_endpoint: str | None = None
    """Traces URL, e.g. ``http://127.0.0.1:6006/v1/traces`` (Phoenix). Unset: the standard
    ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_ENDPOINT`` variables, or off."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Sent with every export (Langfuse: ``Authorization: Basic ...``)."""
    service_name: str = "dissensus"
    content: bool = False
    """Put prompts and answers into the spans too. Off: they quote sellers and customers, and a
    trace backend is often another team's system; the call log keeps them locally."""


class SweetSpotSettings(_Strict):
    """The disagreement-rate band a healthy category sits in (checked by ``dissensus report``)."""

    low: float = Field(default=0.05, ge=0.0, le=1.0)
    """Below this, evaluators may be rubber-stamping or the category is saturated."""
    high: float = Field(default=0.35, ge=0.0, le=1.0)
    """Above this, workers or prompts are not mature enough and supervisor cost rises."""


class Settings(_Strict):
    """Everything a run needs to know that is not in the input files."""

    generators: list[GeneratorConfig] = Field(
        default_factory=lambda: [GeneratorConfig(model=DEFAULT_MODEL, style="direct")]
    )
    """The embedded default is one Gemma 3 270M generator shown retrieved solved examples; the
    lexicon worker is the second voice. SmolLM2-135M mostly answers with whole-title spans
    (micro-F1 ≈ 17 vs ≈ 31 on OA-Mine); a second Gemma style (``evidence``) can be added."""
    lexicon_worker: bool = True
    """Run the lexicon worker: the known values of the category (verified catalog and active
    ``value`` learnings) found in the text, as a vote in consensus. No model, no tokens."""
    examples_per_product: int = Field(default=3, ge=0, le=10)
    """Solved examples retrieved per product (verified and learned) for the generators and the
    supervisor; 0 runs zero-shot."""
    evaluator: str | None = None
    """The critical evaluator's model; ``None`` (the embedded default) runs without one: Gemma
    270M says ``missing`` or ``ambiguous`` about almost everything while costing 40 % of a
    product's time. Set a capable model here (``openai:gpt-4o-mini``)."""
    evaluator_reason_chars: int = Field(default=40, ge=0, le=400)
    """Cap on each evaluator reason (0: no reasons). Every character costs output tokens on
    every product; on the embedded model a 120-character cap tripled the evaluator's time."""
    supervisor: str = DEFAULT_SUPERVISOR
    """The supervisor: Qwen2.5-Coder 1.5B on the embedded profile (65.3 micro-F1 on 40 OA-Mine
    test products with three retrieved examples, Gemma 270M 43.3); it runs only on disputes."""
    memory_manager: str | None = None
    """Model that places learnings in the tree; ``None`` uses the supervisor's model."""
    openai_base_url: str | None = None
    """For ``openai:`` models served by vLLM, Ollama or llama-server."""
    consensus: ConsensusSettings = Field(default_factory=ConsensusSettings)
    learning: bool = True
    """Write supervisor learnings into the knowledge base (off: the ``no-learning`` baseline)."""
    deployment_mode: DeploymentMode = "deploy-and-learn"
    """How supervisor learnings reach runs. ``deploy-and-learn``: they are active at once (or
    after ``confirmations``); ``learn-then-deploy``: they stay ``proposed`` until a person
    approves them and ``dissensus kb promote`` publishes the approved ones. Runs only ever use
    active learnings."""
    confirmations: int = Field(default=0, ge=0)
    """deploy-and-learn only: later cases that must draft a learning again (a duplicate or a
    merge) before it goes active; 0 makes it active at once."""
    learning_kinds: list[LearningKind] = Field(default_factory=lambda: list(_ALL_KINDS))
    """Which learnings a resolved case writes: ``value`` (known values for the lexicon),
    ``example`` (the solved product, a demonstration), ``rule`` (prose, when the supervisor's
    lesson says something)."""
    learning_gate: bool = True
    """Check each machine-made learning against the verified catalog before it goes live (see
    ``dissensus.knowledge.gate``); what fails or cannot be checked stays ``proposed``. Off, a
    deploy-and-learn run activates what the supervisor writes unchecked: only for a supervisor
    you trust as much as a person."""
    use_knowledge: bool = True
    """Put retrieved learnings into worker prompts."""
    learning_budget_tokens: int = 400
    """How many prompt tokens the learnings of one category may take."""
    max_title_chars: int = Field(default=400, ge=20)
    """Longer titles are cut to this before any model sees them (the output line says so): a
    1 MB title would otherwise go into every call of the product."""
    max_description_chars: int = Field(default=2000, ge=0)
    """Likewise for descriptions (0: descriptions are not sent)."""
    request_timeout_seconds: float = Field(default=60.0, gt=0.0)
    """Hosted models (``openai:``, ``anthropic:``): seconds one HTTP request may take."""
    request_retries: int = Field(default=2, ge=0, le=10)
    """Hosted models: retries of a failed request (backoff with jitter, ``Retry-After`` on 429)."""
    bedrock_batch: BedrockBatchSettings | None = None
    """Bucket, role and job sizes for ``bedrock-batch:`` models; needed only by them."""
    request_limits: dict[str, RequestLimits] = Field(default_factory=dict)
    """Overrides by model string (``openai:gpt-4o``: so per role, as each role names its model)
    or by provider (``openai``, ``anthropic``, ``bedrock``); the model string wins. E.g. a slow
    supervisor: ``{"openai:gpt-4o": {"timeout_seconds": 180}}``."""
    product_timeout_seconds: float = Field(default=900.0, ge=0.0)
    """The most one product may spend in the models (0: no limit). A product past it ends with
    an error line naming the timeout and the run goes on: a hung backend frees its slot
    instead of freezing the run."""
    batch_size: int = Field(default=8, ge=1)
    """Products of one category processed together; learnings written while a batch runs
    reach the next batch."""
    concurrency: int = Field(default=4, ge=1)
    """Products in the models at once, over all category batches running side by side (local
    engines use this many slots)."""
    review_confidence: float = 0.3
    """Supervisor resolutions below this confidence are marked ``needs_review`` and queued."""
    review: ReviewSettings = Field(default_factory=ReviewSettings)
    """The human review queue (audit sampling, claim timeout)."""
    signals: SignalSettings = Field(default_factory=SignalSettings)
    """Post-inference signals: confirmations, triage."""
    compaction: CompactionSettings = Field(default_factory=CompactionSettings)
    """The learning aggregator."""
    effectiveness: EffectivenessSettings = Field(default_factory=EffectivenessSettings)
    """Measured effect of learnings; hurting ones are deprecated."""
    sweet_spot: SweetSpotSettings = Field(default_factory=SweetSpotSettings)
    call_log: CallLogSettings = Field(default_factory=CallLogSettings)
    tracing: TracingSettings = Field(default_factory=TracingSettings)
    """Disagreement-rate band per category."""
    home: Path = Field(default_factory=default_home)
    database_url: str | None = None
    """SQLAlchemy URL; default SQLite file under ``home``."""

    @classmethod
    def load(cls, path: Path | None = None, **overrides: object) -> Settings:
        """Defaults, then the YAML file (if given), then the environment, then ``overrides``."""
        data: dict[str, object] = {}
        if path is not None:
            try:
                raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except FileNotFoundError as exc:
                raise ConfigError(f"config file {str(path)!r} does not exist") from exc
            except yaml.YAMLError as exc:
                raise ConfigError(f"config file {str(path)!r} is not valid YAML: {exc}") from exc
            if not isinstance(raw, dict):
                raise ConfigError(f"config file {str(path)!r} must be a mapping of settings")
            data.update(raw)
        # The environment outranks the file: the example config's `database_url: null` once
        # sent a run meant for PostgreSQL to the home's SQLite file without a word.
        if home := os.environ.get("DISSENSUS_HOME"):
            data["home"] = home
        if url := os.environ.get("DISSENSUS_DATABASE_URL"):
            data["database_url"] = url
        data.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            where = f"config file {str(path)!r} is" if path else "settings are"
            raise ConfigError(f"{where} invalid: {_explain(exc)}") from exc

    def deployment(self) -> DeploymentPolicy:
        """The deployment mode and confirmations, as the knowledge room takes them."""
        return DeploymentPolicy(mode=self.deployment_mode, confirmations=self.confirmations)

    def model_options(self) -> dict[str, Any]:
        """What every model the settings open is opened with (``ModelPool(**options)``)."""
        per_model: dict[str, dict[str, Any]] = {
            key: {
                name: value
                for name, value in (
                    ("timeout", limits.timeout_seconds),
                    ("retries", limits.retries),
                )
                if value is not None
            }
            for key, limits in self.request_limits.items()
        }
        if self.bedrock_batch is not None:
            # As plain data: the model layer turns it into its BatchOptions.
            batch = self.bedrock_batch.model_dump()
            per_model.setdefault("bedrock-batch", {})["batch"] = batch
        return {
            "base_url": self.openai_base_url,
            "timeout": self.request_timeout_seconds,
            "retries": self.request_retries,
            "per_model": per_model,
        }

    def supervisor_model(self) -> str:
        return self.supervisor

    def memory_manager_model(self) -> str:
        return self.memory_manager or self.supervisor

    def model_strings(self) -> list[str]:
        """Every distinct model the run opens, in a stable order."""
        names = [g.model for g in self.generators]
        if self.evaluator:
            names.append(self.evaluator)
        names += [self.supervisor, self.memory_manager_model()]
        return list(dict.fromkeys(names))


def _model_at(location: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The settings model that holds the key at ``location`` (for name suggestions)."""
    model: type[BaseModel] | None = Settings
    for part in location[:-1]:
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            return None
        annotation = model.model_fields[part].annotation
        model = (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )
    return model


def _explain(exc: ValidationError) -> str:
    """One line per problem, naming the key and, for an unknown one, the closest valid name."""
    lines = []
    for error in exc.errors():
        location = tuple(error["loc"])
        key = ".".join(str(p) for p in location)
        if error["type"] == "extra_forbidden":
            model = _model_at(location)
            names = list(model.model_fields) if model is not None else []
            close = difflib.get_close_matches(str(location[-1]), names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            lines.append(f"unknown setting {key!r}{hint}")
        else:
            lines.append(f"{key}: {error['msg']} [got {error.get('input')!r}]")
    return "; ".join(lines)
