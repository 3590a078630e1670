"""The extraction benchmark: the four arms side by side, the learning curve, stream statistics.

One invocation runs, on the same models and data:

- the ``learning`` arm: the stream flows through :class:`~dissensus.pipeline.Runner` with learning
  on (deploy-and-learn); at checkpoints after 0, N, 2N, ... stream products the knowledge base is
  frozen (the database is copied) and the evaluation set runs through a Runner on the copy with
  learning off, so evaluation neither writes learnings nor changes the usage counts that rank
  them; each checkpoint scores the full system's output and generator-a's raw output;
- the ``no-learning`` arm: checkpoint 0 *is* this arm (same settings, empty knowledge base,
  learning off during evaluation), so it is reported from that pass rather than run twice;
- the ``single`` arm: generator-a alone, no knowledge base, no supervisor. At checkpoint 0
  generator-a's prompt is exactly that of a lone generator (no learnings), and decoding is
  greedy, so its raw output in that pass is this arm; it runs on its own only when neither
  system arm is selected;
- the ``supervisor-only`` arm: the supervisor model on every attribute of every product.

Gold labels stay in memory for the scorer: the runs read files written from the products'
visible text only (see :mod:`dissensus.bench.splits`).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import os
import platform
import shutil
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from dissensus import __version__
from dissensus.bench.arms import ArmOutput, run_lexicon, run_single, run_supervisor_only
from dissensus.bench.bootstrap import difference_interval, record_counts
from dissensus.bench.learned import judge_learned_values
from dissensus.bench.loader import GoldLabels, LabelledRecord, ProductText
from dissensus.bench.passes import SavedPass, checkpoint_pass, load_passes, pass_basis
from dissensus.bench.plots import write_plots
from dissensus.bench.report import write_report
from dissensus.bench.results import (
    Arm,
    ArmResult,
    BenchConfig,
    BenchResults,
    CheckpointResult,
    DataFileInfo,
    Interval,
    ModelVersion,
    PassStats,
    ReusedPass,
    ReviewStats,
    SupervisorAccuracy,
    VariantScores,
    WindowStats,
)
from dissensus.bench.scoring import Prediction, classify, score
from dissensus.bench.splits import DataPlan, plan_data, write_inputs
from dissensus.bench.stats import Observation, observe, pass_stats, windows
from dissensus.config import Settings
from dissensus.domain import CatalogSchema, Usage
from dissensus.errors import InputError
from dissensus.knowledge import KnowledgeBase, LearningGate
from dissensus.llm import LLM, EngineOptions, ModelProfile
from dissensus.llm.local import LOCAL_MODELS, LocalLLM
from dissensus.pipeline import InputRecord, ProductOutcome, Runner, RunRequest
from dissensus.review import ReviewQueue, ReviewTeacher
from dissensus.storage import Database
from dissensus.supervisor import VerifiedCatalog

__all__ = ["BenchProgress", "ExtractionBenchmark", "checkpoints", "run_extraction"]

ModelOpener = Callable[[str], LLM]
_MARKER = ".dissensus-bench"


class BenchProgress(Protocol):
    """Where the benchmark reports progress (the CLI shows a rich progress bar)."""

    def start(self, total: int) -> None:
        """The number of product passes the whole benchmark will make."""

    def phase(self, name: str) -> None:
        """A new phase begins (``stream 0-75``, ``eval @75``, ...)."""

    def advance(self, n: int = 1) -> None:
        """``n`` more product passes are done."""


class _Silent:
    def start(self, total: int) -> None:
        pass

    def phase(self, name: str) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass


def checkpoints(stream: int, every: int) -> list[int]:
    """Stream positions to evaluate at: 0, every, 2*every, ... and the end of the stream."""
    if every < 1:
        raise InputError(f"--checkpoint-every must be at least 1, got {every}")
    points = list(range(0, stream + 1, every))
    if points[-1] != stream:
        points.append(stream)
    return points


@dataclass(slots=True)
class _PassOutput:
    """Predictions and observations of one evaluation pass, in evaluation-set order."""

    system: list[Prediction]
    generator: list[Prediction]
    statuses: list[dict[str, str]] = field(default_factory=list)
    """Per record, each attribute's status (``supervisor`` marks the resolved slots)."""
    observations: list[Observation] = field(default_factory=list)
    generator_observations: list[Observation] = field(default_factory=list)
    wall_seconds: float = 0.0
    generator_stats: PassStats | None = None
    """Generator-a's share of the cost, when the pass was loaded rather than observed."""

    def generator_cost(self) -> PassStats:
        return self.generator_stats or pass_stats(self.generator_observations)


class _StreamClock:
    """A clock that runs only while the stream runs (evaluations pause it)."""

    def __init__(self) -> None:
        self.elapsed = 0.0
        self._since: float | None = None

    def resume(self) -> None:
        self._since = time.perf_counter()

    def pause(self) -> None:
        if self._since is not None:
            self.elapsed += time.perf_counter() - self._since
            self._since = None

    def __call__(self) -> float:
        running = time.perf_counter() - self._since if self._since is not None else 0.0
        return self.elapsed + running


