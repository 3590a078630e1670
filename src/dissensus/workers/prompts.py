"""The worker prompts: generator styles, the critical evaluator, learnings and the product.

Layout is fixed for the prefix cache: the system prompt holds only what every product of a
category shares (task, attributes, learnings), the user prompt holds the product (and, for the
evaluator, the proposed values) last. Nothing here depends on time, randomness or dict order
beyond the order the caller gives, so equal inputs give byte-equal prompts. Value enums are not
shown: they live in the output schema, where constrained decoding enforces them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, assert_never

from dissensus.domain.example import SolvedExample
from dissensus.domain.learning import Learning
from dissensus.domain.product import Product
from dissensus.domain.schema import AttributeSpec
from dissensus.workers.spans import NA

__all__ = [
    "EXAMPLES_HEADING",
    "LEARNINGS_HEADING",
    "GeneratorStyle",
    "evaluator_prompt",
    "evaluator_system",
    "generator_system",
    "product_prompt",
    "render_examples",
    "render_learnings",
    "usable_learnings",
]

GeneratorStyle = Literal["direct", "evidence"]
"""``direct`` asks for the values; ``evidence`` asks to locate the words that denote each
attribute first. Two generators on one model differ by style, so their errors differ too."""

LEARNINGS_HEADING = "Learnings from past reviews (apply them when they fit; ids in parentheses):"


def usable_learnings(learnings: Sequence[Learning]) -> list[Learning]:
    """The learnings that go into a prompt: active ones, first occurrence of each id, in order."""
    seen: set[str] = set()
    usable: list[Learning] = []
    for learning in learnings:
        if learning.status != "active" or learning.id in seen:
            continue
        seen.add(learning.id)
        usable.append(learning)
    return usable


def render_learnings(learnings: Sequence[Learning]) -> str:
    """The learnings section of a system prompt, or ``""`` when there are none."""
    usable = usable_learnings(learnings)
    if not usable:
        return ""
    return "\n".join([LEARNINGS_HEADING, *(learning.render() for learning in usable)])


def _attribute_lines(attributes: Sequence[AttributeSpec]) -> str:
    lines = []
    for spec in attributes:
        line = f"- {spec.name}"
        if spec.description:
            line += f": {spec.description}"
        lines.append(line + spec.choices)
    return "\n".join(lines)


def _join(*sections: str) -> str:
    return "\n\n".join(s for s in sections if s)


def generator_system(
    category: str,
    attributes: Sequence[AttributeSpec],
    learnings: Sequence[Learning],
    *,
    style: GeneratorStyle = "direct",
) -> str:
    """The system prompt of a generator: task, attributes and learnings for one category."""
    if style == "direct":
        task = f'Extract the attributes of one product of the category "{category}".'
        rules = (
            "Rules:\n"
            "- Copy each value exactly as written in the product text: a word or a short phrase.\n"
            f'- Answer "{NA}" when the text does not state the attribute. Never guess.\n'
            "- Answer with one JSON object whose keys are the attribute names."
        )
    elif style == "evidence":
        task = (
            f'You are a careful catalog analyst for the category "{category}". For each '
            "attribute, find the exact words of the product text that state it."
        )
        rules = (
            "How to answer:\n"
            "- For each attribute, decide which words of the text denote it; the same words "
            "rarely state two attributes.\n"
            f'- The value is those words, copied verbatim; if no words state it, "{NA}".\n'
            "- Think silently. Output only the JSON object (keys = attribute names), no comments."
        )
    else:
        assert_never(style)
    return _join(
        task, "Attributes:\n" + _attribute_lines(attributes), rules, render_learnings(learnings)
    )


def evaluator_system(
    category: str,
    attributes: Sequence[AttributeSpec],
    learnings: Sequence[Learning],
) -> str:
    """The system prompt of the critical evaluator for one category."""
    task = (
        f"You are a strict reviewer of attribute values extracted from products of the category "
        f'"{category}". Other workers proposed the values and they are often wrong. Check each '
        "one against the product text; do not trust it."
    )
    rules = (
        "For each attribute give a verdict:\n"
        '- "ok": a proposed value is exactly what the text states for this attribute (or all say '
        "absent and the text really does not state it).\n"
        '- "wrong": the proposed value is not what the text states for this attribute; suggest '
        "the right words from the text.\n"
        '- "missing": the proposals say absent but the text states a value; suggest it.\n'
        '- "ambiguous": the text supports more than one reading, or the proposals differ and the '
        "text does not settle which is right.\n"
        f'suggestion: the right value copied from the text, or "{NA}". reason: a few words.\n'
        "Output only the JSON object (keys = attribute names)."
    )
    return _join(
        task, "Attributes:\n" + _attribute_lines(attributes), rules, render_learnings(learnings)
    )


EXAMPLES_HEADING = "Solved examples of similar products (values copied from their titles):"


def render_examples(examples: Sequence[SolvedExample], attributes: Sequence[str]) -> str:
    """The examples section of a user prompt, or ``""`` when there are none."""
    if not examples:
        return ""
    lines = [EXAMPLES_HEADING]
    lines += [f"{i}. {ex.render(list(attributes))}" for i, ex in enumerate(examples, 1)]
    return "\n".join(lines)


def product_prompt(
    product: Product,
    examples: Sequence[SolvedExample] = (),
    attributes: Sequence[str] = (),
) -> str:
    """The user prompt of a generator: solved examples (if any), then the product text.

    Examples go here, not in the system prompt, because they are retrieved per product; the
    system prompt stays the category's shared prefix for the engine's cache.
    """
    lines = []
    if examples:
        lines += [render_examples(examples, attributes), ""]
    lines.append(f"Product title: {product.title}")
    if product.description:
        lines.append(f"Description: {product.description}")
    return "\n".join(lines)


def _shown(value: str | None) -> str:
    return "absent" if value is None else f'"{value}"'


def evaluator_prompt(
    product: Product,
    candidates: Mapping[str, Sequence[str | None]],
) -> str:
    """The user prompt of the evaluator: the product, then the proposed values per attribute.

    ``candidates`` maps each attribute to its distinct proposals (``None`` shows as ``absent``);
    attributes nobody answered show as ``no proposal``.
    """
    lines = [product_prompt(product), "", "Proposed values:"]
    for attribute, values in candidates.items():
        shown = " | ".join(_shown(v) for v in values) if values else "no proposal"
        lines.append(f"- {attribute}: {shown}")
    return "\n".join(lines)
