"""The benchmark's results: every number a run produced, as pydantic models (``results.json``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from dissensus.bench.scoring import Scores

__all__ = [
    "ARMS",
    "REFERENCES",
    "Arm",
    "ArmResult",
    "BenchConfig",
    "BenchResults",
    "CheckpointResult",
    "DataFileInfo",
    "Interval",
    "ModelVersion",
    "PassStats",
    "Reference",
    "ReusedPass",
    "SupervisorAccuracy",
    "VariantScores",
    "WindowStats",
]

Arm = Literal[
    "lexicon", "single", "few-shot", "no-learning", "learning", "human-review", "supervisor-only"
]
ARMS: tuple[Arm, ...] = (
    "lexicon",
    "single",
    "few-shot",
    "no-learning",
    "learning",
    "human-review",
    "supervisor-only",
)
"""Every arm, in the order reports show them."""
DEFAULT_ARMS: tuple[Arm, ...] = tuple(a for a in ARMS if a != "human-review")
"""The arms a run has unless ``--arms`` says otherwise: ``human-review`` streams the whole
stream a second time, so it is asked for by name."""


class Reference(BaseModel):
    """A published result on the same test split, for comparison."""

    name: str
    micro_f1: float
    source: str


REFERENCES: tuple[Reference, ...] = (
    Reference(
        name="GPT-4o zero-shot",
        micro_f1=68.8,
        source="Brinkmann, Shraga, Bizer: ExtractGPT (arXiv:2310.12537), OA-Mine test",
    ),
    Reference(
        name="GPT-4o 10-shot",
        micro_f1=78.6,
        source="Brinkmann, Shraga, Bizer: ExtractGPT (arXiv:2310.12537), OA-Mine test",
    ),
    Reference(
        name="GPT-4 10-shot",
        micro_f1=82.2,
        source="Brinkmann, Shraga, Bizer: ExtractGPT (arXiv:2310.12537), OA-Mine test",
    ),
)
"""Published micro-F1 on the OA-Mine test split (the ExtractGPT protocol)."""


class BenchConfig(BaseModel):
    """The benchmark's own options (the pipeline's settings are recorded beside them)."""

    data_dir: str
    out_dir: str
    arms: list[Arm] = Field(default_factory=lambda: list(DEFAULT_ARMS))
    seed: int = 13
    """Seeds the stream order and the evaluation subset."""
    stream_limit: int | None = 80
    """Stream products the learning arm sees (None: the whole rest of train)."""
    eval_limit: int | None = 30
    """Test records scored at each checkpoint (None: the whole test split)."""
    checkpoint_every: int = 40
    """Stream products between two learning-curve checkpoints."""
    window: int = 20
    """Stream products per window of the stream statistics."""
    threads: int = 0
    """llama.cpp threads of local models (0: the engine's default, half the cores)."""
    review_budget: int = Field(default=40, ge=0)
    """``human-review`` arm: review-queue items answered from the stream's own labels."""
    reuse: list[str] = Field(default_factory=list)
    """Earlier runs' ``--out`` directories whose saved passes this run loads instead of running
    (see :mod:`dissensus.bench.passes`)."""
    defer: list[str] = Field(default_factory=list)
    """Passes this run leaves to another invocation (``checkpoint-NNNN``, ``single``,
    ``supervisor-only``, ``few-shot``), which joins them with ``reuse``."""


class VariantScores(BaseModel):
    """Both scoring variants of one set of predictions."""

    published: Scores
    strict: Scores


class PassStats(BaseModel):
    """What the pipeline did over a set of products (an evaluation pass or a stream window)."""

    products: int = 0
    disputed_products: int = 0
    """Products with at least one attribute the workers did not settle."""
    disagreement_rate: float = 0.0
    disagreement_by_category: dict[str, float] = Field(default_factory=dict)
    products_by_category: dict[str, int] = Field(default_factory=dict)
    supervisor_calls: int = 0
    disputed_attributes: int = 0
    """Attributes sent to the supervisor (its work per call falls as routes are learned)."""
    routed_attributes: int = 0
    """Lone values a route settled as absent instead of the supervisor."""
    learnings_added: int = 0
    model_requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    tokens_per_product: float = 0.0
    cost_usd: float = 0.0
    """Estimated from the models' list prices (0 for local models)."""
    cost_per_product_usd: float = 0.0
    errors: int = 0
    """Products the pipeline returned an error line for."""
    wall_seconds: float = 0.0
    model_seconds_per_product: float = 0.0
    """Summed latency of the product's model calls (a generator's is its team's wall time)."""
    tokens_per_product_by_role: dict[str, float] = Field(default_factory=dict)
    """``workers`` (generators and evaluator), ``supervisor``, ``memory-manager``."""
    model_seconds_per_product_by_role: dict[str, float] = Field(default_factory=dict)


class SupervisorAccuracy(BaseModel):
    """How often the supervisor's resolutions were right, on the labelled slots it resolved.

    A slot counts when the published protocol scores it (the record lists the attribute); the
    resolution is right when it is the gold value, or no value where the gold is ``n/a``.
    """

    slots: int = 0
    correct: int = 0

    @property
    def rate(self) -> float:
        return round(100 * self.correct / self.slots, 2) if self.slots else 0.0


class ValueVerdicts(BaseModel):
    """Learned values of one status against the labels of the products they came from."""

    right: int = 0
    wrong: int = 0
    """The product's labels give the attribute another value."""
    absent: int = 0
    """The product's labels give the attribute no value (OA-Mine lists only present ones)."""

    @property
    def judged(self) -> int:
        return self.right + self.wrong + self.absent

    @property
    def rate(self) -> float:
        """Percent right of the judged values."""
        return round(100 * self.right / self.judged, 2) if self.judged else 0.0


class LearnedValues(BaseModel):
    """The machine's value learnings at a checkpoint, judged by their stream products' labels:
    what the gate let go live (``active``) and what it held (``proposed``)."""

    active: ValueVerdicts = Field(default_factory=ValueVerdicts)
    proposed: ValueVerdicts = Field(default_factory=ValueVerdicts)


class Interval(BaseModel):
    """A 95 % bootstrap interval of a micro-F1 difference between two arms (``a`` − ``b``)."""

    a: str
    b: str
    variant: Literal["published", "strict"]
    difference: float
    low: float
    high: float
    resamples: int

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


class ReusedPass(BaseModel):
    """A pass this run loaded from an earlier run instead of running it."""

    name: str
    source: str
    """The saved pass's file."""
    run_started_at: str
    wall_seconds: float


class WindowStats(PassStats):
    """Stream statistics of one window of consecutive stream products (in processing order)."""

    index: int
    start: int
    """Stream products finished before the window."""
    end: int


class CheckpointResult(BaseModel):
    """The learning arm scored on the evaluation set with its knowledge base frozen."""

    after: int
    """Stream products seen before this checkpoint."""
    learnings: int
    """Active learnings in the knowledge base at this checkpoint."""
    kb_version: int
    system: VariantScores
    """The full system's output."""
    generator: VariantScores
    """Generator-a's raw output in the same pass (does knowledge reach the workers?)."""
    stats: PassStats
    supervisor: SupervisorAccuracy = Field(default_factory=SupervisorAccuracy)
    """The supervisor's resolutions in this pass, checked against the gold labels."""
    learned: LearnedValues = Field(default_factory=LearnedValues)
    """The value learnings in the frozen knowledge base, judged by the stream's labels."""


class ReviewStats(BaseModel):
    """The simulated reviewers of the ``human-review`` arm: items answered and what they taught."""

    budget: int
    answered: int = 0
    by_reason: dict[str, int] = Field(default_factory=dict)
    """Answered items by the reason they were queued for."""
    open_left: int = 0
    """Items still open when the stream ended (beyond the budget, or queued last)."""
    taught_active: int = 0
    """Value and example learnings the answers added as active."""
    taught_held: int = 0
    """Learnings the answers added that the gate kept proposed."""
    confirmed: int = 0
    """Answers whose learning already existed (held ones among them were activated)."""


class ArmResult(BaseModel):
    """One arm scored on the evaluation set."""

    arm: Arm
    description: str
    scores: VariantScores
    stats: PassStats
    source: str = ""
    """Where the numbers come from when they are shared with another pass."""


class ModelVersion(BaseModel):
    """A model a run used, and the package or weights version behind it when known."""

    name: str
    roles: list[str]
    version: str | None = None
    input_price_per_mtok: float = 0.0
    output_price_per_mtok: float = 0.0


class DataFileInfo(BaseModel):
    """A data file the run read."""

    role: str
    path: str
    sha256: str
    records: int


class BenchResults(BaseModel):
    """Everything ``dissensus bench extraction`` measured (written as ``results.json``)."""

    benchmark: Literal["extraction"] = "extraction"
    dataset: str = "OA-Mine"
    """Named from the data directory (its ``SOURCE.md`` title, else the folder's name)."""
    dissensus_version: str
    started_at: str
    wall_seconds: float = 0.0
    config: BenchConfig
    settings: dict[str, object]
    """The pipeline settings of the system arms (``dissensus.config.Settings``)."""
    models: list[ModelVersion] = Field(default_factory=list)
    data: list[DataFileInfo] = Field(default_factory=list)
    split_sizes: dict[str, int] = Field(default_factory=dict)
    schema_attributes: dict[str, list[str]] = Field(default_factory=dict)
    machine: dict[str, object] = Field(default_factory=dict)
    """CPU count, Python version and load averages at start and end (the machine is shared)."""
    arms: dict[str, ArmResult] = Field(default_factory=dict)
    checkpoints: list[CheckpointResult] = Field(default_factory=list)
    review_checkpoints: list[CheckpointResult] = Field(default_factory=list)
    """The ``human-review`` arm's learning curve (its checkpoint 0 is the learning arm's)."""
    reviews: ReviewStats | None = None
    """What the simulated reviewers of the ``human-review`` arm did."""
    windows: list[WindowStats] = Field(default_factory=list)
    stream: PassStats | None = None
    """The whole stream of the learning arm."""
    phase_seconds: dict[str, float] = Field(default_factory=dict)
    references: list[Reference] = Field(default_factory=lambda: list(REFERENCES))
    notes: list[str] = Field(default_factory=list)
    knowledge_export: str | None = None
    intervals: list[Interval] = Field(default_factory=list)
    """Bootstrap intervals of the F1 differences between arms (over evaluation records)."""
    reused: list[ReusedPass] = Field(default_factory=list)
    """Passes loaded from earlier runs (``--reuse``); ``wall_seconds`` does not include them."""
