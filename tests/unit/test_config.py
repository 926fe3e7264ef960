"""The app config: TOML < env < flags, unknown keys and wrong types named, secrets redacted."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from tradewind.cli.context import STATE
from tradewind.cli.main import run
from tradewind.config import load_config, render_toml, secret_values
from tradewind.core.errors import ConfigError
from tradewind.data.config import GapFill


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tradewind.toml"
    path.write_text(text)
    return path


def test_defaults_need_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(env={})
    assert config.data.dir == Path("user_data/data")
    assert config.data.gap_fill is GapFill.NONE
    assert config.exchange.api_key is None


def test_precedence_file_then_env_then_flags(tmp_path: Path) -> None:
    path = _toml(tmp_path, '[data]\ndir = "from-file"\ndefault_exchange = "kraken"\n')
    assert load_config(path, env={}).data.dir == Path("from-file")
    env = {"TRADEWIND__DATA__DIR": "from-env"}
    config = load_config(path, env=env)
    assert config.data.dir == Path("from-env")
    assert config.data.default_exchange == "kraken"  # the file still counts where env is silent
    flagged = load_config(path, env=env, overrides={"data.dir": "from-flag", "log.level": None})
    assert flagged.data.dir == Path("from-flag")
    assert flagged.log.level == "INFO"  # a None flag does not override


def test_unknown_key_in_file_names_key_file_and_suggestion(tmp_path: Path) -> None:
    path = _toml(tmp_path, '[data]\ndirr = "x"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert str(caught.value) == (f"unknown config key 'data.dirr' in {path} (did you mean 'dir'?)")


def test_unknown_section_in_file(tmp_path: Path) -> None:
    path = _toml(tmp_path, '[exchnage]\nname = "x"\n')
    with pytest.raises(
        ConfigError, match=r"unknown config key 'exchnage' .*did you mean 'exchange'"
    ):
        load_config(path, env={})


def test_unknown_key_in_env_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(None, env={"TRADEWIND__EXCHANGE__API_KEYY": "k"})
    assert str(caught.value) == (
        "unknown config key 'exchange.api_keyy' in environment variable "
        "TRADEWIND__EXCHANGE__API_KEYY (did you mean 'api_key'?)"
    )


def test_wrong_type_names_key_and_expected_type(tmp_path: Path) -> None:
    path = _toml(tmp_path, '[exchange]\ntimeout_ms = "soon"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert str(caught.value) == (
        f"config key 'exchange.timeout_ms' in {path} must be an integer, got 'soon'"
    )
    with pytest.raises(ConfigError, match=r"'data.gap_fill' .* must be one of 'none', 'flat'"):
        load_config(None, env={"TRADEWIND__DATA__GAP_FILL": "zero"})


def test_malformed_file_and_env(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_config(_toml(tmp_path, "[data\n"), env={})
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml", env={})
    with pytest.raises(ConfigError, match="malformed environment variable TRADEWIND__DATA__"):
        load_config(None, env={"TRADEWIND__DATA__": "x"})


def test_secrets_are_collected_and_rendered_redacted(tmp_path: Path) -> None:
    path = _toml(tmp_path, '[exchange]\napi_key = "AKIAREALKEY123"\nsecret = "s3cr3t-value"\n')
    config = load_config(path, env={})
    assert sorted(secret_values(config)) == ["AKIAREALKEY123", "s3cr3t-value"]
    text = render_toml(config)
    assert "AKIAREALKEY123" not in text
    assert "s3cr3t-value" not in text
    assert "# api_key is set (hidden); give it by TRADEWIND__EXCHANGE__API_KEY" in text
    assert "# password is not set" in text


def test_config_show_redacts_a_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _toml(tmp_path, '[exchange]\nsecret = "topsecret-42"\n')
    monkeypatch.setenv("TRADEWIND__EXCHANGE__API_KEY", "env-key-9876")
    monkeypatch.setattr(STATE, "console", Console(width=200, no_color=True))
    monkeypatch.setattr(STATE, "_config", None)
    monkeypatch.setattr(STATE, "overrides", {})
    code = run(["--config", str(path), "config", "show"])
    out = capsys.readouterr().out
    assert code == 0
    assert "topsecret-42" not in out
    assert "env-key-9876" not in out
    assert "# secret is set (hidden); give it by TRADEWIND__EXCHANGE__SECRET" in out
    assert "# api_key is set (hidden); give it by TRADEWIND__EXCHANGE__API_KEY" in out


def test_config_error_exits_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _toml(tmp_path, "[data]\ngap_fil = 'flat'\n")
    monkeypatch.setattr(STATE, "err_console", Console(stderr=True, width=300, no_color=True))
    monkeypatch.setattr(STATE, "_config", None)
    monkeypatch.setattr(STATE, "overrides", {})
    code = run(["--config", str(path), "config", "show"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == (
        f"error: unknown config key 'data.gap_fil' in {path} (did you mean 'gap_fill'?)"
    )


def test_the_api_token_comes_from_the_environment_and_is_never_echoed(tmp_path: Path) -> None:
    token = "operator-token-0123456789"
    empty = _toml(tmp_path, "")
    config = load_config(empty, env={"TRADEWIND__API__TOKEN": token})
    assert config.api.token is not None
    assert config.api.token.get_secret_value() == token
    assert token in secret_values(config)
    assert token not in render_toml(config)
    assert "give it by TRADEWIND__API__TOKEN" in render_toml(config)
    with pytest.raises(ConfigError, match="shorter than 16 characters") as refused:
        load_config(empty, env={"TRADEWIND__API__TOKEN": "guessable1"})
    assert "guessable1" not in str(refused.value)
