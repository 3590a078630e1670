"""Benchmarks: data-set loaders, scoring, the experiment runner, reports and plots.

Owns ``dissensus bench extraction`` (loading labelled product data — OA-Mine as prepared by
ExtractGPT — into visible product text and gold labels kept apart, the published scoring
protocol and its strict variant, the arms run side by side, the learning curve and stream
statistics, the report, plots and ``results.json``) and ``dissensus bench throughput``
(``throughput.py``: the pipeline against the raw engine). It drives products through
``pipeline`` exactly as a run does and may use the inner rooms' public classes, but must not
change their behaviour. It must not leak gold labels into a run: only the scorer reads them (run
inputs are written from product text alone; the verified catalog comes from the separate
``train_0.2`` split, never the test split). The CLI fronts are ``dissensus.cli.bench_*``.
"""

from dissensus.bench.experiment import (
    BenchProgress,
    ExtractionBenchmark,
    checkpoints,
    run_extraction,
)
from dissensus.bench.loader import (
    DATA_ENV,
    GoldLabels,
    LabelledRecord,
    ProductText,
    default_data_dir,
    load_split,
)
from dissensus.bench.results import (
    ARMS,
    DEFAULT_ARMS,
    REFERENCES,
    Arm,
    BenchConfig,
    BenchResults,
)
from dissensus.bench.scoring import Scores, SlotCounts, Variant, classify, score
from dissensus.bench.splits import DataPlan, plan_data

__all__ = [
    "ARMS",
    "DATA_ENV",
    "DEFAULT_ARMS",
    "REFERENCES",
    "Arm",
    "BenchConfig",
    "BenchProgress",
    "BenchResults",
    "DataPlan",
    "ExtractionBenchmark",
    "GoldLabels",
    "LabelledRecord",
    "ProductText",
    "Scores",
    "SlotCounts",
    "Variant",
    "checkpoints",
    "classify",
    "default_data_dir",
    "load_split",
    "plan_data",
    "run_extraction",
    "score",
]
