"""Settings come from the environment, refuse bad values loudly and never echo a secret."""

from __future__ import annotations

import copy
import pickle
import re
import traceback
from pathlib import Path

import pytest

from bot.core.errors import ConfigError
from bot.core.settings import SETTINGS, Settings, load_settings

README = Path(__file__).resolve().parent.parent / "README.md"
SECRETS = [setting.name for setting in SETTINGS if setting.secret]
# Valid for every secret setting (DATABASE_URL needs "://"), and easy to spot in output.
SECRET_VALUE = "sqlite:///hunter2-s3cr3t.db"


@pytest.fixture
def environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A minimal environment whose default SQLite file lands under tmp_path, not ~."""
    data_home = str(tmp_path / "data")
    # Both: the default database URL is computed from the process environment today.
    monkeypatch.setenv("XDG_DATA_HOME", data_home)
    return {"XDG_DATA_HOME": data_home}


def _value(settings: Settings, name: str) -> object:
    return getattr(settings, name.lower())


def _full_text(error: BaseException) -> str:
    """What a user would see if the error escaped: message, chained causes, traceback."""
    return "".join(traceback.format_exception(error))


def test_setting_names_are_unique_and_each_has_help() -> None:
    names = [setting.name for setting in SETTINGS]
    assert len(names) == len(set(names))
    assert all(setting.help.strip() for setting in SETTINGS)


def test_it_starts_with_defaults_from_an_empty_environment(environ: dict[str, str]) -> None:
    settings = load_settings(environ)

    assert _value(settings, "DATABASE_URL") == (
        f"sqlite:///{Path(environ['XDG_DATA_HOME']) / 'outcome' / 'outcome.db'}"
    )
    assert _value(settings, "SLACK_BOT_TOKEN") == ""
    assert _value(settings, "SLACK_API_URL") == "https://slack.com/api/"
    assert _value(settings, "OUTCOME_TIMEZONE") == "UTC"
    assert _value(settings, "OUTCOME_WORKSPACE") == "local"
    assert _value(settings, "OUTCOME_FISCAL_YEAR_START") == 1
    assert _value(settings, "OUTCOME_SPRINT_DAYS") == 14
    assert _value(settings, "PORT") == 3000
    assert _value(settings, "LOG_LEVEL") == "INFO"
    assert _value(settings, "OUTCOME_DEMO_DATA") is True


def test_it_parses_given_values(environ: dict[str, str]) -> None:
    settings = load_settings(
        environ
        | {
            "DATABASE_URL": "postgresql+psycopg://bot@db.internal/outcome",
            "OUTCOME_TIMEZONE": "Europe/Berlin",
            "OUTCOME_FISCAL_YEAR_START": "4",
            "PORT": "8080",
            "LOG_LEVEL": "debug",
            "OUTCOME_DEMO_DATA": "no",
        }
    )

    assert _value(settings, "DATABASE_URL") == "postgresql+psycopg://bot@db.internal/outcome"
    assert _value(settings, "OUTCOME_TIMEZONE") == "Europe/Berlin"
    assert _value(settings, "OUTCOME_FISCAL_YEAR_START") == 4
    assert _value(settings, "PORT") == 8080
    assert _value(settings, "LOG_LEVEL") == "DEBUG"
    assert _value(settings, "OUTCOME_DEMO_DATA") is False


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OUTCOME_TIMEZONE", "Mars/Olympus"),
        ("OUTCOME_TIMEZONE", "Europe"),
        ("OUTCOME_TIMEZONE", "../../etc/passwd"),
        ("OUTCOME_TIMEZONE", ""),
        ("PORT", "http"),
        ("PORT", "-1"),
        ("PORT", ""),
        ("PORT", "70000"),
        ("OUTCOME_FISCAL_YEAR_START", "0"),
        ("OUTCOME_FISCAL_YEAR_START", "13"),
        ("OUTCOME_FISCAL_YEAR_START", "april"),
        ("OUTCOME_SPRINT_DAYS", "0"),
        ("LOG_LEVEL", "verbose"),
        ("OUTCOME_DEMO_DATA", "maybe"),
        ("DATABASE_URL", "outcome.db"),
    ],
)  # fmt: skip
def test_a_bad_value_fails_naming_the_variable(
    environ: dict[str, str], name: str, value: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ | {name: value})

    assert re.search(rf"\b{name}\b", str(caught.value))


@pytest.mark.parametrize("name", SECRETS)
def test_a_secret_is_read_from_the_file_named_by_its_file_variable(
    environ: dict[str, str], tmp_path: Path, name: str
) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET_VALUE + "\n")

    settings = load_settings(environ | {f"{name}_FILE": str(secret_file)})

    assert _value(settings, name) == SECRET_VALUE


def test_an_unreadable_secret_file_fails_naming_the_variable(
    environ: dict[str, str], tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-file"

    with pytest.raises(ConfigError) as caught:
        load_settings(environ | {"SLACK_BOT_TOKEN_FILE": str(missing)})

    assert "SLACK_BOT_TOKEN_FILE" in str(caught.value)
    assert str(missing) in str(caught.value)


@pytest.mark.parametrize("via_file", [False, True], ids=["variable", "file"])
def test_a_bad_secret_is_not_shown_in_the_error(
    environ: dict[str, str], tmp_path: Path, via_file: bool
) -> None:
    bad_url = "postgresql:/bot:hunter2-s3cr3t@db.internal/outcome"
    if via_file:
        secret_file = tmp_path / "database-url"
        secret_file.write_text(bad_url)
        environ = environ | {"DATABASE_URL_FILE": str(secret_file)}
    else:
        environ = environ | {"DATABASE_URL": bad_url}

    with pytest.raises(ConfigError) as caught:
        load_settings(environ)

    assert "DATABASE_URL" in str(caught.value)
    assert "hunter2" not in _full_text(caught.value)


def test_an_error_in_another_setting_does_not_show_secrets(environ: dict[str, str]) -> None:
    secrets = {name: SECRET_VALUE for name in SECRETS}

    with pytest.raises(ConfigError) as caught:
        load_settings(environ | secrets | {"PORT": "http"})

    assert "hunter2" not in _full_text(caught.value)


def test_the_repr_of_settings_hides_secrets(environ: dict[str, str]) -> None:
    settings = load_settings(environ | {name: SECRET_VALUE for name in SECRETS})

    assert "hunter2" not in repr(settings)


def test_settings_can_be_copied_and_pickled(environ: dict[str, str]) -> None:
    settings = load_settings(environ | {"PORT": "8080"})

    assert _value(copy.deepcopy(settings), "PORT") == 8080
    assert _value(pickle.loads(pickle.dumps(settings)), "PORT") == 8080


def test_the_default_database_follows_the_given_environment(
    environ: dict[str, str], tmp_path: Path
) -> None:
    other = tmp_path / "elsewhere"

    settings = load_settings(environ | {"XDG_DATA_HOME": str(other)})

    assert _value(settings, "DATABASE_URL") == f"sqlite:///{other / 'outcome' / 'outcome.db'}"


def test_every_setting_is_documented_in_the_readme() -> None:
    table_rows = "\n".join(
        line for line in README.read_text().splitlines() if line.lstrip().startswith("|")
    )
    missing = [
        setting.name
        for setting in SETTINGS
        if not re.search(rf"(?<![A-Z0-9_]){setting.name}(?![A-Z0-9_])", table_rows)
    ]
    assert not missing, f"settings missing from the README's settings table: {missing}"