class ExtractionBenchmark:
    """Runs ``dissensus bench extraction`` and writes its machine-readable outputs.

    Args:
        config: Benchmark options (data, limits, checkpoints, arms, seed).
        settings: Pipeline settings of the system arms (models, consensus policy, batching).
        open_model: Model strings to models (a :class:`~dissensus.llm.ModelPool`'s ``get``).
        progress: Progress sink; silent by default.
    """

    def __init__(
        self,
        config: BenchConfig,
        settings: Settings,
        *,
        open_model: ModelOpener,
        progress: BenchProgress | None = None,
    ) -> None:
        self.config = config
        self.settings = settings
        self.open_model = open_model
        self.progress: BenchProgress = progress or _Silent()
        self.out = Path(config.out_dir)
        self.work = self.out / "work"
        self.schema_path = self.work / "schema.yaml"
        self.verified_path = self.work / "verified.jsonl"
        self.eval_path = self.work / "eval.jsonl"
        self._eval_ids: list[str] = []
        self._clock = _StreamClock()
        self._stream_labels: dict[str, GoldLabels] = {}
        self._stream_obs: list[Observation] = []
        self._phase_seconds: dict[str, float] = {}
        self._last_single: list[Prediction] = []
        self._last_supervisor_only: list[Prediction] = []
        self._basis: dict[str, object] = {}
        self._started_at = ""
        self._saved: dict[str, tuple[SavedPass, Path]] = {}

    # --- the run --------------------------------------------------------------------------

    async def run(self) -> BenchResults:
        """Run every selected arm and return (and write) the results."""
        started = time.perf_counter()
        load_start = os.getloadavg()
        cfg = self.config
        plan = plan_data(
            Path(cfg.data_dir),
            seed=cfg.seed,
            stream_limit=cfg.stream_limit,
            eval_limit=cfg.eval_limit,
        )
        self._prepare_workspace(plan)
        settings_dump = self.settings.model_dump(mode="json", exclude={"home", "database_url"})
        self._started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self._basis = pass_basis(
            data={f.role: f.sha256 for f in plan.files},
            seed=cfg.seed,
            stream_limit=cfg.stream_limit,
            eval_limit=cfg.eval_limit,
            eval_ids=self._eval_ids,
            settings=settings_dump,
            version=__version__,
        )
        self._saved = load_passes(cfg.reuse, self._basis, self._eval_ids) if cfg.reuse else {}
        # For judging what the stream taught (bench.learned); no run reads them.
        self._stream_labels = {r.product.id: r.gold for r in plan.stream}
        schema = CatalogSchema.load(self.schema_path)
        arms = set(cfg.arms)
        system = bool(arms & {"learning", "no-learning", "human-review"})
        streamed = bool(arms & {"learning", "human-review"})
        stream_len = len(plan.stream) if streamed else 0
        points = checkpoints(stream_len, cfg.checkpoint_every) if system else []
        # Without the learning arm, the human-review arm's stream is the only one.
        learning_points = points if "learning" in arms or "human-review" not in arms else [0]
        deferred = self._deferred(learning_points, arms, system=system)
        skipped = {*self._saved, *deferred}
        to_run = [p for p in learning_points if checkpoint_pass(p) not in skipped]
        n_eval = len(plan.evaluation)
        total = len(to_run) * n_eval + max(to_run, default=0)
        if "human-review" in arms:  # its own stream and checkpoints; checkpoint 0 is shared
            total += stream_len + (len(points) - 1) * n_eval
        for arm in ("supervisor-only", "single", "few-shot"):
            alone = arm != "few-shot" or not system
            total += n_eval if arm in arms and alone and arm not in skipped else 0
        self.progress.start(total)

        results = BenchResults(
            dataset=dataset_name(Path(cfg.data_dir)),
            dissensus_version=__version__,
            started_at=self._started_at,
            config=cfg,
            settings=settings_dump,
            models=self._models(arms),
            data=[
                DataFileInfo(role=f.role, path=str(f.path), sha256=f.sha256, records=f.records)
                for f in plan.files
            ],
            split_sizes={
                "verified": len(plan.verified),
                "stream": len(plan.stream),
                "evaluation": n_eval,
            },
            schema_attributes=plan.schema,
        )
        gold = [r.gold for r in plan.evaluation]
        predictions: dict[str, list[Prediction]] = {}

        def scored(predictions: Sequence[Prediction]) -> VariantScores:
            return VariantScores(
                published=score(gold, predictions, schema=plan.schema, variant="published"),
                strict=score(gold, predictions, schema=plan.schema, variant="strict"),
            )

        first: _PassOutput | None = None
        if system:
            stream_db = Database.open(f"sqlite:///{self.work / 'stream.db'}")
            loaded_stream: SavedPass | None = None
            try:
                previous = 0
                for point in learning_points:
                    key = checkpoint_pass(point)
                    if key in deferred:
                        continue
                    if key in self._saved:
                        saved = self._reuse(key, results)
                        assert saved.checkpoint is not None  # checked when it was loaded
                        checkpoint = saved.checkpoint
                        output = _PassOutput(
                            system=list(saved.predictions),
                            generator=list(saved.generator),
                            wall_seconds=saved.wall_seconds,
                            generator_stats=saved.generator_stats,
                        )
                        if saved.stream is not None:
                            loaded_stream = saved
                    else:
                        if point > previous:
                            await self._stream(stream_db, plan.stream[previous:point], previous)
                            previous = point
                        output, checkpoint = await self._checkpoint(stream_db, point, scored)
                        checkpoint.supervisor = supervisor_accuracy(gold, output)
                        self._save_checkpoint(key, output, checkpoint, streamed="learning" in arms)
                    results.checkpoints.append(checkpoint)
                    # Only a selected learning arm gets a name the intervals compare.
                    final = point == points[-1] and "learning" in arms
                    name = "learning" if final else f"@{point}"
                    predictions[name] = output.system
                    self._write_predictions(f"learning-after-{point:04d}", plan, output.system)
                    self._write_predictions(
                        f"learning-after-{point:04d}-generator-a", plan, output.generator
                    )
                    if point == 0:
                        first = output
                if stream_len and "learning" in arms:
                    results.stream = pass_stats(self._stream_obs, wall_seconds=self._clock())
                    results.windows = windows(self._stream_obs, cfg.window, started=0.0)
                    if loaded_stream is not None and loaded_stream.stream is not None:
                        if loaded_stream.stream.products > results.stream.products:
                            results.stream = loaded_stream.stream
                            results.windows = list(loaded_stream.windows)
                            results.notes.append(
                                f"The stream statistics are those of the run that made "
                                f"{loaded_stream.name} (started {loaded_stream.run_started_at}): "
                                f"this run streamed {previous} products."
                            )
                if learning_points is points and previous == stream_len:
                    results.knowledge_export = self._export_knowledge(stream_db)
                elif learning_points is points:
                    results.notes.append(
                        f"No knowledge.json: this run streamed {previous} of {stream_len} "
                        "products (the later checkpoints were loaded from an earlier run)."
                    )
            finally:
                stream_db.close()
            if "human-review" in arms and stream_len:
                predictions["human-review"] = await self._human_review(
                    plan, points, results, scored
                )

        zero = next((c for c in results.checkpoints if c.after == 0), None)
        if first is not None and zero is not None:
            if "no-learning" in arms:
                results.arms["no-learning"] = ArmResult(
                    arm="no-learning",
                    description="workers + consensus + supervisor, knowledge base disabled",
                    scores=zero.system,
                    stats=zero.stats,
                    source="the learning arm's checkpoint 0 (same settings, empty knowledge "
                    "base, learning off during evaluation): one pass, reported for both",
                )
        if system:
            if "human-review" in arms and results.review_checkpoints:
                last = results.review_checkpoints[-1]
                reviews = results.reviews
                results.arms["human-review"] = ArmResult(
                    arm="human-review",
                    description="the learning arm with reviewers: review-queue items on stream "
                    "products answered from the stream's own labels, the answers teaching the "
                    f"knowledge base (budget {cfg.review_budget} answers)",
                    scores=last.system,
                    stats=last.stats,
                    source=f"its last checkpoint (after {last.after} stream products and "
                    f"{reviews.answered if reviews else 0} answers, knowledge base frozen)",
                )
            ended = bool(results.checkpoints) and checkpoint_pass(points[-1]) not in deferred
            if "learning" in arms and ended:
                last = results.checkpoints[-1]
                results.arms["learning"] = ArmResult(
                    arm="learning",
                    description="the full system after learning online from the stream",
                    scores=last.system,
                    stats=last.stats,
                    source=f"the learning arm's last checkpoint (after {last.after} stream "
                    "products, knowledge base frozen)",
                )
        if first is not None and zero is not None:
            predictions["no-learning"] = first.system
            if "few-shot" in arms:
                self._write_predictions("few-shot", plan, first.generator)
                predictions["few-shot"] = first.generator
                results.arms["few-shot"] = ArmResult(
                    arm="few-shot",
                    description="one generator (generator-a) shown the most similar verified "
                    "examples, no lexicon, no supervisor, no knowledge base",
                    scores=zero.generator,
                    stats=first.generator_cost(),
                    source="generator-a's raw output in the checkpoint-0 pass: with an empty "
                    "knowledge base its prompt is exactly a lone few-shot generator's and "
                    "decoding is greedy (tokens are generator-a's own)",
                )
        elif "few-shot" in arms and not system:
            await self._arm_pass("few-shot", plan, results, predictions, scored, schema)
        if "single" in arms:
            await self._arm_pass("single", plan, results, predictions, scored, schema)
        if "lexicon" in arms:
            results.arms["lexicon"], predictions["lexicon"] = self._lexicon(plan, schema, scored)

        if "supervisor-only" in arms:
            await self._arm_pass("supervisor-only", plan, results, predictions, scored, schema)
        results.intervals = intervals(gold, predictions, plan.schema)

        results.arms = {a: results.arms[a] for a in cfg.arms if a in results.arms}
        results.phase_seconds = self._phase_seconds
        results.wall_seconds = round(time.perf_counter() - started, 2)
        results.machine = {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_start": [round(x, 2) for x in load_start],
            "load_average_end": [round(x, 2) for x in os.getloadavg()],
            "llama_threads_env": os.environ.get("DISSENSUS_LLAMA_THREADS"),
            "llama_threads": EngineOptions(threads=cfg.threads).thread_count(),
        }
        if zero is not None and "learning" in arms:
            results.notes.append(
                "Checkpoint 0 of the learning arm is the no-learning arm's evaluation "
                "(reused, not run twice)."
            )
        if zero is not None and "few-shot" in arms:
            results.notes.append(
                "The few-shot arm is generator-a's raw output in the checkpoint-0 pass "
                "(retrieved verified examples, no learnings, greedy decoding), not a separate run."
            )
        results.notes.append(
            f"Seed {cfg.seed} orders the stream and picks the evaluation subset; model calls "
            "decode greedily (temperature 0)."
        )
        if deferred:
            results.notes.append(
                f"Left to another invocation (--defer): {', '.join(sorted(deferred))}; a run "
                "with --reuse of this one joins them."
            )
        if results.reused:
            loaded = sum(r.wall_seconds for r in results.reused)
            results.notes.append(
                f"{len(results.reused)} passes were loaded from earlier runs on the same basis "
                f"(--reuse): {', '.join(r.name for r in results.reused)}; they took "
                f"{loaded:.0f} s there, which the wall time of this run does not include."
            )
        (self.out / "results.json").write_text(results.model_dump_json(indent=2), "utf-8")
        return results

    # --- phases ---------------------------------------------------------------------------

    async def _stream(
        self,
        db: Database,
        records: list[LabelledRecord],
        start: int,
        *,
        lane: str = "",
        observations: list[Observation] | None = None,
    ) -> str:
        """Stream products through the learning system (learning on) on the live database;
        returns the run id. ``lane`` names a second stream (``review``) apart from the first."""
        end = start + len(records)
        tag = f"{lane}-" if lane else ""
        name = f"{lane + ' ' if lane else ''}stream {start}-{end}"
        self.progress.phase(name)
        path = write_inputs(records, self.work / f"{tag}stream-{start:04d}-{end:04d}.jsonl")
        settings = self.settings.model_copy(update={"learning": True, "use_knowledge": True})
        sink = self._stream_obs if observations is None else observations
        clock: Callable[[], float] | None = self._clock if observations is None else None

        def hook(record: InputRecord, outcome: ProductOutcome) -> None:
            sink.append(
                observe(
                    _category(record, outcome),
                    outcome,
                    self._profile,
                    clock=clock or time.perf_counter,
                )
            )
            self.progress.advance()

        run_id = f"bench-{tag}stream-{start:04d}-{end:04d}"
        await self._cold_start()
        began = time.perf_counter()
        if clock is not None:
            self._clock.resume()
        try:
            await Runner(settings, db=db, open_model=self.open_model, on_product=hook).run(
                self._request(path, run_id)
            )
        finally:
            if clock is not None:
                self._clock.pause()
        self._phase_seconds[name] = round(time.perf_counter() - began, 2)
        return run_id

    async def _checkpoint(
        self,
        stream_db: Database,
        after: int,
        scored: Callable[[Sequence[Prediction]], VariantScores],
        *,
        lane: str = "",
    ) -> tuple[_PassOutput, CheckpointResult]:
        """Freeze the knowledge base (a copy of the database) and score the evaluation set."""
        tag = f"{lane}-" if lane else ""
        name = f"{lane + ' ' if lane else ''}eval @{after}"
        self.progress.phase(name)
        frozen = self.work / f"{tag}checkpoint-{after:04d}.db"
        _copy_sqlite(self.work / f"{tag}stream.db", frozen)
        db = Database.open(f"sqlite:///{frozen}")
        try:
            kb = KnowledgeBase(db)
            learnings, version = len(kb.list(status="active")), kb.version()
            learned = judge_learned_values(kb, self._stream_labels)
            settings = self.settings.model_copy(update={"learning": False, "use_knowledge": True})
            output = await self._evaluate(db, settings, f"bench-{tag}eval-{after:04d}", name)
        finally:
            db.close()
        checkpoint = CheckpointResult(
            after=after,
            learnings=learnings,
            kb_version=version,
            system=scored(output.system),
            generator=scored(output.generator),
            stats=pass_stats(output.observations, wall_seconds=output.wall_seconds),
            learned=learned,
        )
        return output, checkpoint

    async def _evaluate(
        self, db: Database, settings: Settings, run_id: str, name: str
    ) -> _PassOutput:
        """One Runner pass over the evaluation inputs; predictions by input position."""
        n = len(self._eval_ids)
        output = _PassOutput(
            system=[{} for _ in range(n)],
            generator=[{} for _ in range(n)],
            statuses=[{} for _ in range(n)],
        )

        def hook(record: InputRecord, outcome: ProductOutcome) -> None:
            category = _category(record, outcome)
            output.system[record.seq] = {
                attr: result.value for attr, result in outcome.record.attributes.items()
            }
            output.statuses[record.seq] = {
                attr: result.status for attr, result in outcome.record.attributes.items()
            }
            output.observations.append(observe(category, outcome, self._profile))
            work = outcome.work
            if work is not None and work.extractions:
                first = work.extractions[0]
                output.generator[record.seq] = dict(first.values)
                seconds = next((c.latency_s for c in outcome.calls if c.role == first.role), 0.0)
                output.generator_observations.append(
                    _generator_observation(
                        category, first.model, first.usage, self._profile, seconds=seconds
                    )
                )
            self.progress.advance()

        await self._cold_start()
        began = time.perf_counter()
        await Runner(settings, db=db, open_model=self.open_model, on_product=hook).run(
            self._request(self.eval_path, run_id)
        )
        output.wall_seconds = time.perf_counter() - began
        self._phase_seconds[name] = round(output.wall_seconds, 2)
        return output

    async def _human_review(
        self,
        plan: DataPlan,
        points: list[int],
        results: BenchResults,
        scored: Callable[[Sequence[Prediction]], VariantScores],
    ) -> list[Prediction]:
        """The ``human-review`` arm: the same stream on a database of its own, where after every
        window of products simulated reviewers answer the open review items of that window from
        the stream's labels (up to the budget), and their answers teach the knowledge base.

        Checkpoint 0 is the learning arm's (nothing streamed, nothing reviewed), so it is not
        run again; the returned predictions are the last checkpoint's."""
        cfg = self.config
        gold = [r.gold for r in plan.evaluation]
        labels = {r.product.id: r.gold for r in plan.stream}
        stats = ReviewStats(budget=cfg.review_budget)
        results.reviews = stats
        verified = VerifiedCatalog.load(self.verified_path)
        schema = CatalogSchema.load(self.schema_path)
        observations: list[Observation] = []
        db = Database.open(f"sqlite:///{self.work / 'review-stream.db'}")
        last: list[Prediction] = []
        try:
            queue = ReviewQueue(
                db,
                teacher=ReviewTeacher(
                    KnowledgeBase(db),
                    status=self.settings.deployment().authored_status,
                    gate=LearningGate(verified.products) if self.settings.learning_gate else None,
                ),
            )
            previous = 0
            for point in points[1:]:
                for start in range(previous, point, max(1, cfg.window)):
                    end = min(point, start + max(1, cfg.window))
                    run_id = await self._stream(
                        db, plan.stream[start:end], start, lane="review", observations=observations
                    )
                    await _answer_reviews(queue, run_id, labels, schema, stats)
                previous = point
                output, checkpoint = await self._checkpoint(db, point, scored, lane="review")
                checkpoint.supervisor = supervisor_accuracy(gold, output)
                results.review_checkpoints.append(checkpoint)
                self._write_predictions(f"human-review-after-{point:04d}", plan, output.system)
                last = output.system
            stats.open_left = queue.stats().open
        finally:
            db.close()
        return last

    async def _single(
        self,
        plan: DataPlan,
        schema: CatalogSchema,
        scored: Callable[[Sequence[Prediction]], VariantScores],
        *,
        few_shot: bool = False,
    ) -> ArmResult:
        name: Arm = "few-shot" if few_shot else "single"
        self.progress.phase(name)
        spec = self.settings.generators[0]
        await self._cold_start()
        began = time.perf_counter()
        outputs = await run_single(
            [r.product for r in plan.evaluation],
            schema,
            self.open_model(spec.model),
            style=spec.style,
            concurrency=self.settings.concurrency,
            done=self._advance,
            catalog=VerifiedCatalog.load(self.verified_path) if few_shot else None,
            examples=self.settings.examples_per_product,
        )
        wall = time.perf_counter() - began
        self._phase_seconds[name] = round(wall, 2)
        predictions: list[Prediction] = [o.values for o in outputs]
        self._last_single = predictions
        self._write_predictions(name, plan, predictions)
        return ArmResult(
            arm=name,
            description=(
                "one generator (generator-a) shown the most similar verified examples, no "
                "lexicon, no supervisor"
                if few_shot
                else "one generator (generator-a) zero-shot: no examples, no knowledge base, "
                "no supervisor"
            ),
            scores=scored(predictions),
            stats=self._arm_stats(plan, outputs, wall),
        )

    def _lexicon(
        self,
        plan: DataPlan,
        schema: CatalogSchema,
        scored: Callable[[Sequence[Prediction]], VariantScores],
    ) -> tuple[ArmResult, list[Prediction]]:
        """The verified catalog's dictionary alone: no model (the free baseline)."""
        began = time.perf_counter()
        predictions: list[Prediction] = list(
            run_lexicon(
                [r.product for r in plan.evaluation],
                schema,
                VerifiedCatalog.load(self.verified_path),
            )
        )
        self._phase_seconds["lexicon"] = round(time.perf_counter() - began, 2)
        self._write_predictions("lexicon", plan, predictions)
        return (
            ArmResult(
                arm="lexicon",
                description="the lexicon worker alone on the verified catalog's values: the "
                "longest known values found in each title, no model",
                scores=scored(predictions),
                stats=PassStats(products=len(predictions)),
            ),
            predictions,
        )

    async def _supervisor_only(
        self,
        plan: DataPlan,
        schema: CatalogSchema,
        scored: Callable[[Sequence[Prediction]], VariantScores],
    ) -> ArmResult:
        self.progress.phase("supervisor-only")
        await self._cold_start()
        began = time.perf_counter()
        outputs = await run_supervisor_only(
            [r.product for r in plan.evaluation],
            schema,
            self.open_model(self.settings.supervisor),
            VerifiedCatalog.load(self.verified_path),
            concurrency=self.settings.concurrency,
            done=self._advance,
            examples=self.settings.examples_per_product,
        )
        wall = time.perf_counter() - began
        self._phase_seconds["supervisor-only"] = round(wall, 2)
        predictions: list[Prediction] = [o.values for o in outputs]
        self._last_supervisor_only = predictions
        self._write_predictions("supervisor-only", plan, predictions)
        return ArmResult(
            arm="supervisor-only",
            description="the supervisor model on every attribute of every product "
            "(the same retrieved verified examples and known values, no workers, no knowledge "
            "base)",
            scores=scored(predictions),
            stats=self._arm_stats(plan, outputs, wall),
        )

    # --- saved passes ---------------------------------------------------------------------

    async def _arm_pass(
        self,
        arm: Arm,
        plan: DataPlan,
        results: BenchResults,
        predictions: dict[str, list[Prediction]],
        scored: Callable[[Sequence[Prediction]], VariantScores],
        schema: CatalogSchema,
    ) -> None:
        """A baseline arm with a pass of its own: loaded if an earlier run saved it, else run
        (and saved)."""
        if arm in self.config.defer:
            return
        if arm in self._saved:
            saved = self._reuse(arm, results)
            assert saved.arm is not None  # checked when it was loaded
            results.arms[arm] = saved.arm
            predictions[arm] = list(saved.predictions)
            self._write_predictions(arm, plan, predictions[arm])
            return
        if arm == "supervisor-only":
            result = await self._supervisor_only(plan, schema, scored)
            predictions[arm] = self._last_supervisor_only
        else:
            result = await self._single(plan, schema, scored, few_shot=arm == "few-shot")
            predictions[arm] = self._last_single
        results.arms[arm] = result
        self._save(arm, predictions[arm], wall=result.stats.wall_seconds, arm=result)

    def _deferred(self, points: Sequence[int], arms: set[Arm], *, system: bool) -> set[str]:
        """The passes named by ``--defer``, checked against the passes this run would run."""
        own = {checkpoint_pass(p) for p in points}
        own |= {a for a in ("single", "supervisor-only") if a in arms}
        if "few-shot" in arms and not system:
            own.add("few-shot")
        unknown = sorted(set(self.config.defer) - own)
        if unknown:
            raise InputError(
                f"--defer {', '.join(unknown)}: not a pass of this run; its passes are "
                f"{', '.join(sorted(own))}"
            )
        return set(self.config.defer)

    def _save_checkpoint(
        self, key: str, output: _PassOutput, checkpoint: CheckpointResult, *, streamed: bool
    ) -> None:
        """Save a checkpoint pass, with the stream statistics that led to it."""
        stream: PassStats | None = None
        stream_windows: list[WindowStats] = []
        if streamed and checkpoint.after:
            stream = pass_stats(self._stream_obs, wall_seconds=self._clock())
            stream_windows = windows(self._stream_obs, self.config.window, started=0.0)
        self._save(
            key,
            output.system,
            wall=output.wall_seconds,
            generator=output.generator,
            checkpoint=checkpoint,
            generator_stats=output.generator_cost(),
            stream=stream,
            stream_windows=stream_windows,
        )

    def _save(
        self,
        name: str,
        predictions: Sequence[Prediction],
        *,
        wall: float,
        generator: Sequence[Prediction] = (),
        checkpoint: CheckpointResult | None = None,
        generator_stats: PassStats | None = None,
        stream: PassStats | None = None,
        stream_windows: Sequence[WindowStats] = (),
        arm: ArmResult | None = None,
    ) -> None:
        SavedPass(
            name=name,
            basis=self._basis,
            run_started_at=self._started_at,
            wall_seconds=round(wall, 2),
            eval_ids=self._eval_ids,
            predictions=[dict(p) for p in predictions],
            generator=[dict(p) for p in generator],
            checkpoint=checkpoint,
            generator_stats=generator_stats,
            stream=stream,
            windows=list(stream_windows),
            arm=arm,
        ).write(self.out)

    def _reuse(self, name: str, results: BenchResults) -> SavedPass:
        """Take a loaded pass: note it in the results and copy it into this run's outputs."""
        saved, path = self._saved[name]
        if name.startswith("checkpoint-") and saved.checkpoint is None:
            raise InputError(f"{path} holds no checkpoint result")
        if not name.startswith("checkpoint-") and saved.arm is None:
            raise InputError(f"{path} holds no arm result")
        results.reused.append(
            ReusedPass(
                name=name,
                source=str(path),
                run_started_at=saved.run_started_at,
                wall_seconds=saved.wall_seconds,
            )
        )
        if path.parent.resolve() != (self.out / "passes").resolve():
            shutil.copyfile(path, self.out / "passes" / path.name)
        return saved

    # --- helpers --------------------------------------------------------------------------

    def _advance(self, _text: ProductText, _output: ArmOutput) -> None:
        self.progress.advance()

    def _arm_stats(self, plan: DataPlan, outputs: list[ArmOutput], wall: float) -> PassStats:
        observations = [
            observe(r.product.category, o.outcome, self._profile)
            for r, o in zip(plan.evaluation, outputs, strict=True)
        ]
        return pass_stats(observations, wall_seconds=wall)

    def _profile(self, model: str) -> ModelProfile:
        return self.open_model(model).profile

    def _request(self, input_path: Path, run_id: str) -> RunRequest:
        return RunRequest(
            input_path=input_path,
            schema_path=self.schema_path,
            out_path=self.work / "outputs" / f"{run_id}.jsonl",
            run_id=run_id,
            verified_path=self.verified_path,
        )

    def _prepare_workspace(self, plan: DataPlan) -> None:
        """A fresh ``work/`` directory with the run inputs (no gold labels in any of them)."""
        if self.work.exists():
            if not (self.work / _MARKER).exists():
                raise InputError(
                    f"{self.work} exists and is not a benchmark workspace; choose another --out"
                )
            shutil.rmtree(self.work)
        (self.work / "outputs").mkdir(parents=True)
        (self.out / "predictions").mkdir(parents=True, exist_ok=True)
        (self.out / "passes").mkdir(parents=True, exist_ok=True)
        (self.work / _MARKER).write_text("created by dissensus bench extraction\n", "utf-8")
        self.schema_path = plan.write_schema(self.work / "schema.yaml")
        self.verified_path = plan.write_verified(self.work / "verified.jsonl")
        self.eval_path = write_inputs(plan.evaluation, self.work / "eval.jsonl")
        self._eval_ids = [r.product.id for r in plan.evaluation]

    def _write_predictions(
        self, name: str, plan: DataPlan, predictions: Sequence[Prediction]
    ) -> None:
        path = self.out / "predictions" / f"{name}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for record, values in zip(plan.evaluation, predictions, strict=True):
                line = {"id": record.product.id, "values": dict(values)}
                fh.write(json.dumps(line, ensure_ascii=False) + "\n")

    def _export_knowledge(self, db: Database) -> str:
        """The knowledge base at the end of the stream, as JSON next to the results."""
        kb = KnowledgeBase(db)
        data = {
            "kb_version": kb.version(),
            "nodes": [n.model_dump(mode="json") for n in kb.tree()],
            "learnings": [item.model_dump(mode="json") for item in kb.list()],
            "history": [e.model_dump(mode="json") for e in kb.history()],
        }
        path = self.out / "knowledge.json"
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", "utf-8")
        return path.name

    async def _cold_start(self) -> None:
        """Start a pass with the local models freshly loaded, their prompt caches empty.

        llama.cpp keeps the prompts it has read and reuses any shared prefix. A checkpoint pass
        reads the very products the pass before it read, so without this it skipped most of
        their prompts: in the small run of 2026-12-06 the supervisor read 343 of its 463 prompt
        tokens per call from the cache at checkpoint 40 (78 at checkpoint 0) and took 15 s per
        call instead of 34, a saving no product in production sees, which the report credited
        to learning. The load happens before the pass's clock starts.
        """
        s = self.settings
        specs = [g.model for g in s.generators] + [s.supervisor, s.memory_manager_model()]
        if s.evaluator:
            specs.append(s.evaluator)
        for spec in dict.fromkeys(specs):
            model = self.open_model(spec)
            if isinstance(model, LocalLLM):
                await asyncio.to_thread(model.engine.unload)
                await model.load()

    def _models(self, arms: set[Arm]) -> list[ModelVersion]:
        s = self.settings
        roles: dict[str, list[str]] = {}
        if arms & {"learning", "no-learning"}:
            for i, g in enumerate(s.generators):
                roles.setdefault(g.model, []).append(f"generator-{chr(97 + i)} ({g.style})")
            if s.evaluator:
                roles.setdefault(s.evaluator, []).append("evaluator")
            roles.setdefault(s.supervisor, []).append("supervisor")
            roles.setdefault(s.memory_manager_model(), []).append("memory-manager")
        elif "single" in arms:
            roles.setdefault(s.generators[0].model, []).append("generator-a")
        if "supervisor-only" in arms and "supervisor" not in roles.get(s.supervisor, []):
            roles.setdefault(s.supervisor, []).append("supervisor")
        models = []
        for name, model_roles in roles.items():
            profile = self._profile(name)
            models.append(
                ModelVersion(
                    name=name,
                    roles=model_roles,
                    version=_model_version(name),
                    input_price_per_mtok=profile.input_price_per_mtok,
                    output_price_per_mtok=profile.output_price_per_mtok,
                )
            )
        return models


