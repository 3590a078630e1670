"""Settings are validated when they load: unknown names are refused with the closest valid one."""

from __future__ import annotations

from pathlib import Path

import pytest

from dissensus.config import Settings
from dissensus.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("batch_sise: 16", "unknown setting 'batch_sise'; did you mean 'batch_size'?"),
        ("consensus: {quorom: 1}", "unknown setting 'consensus.quorom'; did you mean 'quorum'?"),
        (
            "review: {audit_rat: 0.1}",
            "unknown setting 'review.audit_rat'; did you mean 'audit_rate'?",
        ),
        ("batch_size: 0", "batch_size: Input should be greater than or equal to 1"),
        ("concurrency: -2", "concurrency: Input should be greater than or equal to 1"),
        (
            "learning_kinds: [values]",
            "learning_kinds.0: Input should be 'rule', 'value' or 'example'",
        ),
    ],
)
def test_bad_settings_fail_at_load_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        Settings.load(path)
    assert message in str(raised.value)


def test_the_defaults_are_the_embedded_profile() -> None:
    settings = Settings()
    assert [(g.model, g.style) for g in settings.generators] == [("local:gemma3-270m", "direct")]
    assert settings.lexicon_worker and settings.evaluator is None
    assert settings.supervisor == "local:qwen2.5-coder-1.5b"
    assert settings.consensus.min_voters == 2 and settings.learning_gate


def test_request_limits_override_by_provider_and_by_model_string() -> None:
    """Timeouts and retries are settable per provider and per model (so per role)."""
    from dissensus.llm import ModelPool
    from dissensus.llm.testing import ScriptedLLM

    settings = Settings.model_validate(
        {
            "request_timeout_seconds": 30,
            "request_retries": 2,
            "request_limits": {
                "openai": {"timeout_seconds": 10},
                "openai:slow-supervisor": {"timeout_seconds": 180, "retries": 0},
            },
        }
    )
    opened: dict[str, dict[str, object]] = {}

    def opener(spec: str, **options: object) -> ScriptedLLM:
        opened[spec] = options
        return ScriptedLLM(spec, lambda request: {})

    pool = ModelPool(opener=opener, **settings.model_options())
    for spec in ("openai:worker", "openai:slow-supervisor", "anthropic:claude"):
        pool.get(spec)
    assert {s: (o["timeout"], o["retries"]) for s, o in opened.items()} == {
        "openai:worker": (10, 2),
        "openai:slow-supervisor": (180, 0),
        "anthropic:claude": (30, 2),
    }
    with pytest.raises(ValueError, match="timeout_secs"):
        Settings.model_validate({"request_limits": {"openai": {"timeout_secs": 5}}})


def test_the_environment_outranks_the_config_file_and_options_outrank_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("database_url: null\n")
    monkeypatch.delenv("DISSENSUS_DATABASE_URL", raising=False)
    assert Settings.load(config).database_url is None
    monkeypatch.setenv("DISSENSUS_DATABASE_URL", "postgresql+psycopg://db/catalog")
    assert Settings.load(config).database_url == "postgresql+psycopg://db/catalog"
    config.write_text("database_url: sqlite:///elsewhere.db\n")
    assert Settings.load(config).database_url == "postgresql+psycopg://db/catalog"
    config.write_text("home: /from/the/file\n")
    monkeypatch.setenv("DISSENSUS_HOME", str(tmp_path / "home"))
    assert Settings.load(config).home == tmp_path / "home"
    # An option given on the command line outranks both.
    assert Settings.load(config, database_url="sqlite:///x.db").database_url == "sqlite:///x.db"
