"""The learning gate: machine-made learnings go live only after verified evidence checks them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from dissensus.domain import LearningDraft
from dissensus.knowledge import (
    CheckedProduct,
    KnowledgeBase,
    LearningGate,
    MemoryManager,
    ReplayOutcome,
)
from dissensus.llm.testing import QueuedLLM

from .conftest import path

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class Checked:
    title: str
    category: str
    attributes: dict[str, str | None] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.title


VERIFIED = [
    Checked(
        "Lodge Cast Iron Skillet 10in", "Home > Pans", {"Brand": "Lodge", "Material": "Cast Iron"}
    ),
    Checked(
        "Tramontina Tri-Ply Clad Skillet", "Home > Pans", {"Brand": "Tramontina", "Material": None}
    ),
    Checked("Kaito Santoku 7in", "Home > Knives", {"Brand": "Kaito", "Material": None}),
]


def value(
    attribute: str, text: str, *, evidence: str, category: str = "Home > Pans"
) -> LearningDraft:
    return LearningDraft(
        category=category,
        attributes=[attribute],
        kind="value",
        values={attribute: text},
        text=f"{attribute}: {text!r}",
        evidence=evidence,
    )


def example(title: str, values: dict[str, str | None]) -> LearningDraft:
    return LearningDraft(
        category="Home > Pans",
        attributes=list(values),
        kind="example",
        values=values,
        text=title,
        evidence=title,
    )


async def test_a_new_value_that_wrongs_no_verified_product_passes() -> None:
    verdict = await LearningGate(VERIFIED).check(
        value("Brand", "Victoria", evidence="Victoria Cast Iron Skillet 12in")
    )
    assert verdict.passed, verdict.reason
    assert "no verified product of 2 in scope gets worse" in verdict.reason


async def test_a_value_that_would_break_a_verified_product_fails() -> None:
    # "Cast" as a brand would be read in the Lodge skillet, whose brand is Lodge.
    verdict = await LearningGate(VERIFIED).check(
        value("Brand", "Tri-Ply", evidence="Tri-Ply Stainless Saute Pan")
    )
    assert verdict.outcome == "failed"
    assert "Tramontina Tri-Ply Clad Skillet" in verdict.reason


async def test_a_value_known_as_another_attribute_fails() -> None:
    verdict = await LearningGate(VERIFIED).check(
        value("Brand", "Cast Iron", evidence="Cast Iron Grill Pan 11in")
    )
    assert (verdict.outcome, verdict.reason) == (
        "failed",
        "'Cast Iron' is a verified Material, not a Brand",
    )


async def test_a_whole_title_is_not_a_value_and_a_value_must_be_in_the_text() -> None:
    title = "ALPENKLINGE 10in Serrated Bread Knife"
    whole = await LearningGate(VERIFIED).check(
        value("Brand", title, evidence=title, category="Home > Knives")
    )
    assert whole.outcome == "failed" and "most of the title" in whole.reason
    absent = await LearningGate(VERIFIED).check(value("Brand", "Womens", evidence="Lodge Skillet"))
    assert absent.outcome == "failed" and "does not occur in the product text" in absent.reason


async def test_without_verified_products_in_scope_nothing_is_checked() -> None:
    verdict = await LearningGate(VERIFIED).check(
        value("Brand", "Ugg", evidence="Ugg Classic Boot", category="Shoes")
    )
    assert verdict.outcome == "unchecked" and not verdict.passed


async def test_an_example_must_agree_with_the_lexicon_and_the_verified_catalog() -> None:
    gate = LearningGate(VERIFIED)
    good = await gate.check(
        example("Lodge Cast Iron Dutch Oven", {"Brand": "Lodge", "Material": "Cast Iron"})
    )
    assert good.passed, good.reason
    wrong = await gate.check(
        example("Lodge Cast Iron Dutch Oven", {"Brand": "Lodge Cast", "Material": None})
    )
    assert wrong.outcome == "failed"
    assert "the lexicon reads Brand = 'Lodge' in this text" in wrong.reason
    verified = await gate.check(
        example("Lodge Cast Iron Skillet 10in", {"Brand": "Lodge", "Material": "Iron"})
    )
    assert verified.outcome == "failed" and "the verified catalog has Material" in verified.reason
    invented = await gate.check(example("Lodge Dutch Oven", {"Brand": "Staub"}))
    assert invented.outcome == "failed" and "is not in the text" in invented.reason


async def test_a_rule_is_unchecked_without_replay_and_kept_only_if_it_helps() -> None:
    rule = LearningDraft(
        category="Home > Pans", attributes=["Brand"], text="The brand is the first word."
    )
    assert (await LearningGate(VERIFIED).check(rule)).outcome == "unchecked"

    def replaying(without: int, with_rule: int, worse: int):  # type: ignore[no-untyped-def]
        async def replay(draft: LearningDraft, products: Sequence[CheckedProduct]) -> ReplayOutcome:
            return ReplayOutcome(len(products), without, with_rule, worse)

        return replay

    helps = await LearningGate(VERIFIED, replay=replaying(2, 3, 0)).check(rule)
    assert helps.passed and "2 → 3 correct slots" in helps.reason
    hurts = await LearningGate(VERIFIED, replay=replaying(2, 3, 1)).check(rule)
    assert hurts.outcome == "failed"
    idle = await LearningGate(VERIFIED, replay=replaying(2, 2, 0)).check(rule)
    assert idle.outcome == "failed"


async def test_the_memory_manager_keeps_a_failed_learning_proposed_with_the_reason(
    kb: KnowledgeBase,
) -> None:
    manager = MemoryManager(kb, QueuedLLM("scripted:memory", []), gate=LearningGate(VERIFIED))
    bad = await manager.place(value("Brand", "Tri-Ply", evidence="Tri-Ply Saute Pan"), source="r:1")
    good = await manager.place(
        value("Brand", "Victoria", evidence="Victoria Skillet"), source="r:2"
    )
    again = await manager.place(value("Brand", "victoria", evidence="victoria pan"), source="r:3")
    assert bad.learning_id is not None and good.learning_id is not None
    assert kb.get(bad.learning_id).status == "proposed"
    assert kb.get(good.learning_id).status == "active"
    assert (
        kb.get(good.learning_id).kind == "value" and kb.get(good.learning_id).node == "/home/pans"
    )
    # The same value again is a duplicate of the known one, placed with no model call.
    assert (again.op, again.duplicate_of, again.model_calls) == ("discard", good.learning_id, 0)
    reasons = {e.learning_id: e.reason for e in kb.history() if e.op == "add"}
    assert "gate failed: wrong on verified products" in reasons[bad.learning_id]
    assert "gate passed" in reasons[good.learning_id]
    # The lexicon of the category now knows Victoria, so the gate reads it next time.
    assert manager.known_values(path("Home > Pans")).count("Brand", "Victoria") == 1


async def test_a_machine_never_merges_into_a_learning_a_person_approved(kb: KnowledgeBase) -> None:
    key = kb.ensure_path(path("Home > Pans"), actor="t")
    person = kb.add(
        node_key=key,
        text="The brand is the first word of the title.",
        attributes=["Brand"],
        actor="ann",
        approved=True,
    )
    llm = QueuedLLM(
        "scripted:memory",
        [{"op": "merge", "target": person.id, "text": "Brand is always ACME.", "reason": "x"}],
    )
    draft = LearningDraft(
        category="Home > Pans", attributes=["Brand"], text="Brand is always ACME."
    )
    placement = await MemoryManager(kb, llm).place(draft, source="r:1")
    assert placement.fallback is not None and "approved by a person" in placement.fallback
    assert kb.get(person.id).text == "The brand is the first word of the title."
    assert kb.get(person.id).version == 1


async def test_a_new_value_must_look_like_its_attributes_verified_values() -> None:
    # No verified product contains these, so none can come out worse: the shape check decides.
    long_brand = await LearningGate(VERIFIED).check(
        value(
            "Brand",
            "Snow Pans for Women Waterproof",
            evidence="Snow Pans for Women Waterproof Nonstick Skillet 12in Gift Set",
        )
    )
    assert (long_brand.outcome, long_brand.reason) == (
        "failed",
        "Brand = 'Snow Pans for Women Waterproof' has 5 words; "
        "verified Brand values have at most 1",
    )
    holds_brand = await LearningGate(VERIFIED).check(
        value("Material", "Lodge Steel", evidence="Lodge Steel Wok 14in")
    )
    assert holds_brand.outcome == "failed"
    assert holds_brand.reason == "Material = 'Lodge Steel' contains 'lodge', a verified Brand"
    fine = await LearningGate(VERIFIED).check(
        value("Brand", "Victoria Co", evidence="Victoria Co 12in Skillet")
    )
    assert fine.passed, fine.reason


SUNSCREENS = [
    Checked(f"Brand{i} Sunscreen Lotion SPF {spf} {oz} oz", "Beauty > Sun", attrs)
    for i, (spf, oz, attrs) in enumerate(
        [
            (30, 3, {"SPF": "SPF 30", "Volume": "3 oz", "Form": "Lotion"}),
            (50, 5, {"SPF": "SPF 50", "Volume": "5 oz", "Form": "Lotion"}),
            (45, 2, {"SPF": "SPF 45", "Volume": "2 oz", "Form": "Engineered Gel"}),
            (15, 8, {"SPF": "Broad Spectrum SPF 15", "Volume": "8 oz", "Form": None}),
            (70, 4, {"SPF": "SPF 70", "Volume": "4 oz", "Form": "Lotion"}),
        ]
    )
]


@pytest.mark.parametrize(
    ("attribute", "text", "evidence", "reason"),
    [
        # Every verified SPF has a word; "60" alone is a span next to "SPF 60".
        (
            "SPF",
            "60",
            "Sunny Sunscreen SPF 60 1 oz",
            "SPF = '60' has no word; every one of the 5 verified SPF values has a word",
        ),
        # Every verified volume has a number.
        (
            "Volume",
            "Family Size",
            "Sunny Sunscreen Family Size",
            "Volume = 'Family Size' has no digit; every one of the 5 verified Volume values "
            "has a digit",
        ),
        # Shaped like a volume and no part of another attribute's value.
        (
            "Volume",
            "Engineered 2",
            "Sunny Engineered 2 Spray",
            None,
        ),
        # Four verified forms bind no shape, but "Spectrum" is a word of a verified SPF.
        (
            "Form",
            "Spectrum",
            "Sunny Spectrum Stick",
            "Form = 'Spectrum' is part of 'broad spectrum spf 15', a known SPF",
        ),
    ],
)
async def test_a_new_value_lacking_what_its_attributes_values_share_is_held(
    attribute: str, text: str, evidence: str, reason: str | None
) -> None:
    verdict = await LearningGate(SUNSCREENS).check(
        value(attribute, text, evidence=evidence, category="Beauty > Sun")
    )
    if reason is None:
        assert verdict.passed, verdict.reason
    else:
        assert (verdict.outcome, verdict.reason) == ("failed", reason)


async def test_the_shape_needs_enough_verified_values_and_spares_known_shapes() -> None:
    # Four verified values are too few to bind: "60" passes where only four SPFs are verified.
    four = await LearningGate(SUNSCREENS[:4]).check(
        value("SPF", "60", evidence="Sunny Sunscreen SPF 60 1 oz", category="Beauty > Sun")
    )
    assert four.passed, four.reason
    # A new value shaped like the verified ones passes, and so does a part of one of its own
    # attribute's values that is also part of another's.
    shaped = await LearningGate(SUNSCREENS).check(
        value("SPF", "SPF 60", evidence="Sunny Sunscreen SPF 60 1 oz", category="Beauty > Sun")
    )
    assert shaped.passed, shaped.reason
    broad = value("Form", "Broad", evidence="Sunny Broad Stick", category="Beauty > Sun")
    held = await LearningGate(SUNSCREENS).check(broad)
    assert held.reason == "Form = 'Broad' is part of 'broad spectrum spf 15', a known SPF"
    gate = LearningGate(
        [*SUNSCREENS, Checked("Sunny Broad Lotion", "Beauty > Sun", {"Form": "Broad Lotion"})]
    )
    own = await gate.check(broad)
    assert own.passed, own.reason


async def test_a_function_word_is_never_a_value() -> None:
    verdict = await LearningGate(VERIFIED).check(
        value("Brand", "NOT", evidence="Skillet 10in, NOT for induction")
    )
    assert (verdict.outcome, verdict.reason) == (
        "failed",
        "Brand = 'NOT' is a function word, not a value",
    )


@pytest.mark.parametrize(
    ("seconded", "passes"),
    [
        (None, True),  # a person's draft: nothing to second
        ({"Brand": ["generator-a"]}, True),  # a worker gave the same value
        ({"Brand": []}, False),  # only the supervisor gave it
        ({"Material": ["generator-a"]}, False),  # seconding another attribute does not count
    ],
)
async def test_a_new_machine_value_goes_live_only_when_someone_seconds_it(
    seconded: dict[str, list[str]] | None, passes: bool
) -> None:
    draft = value("Brand", "Victoria", evidence="Victoria Cast Iron Skillet 12in")
    draft = draft.model_copy(update={"seconded": seconded})
    verdict = await LearningGate(VERIFIED).check(draft)
    assert verdict.passed is passes, verdict.reason
    if not passes:
        assert "only the supervisor gave it" in verdict.reason


async def test_a_known_value_needs_no_seconding_and_an_example_needs_it_per_value() -> None:
    gate = LearningGate(VERIFIED)
    # "Lodge" is a verified brand: repeating it teaches nothing new and is not held for it.
    known = value("Brand", "Lodge", evidence="Lodge Skillet 8in")
    assert (await gate.check(known.model_copy(update={"seconded": {"Brand": []}}))).passed
    solved = example(
        "Victoria Cast Iron Skillet 12in", {"Brand": "Victoria", "Material": "Cast Iron"}
    )
    held = await gate.check(solved.model_copy(update={"seconded": {"Brand": []}}))
    assert not held.passed and "its Brand value fails" in held.reason
    ok = await gate.check(solved.model_copy(update={"seconded": {"Brand": ["consensus"]}}))
    assert ok.passed, ok.reason


async def test_a_held_value_goes_live_when_a_later_case_seconds_it(kb: KnowledgeBase) -> None:
    manager = MemoryManager(kb, QueuedLLM("scripted:memory", []), gate=LearningGate(VERIFIED))

    def draft(evidence: str, seconded: list[str]) -> LearningDraft:
        made = value("Brand", "Victoria", evidence=evidence)
        return made.model_copy(update={"seconded": {"Brand": seconded}})

    alone = await manager.place(draft("Victoria Skillet", []), source="r:1")
    again = await manager.place(draft("Victoria Dutch Oven", []), source="r:2")
    assert alone.learning_id is not None
    assert kb.get(alone.learning_id).status == "proposed"  # repeating it is no evidence
    assert again.duplicate_of == alone.learning_id
    seconded = await manager.place(draft("Victoria Grill Pan", ["generator-a"]), source="r:3")
    assert seconded.duplicate_of == alone.learning_id
    assert kb.get(alone.learning_id).status == "active"
    [event] = [e for e in kb.history() if e.op == "status" and e.learning_id == alone.learning_id]
    assert "the gate passed it on r:3" in event.reason and "gate passed" in event.reason


async def test_a_value_naming_its_category_is_held_unless_the_attribute_takes_such_values() -> None:
    branded = [
        Checked("Solvia Mineral Sunscreen SPF 30", "Beauty > Sunscreen", {"Brand": "Solvia"}),
        Checked("Reefwell Sunscreen Stick SPF 50", "Beauty > Sunscreen", {"Brand": "Reefwell"}),
    ]
    gate = LearningGate(branded)
    # The demo's "Brand: 'Sunscreen'": no verified product came out worse, yet no verified
    # brand is made of the category's words.
    draft = value(
        "Brand",
        "Sunscreen",
        evidence="Mineral Sunscreen Stick SPF 50 0.5 oz",
        category="Beauty > Sunscreen",
    )
    verdict = await gate.check(draft)
    assert (verdict.outcome, verdict.reason) == (
        "failed",
        "Brand = 'Sunscreen' names the category 'Beauty > Sunscreen'; none of the 2 verified "
        "Brand values does",
    )
    # An attribute whose verified values do name the category takes such a value (OA-Mine
    # labels "Conditioner" as a conditioner's item form).
    forms = [
        Checked("Aveda Conditioner 8 oz", "Hair > Conditioner", {"Item form": "Conditioner"}),
        Checked("Suave Leave-In Spray", "Hair > Conditioner", {"Item form": "Spray"}),
    ]
    form = value(
        "Item form",
        "Hair Conditioner",
        evidence="Dove Hair Conditioner 12 oz",
        category="Hair > Conditioner",
    )
    assert (await LearningGate(forms).check(form)).passed
    # Without verified values of the attribute nothing says what it looks like.
    bare = [Checked("Solvia Mineral Sunscreen SPF 30", "Beauty > Sunscreen", {"SPF": "SPF 30"})]
    assert (await LearningGate(bare).check(draft)).passed


async def test_a_new_value_headed_like_another_attributes_values_is_held() -> None:
    pans = [
        Checked(
            "Calderon Tri-Ply Stainless Steel 3 Qt Saucepan",
            "Home > Cookware",
            {"Brand": "Calderon", "Material": "Tri-Ply Stainless Steel"},
        ),
        Checked("Ironhollow Cast Iron Skillet", "Home > Cookware", {"Brand": "Ironhollow"}),
    ]
    # The demo's "Brand: 'Carbon Steel'": no verified product contains it, but "steel" ends a
    # verified material and no verified brand.
    carbon = value(
        "Brand", "Carbon Steel", evidence="Carbon Steel Wok 14in", category="Home > Cookware"
    )
    verdict = await LearningGate(pans).check(carbon)
    assert (verdict.outcome, verdict.reason) == (
        "failed",
        "Brand = 'Carbon Steel' ends in 'steel' as 'tri - ply stainless steel', a known Material, "
        "does",
    )
    # A brand that does end like a verified brand passes, and so does a short last word.
    forge = [*pans, Checked("Hudson Steel Pan", "Home > Cookware", {"Brand": "Hudson Steel"})]
    assert (await LearningGate(forge).check(carbon)).passed
    sized = [*pans, Checked("Oslo 10 W Pan", "Home > Cookware", {"Size": "10 W"})]
    wide = value(
        "Brand", "Oslo W", evidence="Oslo W Nonstick Frying Pan 10in", category="Home > Cookware"
    )
    assert (await LearningGate(sized).check(wide)).passed


async def test_a_new_value_inside_its_title_is_held_where_verified_ones_open_theirs() -> None:
    cases = [
        Checked(f"{brand} Case for {model}, {colour}", "Phone Cases", {"Brand": brand})
        for brand, model, colour in [
            ("Armorline", "iPhone 15", "Navy"),
            ("Nuvola", "Galaxy S24", "Sage Green"),
            ("Folio & Co", "iPhone 14", "Tan"),
            ("Minimo", "Pixel 8", "Transparent"),
        ]
    ]
    text = "Bamboo Wood Case for iPhone 15 - Eco Friendly - Natural\nTimbercraft real bamboo back"
    # The demo's "Brand: 'Natural'": the case's colour, at the end of the title.
    natural = value("Brand", "Natural", evidence=text, category="Phone Cases")
    verdict = await LearningGate(cases).check(natural)
    assert (verdict.outcome, verdict.reason) == (
        "failed",
        "Brand = 'Natural' is inside its title; 4 of the 4 verified Brand values begin theirs",
    )
    # The description's brand has no place in the title to judge; a brand opening its title
    # passes; with fewer verified brands than the minimum, their place binds nothing.
    timbercraft = value("Brand", "Timbercraft", evidence=text, category="Phone Cases")
    assert (await LearningGate(cases).check(timbercraft)).passed
    opening = value(
        "Brand", "Woodlark", evidence="Woodlark Case for iPhone 15, Natural", category="Phone Cases"
    )
    assert (await LearningGate(cases).check(opening)).passed
    assert (await LearningGate(cases[:3]).check(natural)).passed
