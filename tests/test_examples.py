"""Files the docs point users at must load as documented."""

from pathlib import Path

from dissensus.config import ConsensusSettings, Settings

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
    consensus = [n for n in ConsensusSettings.model_fields if f"  {n}:" not in text]
    assert consensus == []


def test_the_python_api_example_runs_and_prints_what_it_promises(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "DISSENSUS_HOME": str(tmp_path)}
    env.pop("DISSENSUS_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "python_api.py")],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("run run-") and lines[0].endswith(": 2 products")
    assert [line.split(" ", 1)[0] for line in lines[1:3]] == ["k1", "k2"]
    assert lines[3].startswith("status completed, disagreement ")
    assert lines[4].startswith("4 model calls logged; the first was generator-")
    assert (tmp_path / "dissensus.db").exists()


def test_the_package_exports_what_its_docstring_names() -> None:
    import dissensus

    assert dissensus.__all__ == sorted(dissensus.__all__, key=lambda n: (n[0].islower(), n))
    for name in dissensus.__all__:
        assert getattr(dissensus, name) is not None
    try:
        dissensus.nope  # noqa: B018
    except AttributeError as exc:
        assert "no attribute 'nope'" in str(exc)
    else:
        raise AssertionError("an unknown name must raise AttributeError")
