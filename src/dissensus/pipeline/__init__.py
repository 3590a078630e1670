"""Runs: streaming input, batching by category, per-product stages, resume and summaries.

Owns the orchestration of a run and its state in storage. It may import every inner room
(domain, llm, workers, consensus, knowledge, supervisor, storage); it must not contain prompts
or consensus rules, and fronts (cli, web, bench) call it rather than the rooms below.
"""

from dissensus.pipeline.inputs import InputRecord, read_records
from dissensus.pipeline.runner import Runner, RunRequest, new_run_id
from dissensus.pipeline.stages import ProductEnricher, ProductOutcome
from dissensus.pipeline.summary import CategoryStats, RunSummary

__all__ = [
    "CategoryStats",
    "InputRecord",
    "ProductEnricher",
    "ProductOutcome",
    "RunRequest",
    "RunSummary",
    "Runner",
    "new_run_id",
    "read_records",
]
