"""Files the docs point users at must load as documented."""

from pathlib import Path

from dissensus.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_the_example_config_loads_with_the_values_it_shows() -> None:
    settings = Settings.load(ROOT / "examples" / "config.yaml")
    assert [(g.model, g.style) for g in settings.generators] == [
        ("local:gemma3-270m", "direct"),
        ("local:gemma3-270m", "evidence"),
    ]
    assert settings.lexicon_worker and settings.examples_per_product == 3
    assert settings.evaluator is None
    assert settings.consensus.quorum is None
    assert settings.learning_kinds == ["value", "example", "rule"] and settings.learning_gate
    assert settings.memory_manager_model() == "local:qwen2.5-coder-1.5b"
    assert settings.database_url is None


def test_every_setting_is_in_the_example_config() -> None:
    text = (ROOT / "examples" / "config.yaml").read_text()
    missing = [name for name in Settings.model_fields if name != "home" and f"{name}:" not in text]
    assert missing == []