async def run_extraction(
    config: BenchConfig,
    settings: Settings,
    *,
    open_model: ModelOpener,
    progress: BenchProgress | None = None,
) -> BenchResults:
    """Run the benchmark and write everything: results, predictions, knowledge, report, plots."""
    results = await ExtractionBenchmark(
        config, settings, open_model=open_model, progress=progress
    ).run()
    out = Path(config.out_dir)
    write_report(results, out)
    write_plots(results, out)
    return results


INTERVAL_PAIRS: tuple[tuple[str, str], ...] = (
    ("learning", "no-learning"),
    ("human-review", "no-learning"),
    ("human-review", "learning"),
    ("human-review", "lexicon"),
    ("learning", "lexicon"),
    ("learning", "few-shot"),
    ("learning", "supervisor-only"),
    ("no-learning", "lexicon"),
    ("no-learning", "few-shot"),
    ("no-learning", "supervisor-only"),
    ("few-shot", "single"),
    ("few-shot", "lexicon"),
)
"""The differences the report gives intervals for (those whose arms both ran)."""


def intervals(
    gold: Sequence[GoldLabels],
    predictions: Mapping[str, Sequence[Prediction]],
    schema: Mapping[str, Sequence[str]],
) -> list[Interval]:
    """95 % bootstrap intervals of micro-F1 differences, both variants, paired by record."""
    found: list[Interval] = []
    for variant in ("published", "strict"):
        counts = {
            name: record_counts(gold, preds, schema=schema, variant=variant)
            for name, preds in predictions.items()
        }
        for a, b in INTERVAL_PAIRS:
            if a in counts and b in counts:
                found.append(difference_interval(a, b, counts[a], counts[b], variant=variant))
    return found


