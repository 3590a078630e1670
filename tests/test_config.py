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
