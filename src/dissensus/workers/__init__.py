"""Workers: the cheap, non-agentic models that propose and criticise attribute values.

Owns the generator and evaluator prompts (styles, the critical evaluator, learnings rendered
under one heading with their ids, retrieved solved examples before the product), the
per-product output models whose enums keep values to spans of the product text, the lexicon
worker (known values found in the text, no model), and the team that runs generators
concurrently, the lexicon worker beside them and the evaluator on their output. Talks to models
only through :class:`dissensus.llm.LLM`; must not import model SDKs or the local engine, and must
not decide consensus (that is ``dissensus.consensus``), touch
storage, the knowledge base or the pipeline.
"""

from dissensus.workers.evaluator import Evaluator, candidates_by_attribute
from dissensus.workers.generator import Generator, output_budget
from dissensus.workers.lexicon import LEXICON_MODEL, LexiconWorker
from dissensus.workers.output_model import (
    SpanOptions,
    evaluation_model,
    extraction_model,
    read_values,
    read_verdicts,
)
from dissensus.workers.prompts import (
    EXAMPLES_HEADING,
    LEARNINGS_HEADING,
    GeneratorStyle,
    evaluator_prompt,
    evaluator_system,
    generator_system,
    product_prompt,
    render_examples,
    render_learnings,
    usable_learnings,
)
from dissensus.workers.spans import NA, closed_options, text_spans
from dissensus.workers.team import ProductEvidence, WorkerOutput, WorkerTeam

__all__ = [
    "EXAMPLES_HEADING",
    "LEARNINGS_HEADING",
    "LEXICON_MODEL",
    "NA",
    "Evaluator",
    "Generator",
    "GeneratorStyle",
    "LexiconWorker",
    "ProductEvidence",
    "SpanOptions",
    "WorkerOutput",
    "WorkerTeam",
    "candidates_by_attribute",
    "closed_options",
    "evaluation_model",
    "evaluator_prompt",
    "evaluator_system",
    "extraction_model",
    "generator_system",
    "output_budget",
    "product_prompt",
    "read_values",
    "read_verdicts",
    "render_examples",
    "render_learnings",
    "text_spans",
    "usable_learnings",
]
