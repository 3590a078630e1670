"""Prompts: deterministic, product last, learnings with ids, a critical evaluator."""

from __future__ import annotations

from dissensus.domain import AttributeSpec, Learning, Product
from dissensus.workers.prompts import (
    LEARNINGS_HEADING,
    evaluator_prompt,
    evaluator_system,
    generator_system,
    product_prompt,
    render_learnings,
)


def test_learnings_render_under_the_heading_with_ids_and_examples(
    learnings: list[Learning],
) -> None:
    assert render_learnings(learnings) == (
        f"{LEARNINGS_HEADING}\n"
        "- (L-brand-1) [Brand] The brand is the first words of the title. "
        "Example: 'Diesel Men's Exposure Sneaker' -> Brand: Diesel\n"
        "- (L-color-2) [Color] Keep slashes in colours."
    )
    assert render_learnings([]) == ""


def test_direct_generator_prompt_is_exact(shoe_attributes: list[AttributeSpec]) -> None:
    assert generator_system("Shoes", shoe_attributes[:3], [], style="direct") == (
        'Extract the attributes of one product of the category "Shoes".\n'
        "\n"
        "Attributes:\n"
        "- Brand: The maker of the shoe.\n"
        "- Model name\n"
        "- Gender (one of: Men's, Women's, Unisex)\n"
        "\n"
        "Rules:\n"
        "- Copy each value exactly as written in the product text: a word or a short phrase.\n"
        '- Answer "n/a" when the text does not state the attribute. Never guess.\n'
        "- Answer with one JSON object whose keys are the attribute names."
    )


def test_styles_differ_and_both_end_with_the_learnings(
    shoe_attributes: list[AttributeSpec], learnings: list[Learning]
) -> None:
    direct = generator_system("Shoes", shoe_attributes, learnings, style="direct")
    evidence = generator_system("Shoes", shoe_attributes, learnings, style="evidence")
    assert direct != evidence
    assert "exact words" in evidence and "Output only the JSON object" in evidence
    for system in (direct, evidence):
        assert system.endswith(render_learnings(learnings))
        assert "(L-brand-1)" in system and "(L-color-2)" in system
        assert "L-old" not in system


def test_system_prompts_hold_no_product_so_the_prefix_is_shared(
    shoe: Product, shoe_attributes: list[AttributeSpec], learnings: list[Learning]
) -> None:
    for system in (
        generator_system(shoe.category, shoe_attributes, learnings),
        evaluator_system(shoe.category, shoe_attributes, learnings),
    ):
        assert "Fila" not in system and "Hometown" not in system
    assert generator_system("Shoes", shoe_attributes, learnings) == generator_system(
        "Shoes", list(shoe_attributes), list(learnings)
    )


def test_product_prompt_has_title_then_description() -> None:
    product = Product(id="1", title="Acme Kettle", description="Steel, 1.7 l", category="Home")
    assert product_prompt(product) == "Product title: Acme Kettle\nDescription: Steel, 1.7 l"


def test_evaluator_is_told_to_be_critical_and_to_use_every_verdict(
    shoe_attributes: list[AttributeSpec], learnings: list[Learning]
) -> None:
    system = evaluator_system("Shoes", shoe_attributes, learnings)
    assert "often wrong" in system and "do not trust" in system
    for verdict in ('"ok"', '"wrong"', '"missing"', '"ambiguous"'):
        assert verdict in system
    assert "(L-brand-1)" in system


def test_evaluator_prompt_lists_proposals_after_the_product(shoe: Product) -> None:
    prompt = evaluator_prompt(
        shoe, {"Brand": ["Fila"], "Model name": ["Hometown", None], "Color": []}
    )
    assert prompt == (
        f"Product title: {shoe.title}\n"
        "\n"
        "Proposed values:\n"
        '- Brand: "Fila"\n'
        '- Model name: "Hometown" | absent\n'
        "- Color: no proposal"
    )
