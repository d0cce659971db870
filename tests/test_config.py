import re

import pytest

from paperwire.config import ConfigError, load


def test_defaults_load():
    settings = load({})
    assert settings.database_url == "sqlite:///paperwire.db"
    assert settings.port == 8000 and settings.harvest_enabled is True


@pytest.mark.parametrize("env, message", [
    ({"PAPERWIRE_PORT": "eighty"}, "PAPERWIRE_PORT='eighty' is not a valid int"),
    ({"PAPERWIRE_PORT": "70000"}, "between 1 and 65535"),
    ({"PAPERWIRE_HARVEST": "maybe"}, "PAPERWIRE_HARVEST='maybe' is not a valid bool"),
    ({"PAPERWIRE_WEB_THREADS": "0"}, "PAPERWIRE_WEB_THREADS=0 must be at least 1"),
    ({"PAPERWIRE_WEB_THREADS": "-3"}, "PAPERWIRE_WEB_THREADS=-3 must be at least 1"),
    ({"PAPERWIRE_WEB_THREADS": "four\x1b[2J"}, r"PAPERWIRE_WEB_THREADS='four\\x1b\[2J' is not a valid int"),  # the escape shown, not sent
    ({"DATABASE_URL": "mysql://db"}, "DATABASE_URL 'mysql://db' is not supported"),
])
def test_bad_values_name_the_variable_and_value(env, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        load(env)


def test_overrides_win_over_environment():
    assert load({"DATABASE_URL": "sqlite:///a.db"}, database_url="sqlite:///b.db").database_url == "sqlite:///b.db"


def test_to_environ_round_trips():
    from paperwire.config import to_environ

    settings = load({}, port="9000", harvest_enabled="false", request_interval_seconds="0.5")
    assert load(to_environ(settings)) == settings


def test_redact_url_hides_only_the_password():
    from paperwire.config import redact_url

    assert redact_url("postgresql://pw:s3cret@db:5432/paperwire") == "postgresql://pw:***@db:5432/paperwire"
    assert redact_url("sqlite:///paperwire.db") == "sqlite:///paperwire.db"


@pytest.mark.parametrize("url", ["https://papers.example.org", "http://localhost:8000/paperwire"])
def test_base_url_takes_an_address(url):
    assert load({"PAPERWIRE_BASE_URL": url}).base_url == url


@pytest.mark.parametrize("url", ["https://papers.example.org/", "https://x.org/?a=1", "https://x.org/#top",
                                 "https://"])
def test_base_url_refuses_what_is_not_a_base_address(url):
    with pytest.raises(ConfigError, match=f"PAPERWIRE_BASE_URL '{re.escape(url)}' is not a base address"):
        load({"PAPERWIRE_BASE_URL": url})


def test_cors_origins():
    assert load({}).allowed_origins == []
    both = load({"PAPERWIRE_CORS_ORIGINS": " https://a.example.org  http://localhost:3000 "})
    assert both.allowed_origins == ["https://a.example.org", "http://localhost:3000"]
    assert load({"PAPERWIRE_CORS_ORIGINS": "*"}).allowed_origins == ["*"]


@pytest.mark.parametrize("origin", ["https://a.example.org/", "https://a.example.org/app", "a.example.org",
                                    "https://user@a.example.org", "javascript:alert(1)"])
def test_cors_origins_refuse_what_is_not_an_origin(origin):
    with pytest.raises(ConfigError, match=f"PAPERWIRE_CORS_ORIGINS has '{re.escape(origin)}', which is not an origin"):
        load({"PAPERWIRE_CORS_ORIGINS": f"https://ok.example {origin}"})