def supervisor_accuracy(gold: Sequence[GoldLabels], output: _PassOutput) -> SupervisorAccuracy:
    """How many of the labelled slots the supervisor resolved in a pass it got right."""
    result = SupervisorAccuracy()
    for labels, values, statuses in zip(gold, output.system, output.statuses, strict=True):
        for name, status in statuses.items():
            if status != "supervisor" or name not in labels.values:
                continue
            result.slots += 1
            result.correct += classify(labels.values[name], values.get(name)) in ("vc", "nn")
    return result


REVIEWER = "simulated-reviewer"
"""Who answers the ``human-review`` arm's review items (shown in its knowledge base history)."""


async def _answer_reviews(
    queue: ReviewQueue,
    run_id: str,
    labels: Mapping[str, GoldLabels],
    schema: CatalogSchema,
    stats: ReviewStats,
) -> None:
    """Answer ``run_id``'s open items in queue order from the labels, while budget is left.

    A simulated reviewer answers every attribute of the product's category, as a person
    looking at the whole product would: the first gold value, or absent where the labels list
    none (the verified catalog's convention)."""
    while stats.answered < stats.budget:
        detail = queue.claim_next(reviewer=REVIEWER, run_id=run_id)
        if detail is None:
            return
        gold = labels.get(detail.product_id)
        names = [a.name for a in detail.context.attributes]
        values = {n: gold.first_present(n) if gold is not None else None for n in names}
        closed = {a.name: a.values for a in detail.context.attributes if a.values}
        for name, allowed in closed.items():  # a closed set takes only its own spellings
            value = values.get(name)
            if value is not None and value.casefold() not in {v.casefold() for v in allowed}:
                values[name] = None
        result = await queue.submit(detail.id, reviewer=REVIEWER, values=values)
        stats.answered += 1
        stats.by_reason[detail.reason] = stats.by_reason.get(detail.reason, 0) + 1
        for placement in result.taught:
            if placement.learning_id is None:
                stats.confirmed += 1
            elif placement.held is not None:
                stats.taught_held += 1
            else:
                stats.taught_active += 1


