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
    "ModelVersion",
    "PassStats",
    "Reference",
    "VariantScores",
    "WindowStats",
]

Arm = Literal["single", "no-learning", "learning", "supervisor-only"]
ARMS: tuple[Arm, ...] = ("single", "no-learning", "learning", "supervisor-only")
"""Every arm, in the order reports show them."""


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
    arms: list[Arm] = Field(default_factory=lambda: list(ARMS))
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
    windows: list[WindowStats] = Field(default_factory=list)
    stream: PassStats | None = None
    """The whole stream of the learning arm."""
    phase_seconds: dict[str, float] = Field(default_factory=dict)
    references: list[Reference] = Field(default_factory=lambda: list(REFERENCES))
    notes: list[str] = Field(default_factory=list)
    knowledge_export: str | None = None
