import itertools
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dissensus.domain import CatalogSchema, CategoryPath, Product
from dissensus.errors import RecordError, SchemaError

SCHEMA = """
categories:
  - path: Home
    attributes: [{name: Brand}]
  - path: Home > Kitchen > Knives
    attributes:
      - {name: Blade length, description: with unit}
      - {name: Brand, description: overridden}
"""


def test_attributes_inherit_from_ancestors_nearest_wins(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SCHEMA)
    schema = CatalogSchema.load(path)
    attrs = schema.attributes_for(CategoryPath.parse("Home > Kitchen > Knives"))
    assert [(a.name, a.description) for a in attrs] == [
        ("Brand", "overridden"),
        ("Blade length", "with unit"),
    ]


def test_category_without_entry_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SCHEMA)
    with pytest.raises(SchemaError, match="'Home > Garden' has no schema entry"):
        CatalogSchema.load(path).attributes_for(CategoryPath.parse("Home > Garden"))


def test_malformed_schema_files(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("foo: [")
    with pytest.raises(SchemaError, match="not valid YAML"):
        CatalogSchema.load(path)
    path.write_text("foo: 1")
    with pytest.raises(SchemaError, match="top-level 'categories:'"):
        CatalogSchema.load(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # A misspelt key once loaded as a category with no attributes: empty records, exit 0.
        (
            "categories:\n  - path: Bags\n    atributes:\n      - name: Brand\n",
            "in category 'Bags': unknown key 'atributes'; did you mean 'attributes'?",
        ),
        (
            "categories:\n  - path: Bags\n    attributes:\n      - {name: A, descripton: x}\n",
            "in category 'Bags': unknown key 'descripton'; did you mean 'description'?",
        ),
        (
            "categories:\n  - path: Bags\n    attributes: [{name: A}, {name: A}]\n",
            "in category 'Bags': attributes: attribute 'A' is listed twice",
        ),
        (
            "categories:\n  - path: Bags\n    attributes: [{name: A, values: []}]\n",
            "in category 'Bags': attributes[0].values: List should have at least 1 item",
        ),
        ("categories: []\nversion: 2\n", "unknown key 'version'"),
    ],
)
def test_schema_mistakes_are_named_with_their_category(
    tmp_path: Path, text: str, message: str
) -> None:
    schema = tmp_path / "schema.yaml"
    schema.write_text(text)
    with pytest.raises(SchemaError) as caught:
        CatalogSchema.load(schema)
    assert message in str(caught.value)


def test_product_validation_messages() -> None:
    with pytest.raises(RecordError, match="field 'id'"):
        Product.from_record({"title": "x", "category": "y"}, line=3)
    with pytest.raises(RecordError, match="empty level"):
        Product.from_record({"id": "1", "title": "x", "category": "A >  > B"})
    with pytest.raises(RecordError, match="expected a JSON object"):
        Product.from_record([1, 2])


@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_characters=">/"), min_size=1).filter(str.strip),
        min_size=1,
        max_size=4,
    )
)
def test_category_path_round_trips_and_keys_nest(parts: list[str]) -> None:
    path = CategoryPath(tuple(p.strip() for p in parts))
    assert CategoryPath.parse(str(path)) == path
    keys = path.ancestor_keys()
    assert keys[0] == "/" and keys[-1] == path.key
    assert all(b.startswith(a.rstrip("/") + "/") or a == "/" for a, b in itertools.pairwise(keys))