def dataset_name(data_dir: Path) -> str:
    """The data set's name: the first heading of its SOURCE.md or README.md, else the folder."""
    for name in ("SOURCE.md", "README.md"):
        path = data_dir / name
        if path.is_file():
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()[:80] or data_dir.name
    return data_dir.resolve().name


def _category(record: InputRecord, outcome: ProductOutcome) -> str:
    if record.product is not None:
        return record.product.category
    return outcome.record.category or "?"


def _generator_observation(
    category: str,
    model: str,
    usage: Usage,
    profile: Callable[[str], ModelProfile],
    *,
    seconds: float = 0.0,
) -> Observation:
    """Generator-a's own share of a product (the ``few-shot`` arm's cost when it is reused)."""
    return Observation(
        category=category,
        error=False,
        disputed=False,
        supervisor_called=False,
        learnings_added=0,
        requests=usage.requests,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cost_usd=profile(model).cost(usage),
        finished=time.perf_counter(),
        tokens_by_role=(("workers", usage.input_tokens + usage.output_tokens),),
        seconds_by_role=(("workers", seconds),),
    )


def _copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (WAL included) through the backup API."""
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _model_version(name: str) -> str | None:
    """The weights package and engine versions of a local model; None for other providers."""
    provider, _, local = name.partition(":")
    if provider != "local":
        return None
    model = LOCAL_MODELS.get(local)
    parts = []
    if model is not None:
        dists = importlib.metadata.packages_distributions().get(model.module, [])
        for dist in dists:
            parts.append(f"{dist} {importlib.metadata.version(dist)}")
    try:
        parts.append(f"xllamacpp {importlib.metadata.version('xllamacpp')}")
    except importlib.metadata.PackageNotFoundError:
        pass
    return ", ".join(parts) or None
