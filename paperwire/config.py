"""Settings: one table of name, default, environment variable and help.

`load()` reads the environment once at start-up, validates every value and
returns a frozen `Settings`; everything else receives settings as an argument.
The table is also the source of docs/configuration.md (a test keeps them in step).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit, urlunsplit

from paperwire.accounts import AccountError, SignupPolicy, check_secret_key, parse_signup_policy


class ConfigError(ValueError):
    """A setting has a value we cannot use; the message names the variable and the value."""


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    env: str
    help: str
    kind: type = str


SETTINGS: tuple[Setting, ...] = (
    Setting("database_url", "sqlite:///paperwire.db", "DATABASE_URL",
            "Where papers are stored: sqlite:///path/to/file.db (embedded default) or postgresql://user:pass@host/db."),
    Setting("host", "127.0.0.1", "PAPERWIRE_HOST", "Address the web server listens on."),
    Setting("port", "8000", "PAPERWIRE_PORT", "Port the web server listens on.", int),
    Setting("web_threads", "4", "PAPERWIRE_WEB_THREADS",
            "Threads per web process that run page handlers at once (others wait their turn). Fewer pass the "
            "GIL around less: search p95 at 20 clients was 60 ms with 2, 68 with 4, 111 with 40 (docs/web.md); "
            "more let slow requests (a mail relay's answer) wait without holding the rest up.", int),
    Setting("harvest_enabled", "true", "PAPERWIRE_HARVEST",
            "Whether `paperwire serve` harvests new papers in the background (true/false).", bool),
    Setting("harvest_categories", "cs.CL cs.LG cs.AI cs.CV", "PAPERWIRE_HARVEST_CATEGORIES",
            "arXiv categories the background harvest follows, space-separated."),
    Setting("harvest_interval_minutes", "360", "PAPERWIRE_HARVEST_INTERVAL_MINUTES",
            "Minutes between background harvests.", int),
    Setting("harvest_hf_daily", "true", "PAPERWIRE_HARVEST_HF_DAILY",
            "Whether the background harvest also reads the Hugging Face daily papers list.", bool),
    Setting("arxiv_api_url", "https://export.arxiv.org/api/query", "PAPERWIRE_ARXIV_API_URL",
            "arXiv API (Atom) endpoint."),
    Setting("oai_pmh_url", "https://oaipmh.arxiv.org/oai", "PAPERWIRE_OAI_PMH_URL",
            "arXiv OAI-PMH endpoint."),
    Setting("hf_url", "https://huggingface.co", "PAPERWIRE_HF_URL", "Hugging Face base URL."),
    Setting("request_interval_seconds", "3", "PAPERWIRE_REQUEST_INTERVAL_SECONDS",
            "Seconds between requests to arXiv (its terms ask for at least 3).", float),
    Setting("model_cache_dir", "~/.cache/paperwire", "PAPERWIRE_CACHE_DIR",
            "Where the optimised embedding model and the search indexes are cached."),
    Setting("embed_threads", "0", "PAPERWIRE_EMBED_THREADS",
            "Threads for embedding; 0 means all cores.", int),
    Setting("embed_enabled", "true", "PAPERWIRE_EMBED",
            "Whether `paperwire serve` embeds new papers in the background for search by meaning (true/false).",
            bool),
    Setting("signup", "invite", "PAPERWIRE_SIGNUP",
            "Who may create an account: open (anyone), invite (with an invite link from a member) "
            "or closed (only an admin, with `paperwire user create`)."),
    Setting("base_url", "http://127.0.0.1:8000", "PAPERWIRE_BASE_URL",
            "The public URL of this paperwire, for links in mail (paper pages, confirm and unsubscribe links) "
            "and in feeds; feeds use the address each request came to while this is left at its default."),
    Setting("cors_origins", "", "PAPERWIRE_CORS_ORIGINS",
            "Web origins (https://app.example.org, space-separated, or *) whose pages may read the JSON API "
            "and feeds from a browser; empty: none (CORS off)."),
    Setting("submit_window_days", "14", "PAPERWIRE_SUBMIT_WINDOW_DAYS",
            "How recent (days since first published) a paper must be to be submitted to the daily list.", int),
    Setting("secret_key", "", "PAPERWIRE_SECRET_KEY",
            "Key that signs CSRF tokens and the confirmation and unsubscribe links in mail, at least 32 "
            "characters. Empty: one is generated on first start and kept in the database, shared by every "
            "process that uses it. Changing it voids every link already mailed."),
    Setting("smtp_host", "", "PAPERWIRE_SMTP_HOST",
            "SMTP server that sends mail (digests, confirmations); mail is off while this is empty."),
    Setting("smtp_port", "0", "PAPERWIRE_SMTP_PORT",
            "SMTP port; 0 means the standard port of PAPERWIRE_SMTP_SECURITY (587 starttls, 465 tls, 25 none).",
            int),
    Setting("smtp_security", "starttls", "PAPERWIRE_SMTP_SECURITY",
            "How the SMTP connection is encrypted: starttls (upgrade after connecting), tls (implicit TLS) "
            "or none (only for a relay on the same machine)."),
    Setting("smtp_user", "", "PAPERWIRE_SMTP_USER", "SMTP user name; empty means no login."),
    Setting("smtp_password", "", "PAPERWIRE_SMTP_PASSWORD", "SMTP password for PAPERWIRE_SMTP_USER."),
    Setting("smtp_from", "paperwire <paperwire@localhost>", "PAPERWIRE_SMTP_FROM",
            "The From address of every mail, as `Name <address>`; its domain also names Message-ID and List-Id."),
    Setting("smtp_timeout_seconds", "30", "PAPERWIRE_SMTP_TIMEOUT_SECONDS",
            "Seconds to wait for the SMTP server at each step before counting the attempt as a temporary failure.",
            float),
    Setting("thumbnail_hosts", "cdn-thumbnails.huggingface.co", "PAPERWIRE_THUMBNAIL_HOSTS",
            "Hosts the thumbnails job may fetch the daily lists' pictures from, space-separated (the Hugging "
            "Face list's CDN); any other address in a feed is refused, and so is a name that resolves to a "
            "private or loopback address."),
)

SMTP_SECURITY_MODES = ("starttls", "tls", "none")


@dataclass(frozen=True)
class Settings:
    database_url: str
    host: str
    port: int
    web_threads: int
    harvest_enabled: bool
    harvest_categories: str
    harvest_interval_minutes: int
    harvest_hf_daily: bool
    arxiv_api_url: str
    oai_pmh_url: str
    hf_url: str
    request_interval_seconds: float
    model_cache_dir: str
    embed_threads: int
    embed_enabled: bool
    signup: str
    submit_window_days: int
    base_url: str
    cors_origins: str
    secret_key: str = field(repr=False)  # secrets stay out of logs and tracebacks
    smtp_host: str
    smtp_port: int
    smtp_security: str
    smtp_user: str
    smtp_password: str = field(repr=False)
    smtp_from: str
    smtp_timeout_seconds: float
    thumbnail_hosts: str

    @property
    def cache_path(self) -> Path:
        return Path(self.model_cache_dir).expanduser()

    @property
    def categories(self) -> list[str]:
        return self.harvest_categories.split()

    @property
    def allowed_origins(self) -> list[str]:
        return self.cors_origins.split()

    @property
    def thumbnail_host_names(self) -> list[str]:
        return self.thumbnail_hosts.lower().split()

    @property
    def signup_policy(self) -> SignupPolicy:
        return parse_signup_policy(self.signup)


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _convert(setting: Setting, raw: str):
    text = raw.strip()
    try:
        if setting.kind is bool:
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ValueError
        if setting.kind is int:
            return int(text)
        if setting.kind is float:
            return float(text)
    except ValueError:
        raise ConfigError(
            f"{setting.env}={raw!r} is not a valid {setting.kind.__name__}; {setting.help}"
        ) from None
    return text


def load(environ: Mapping[str, str] | None = None, **overrides) -> Settings:
    """Settings from `environ` (default: os.environ), then `overrides`; raises ConfigError."""
    env = os.environ if environ is None else environ
    values = {}
    for setting in SETTINGS:
        raw = overrides.get(setting.name)
        if raw is None:
            raw = env.get(setting.env, setting.default)
        values[setting.name] = raw if not isinstance(raw, str) else _convert(setting, raw)
    settings = Settings(**values)
    _validate(settings)
    return settings


def to_environ(settings: Settings) -> dict[str, str]:
    """The environment variables that `load` turns back into these settings."""
    def text(value) -> str:
        return ("true" if value else "false") if isinstance(value, bool) else str(value)

    return {s.env: text(getattr(settings, s.name)) for s in SETTINGS}


def redact_url(url: str) -> str:
    """The URL with any password replaced by ***, fit for messages, logs and the terminal."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _validate(settings: Settings) -> None:
    if not (0 < settings.port < 65536):
        raise ConfigError(f"PAPERWIRE_PORT={settings.port} must be between 1 and 65535")
    if settings.web_threads < 1:
        raise ConfigError(f"PAPERWIRE_WEB_THREADS={settings.web_threads} must be at least 1")
    if settings.harvest_interval_minutes < 1:
        raise ConfigError(
            f"PAPERWIRE_HARVEST_INTERVAL_MINUTES={settings.harvest_interval_minutes} must be at least 1"
        )
    if settings.request_interval_seconds < 0:
        raise ConfigError("PAPERWIRE_REQUEST_INTERVAL_SECONDS must not be negative")
    if not settings.database_url.startswith(("sqlite:", "postgresql:", "postgres:")):
        raise ConfigError(
            f"DATABASE_URL {settings.database_url!r} is not supported; "
            "use sqlite:///path/to/paperwire.db or postgresql://user:pass@host/dbname"
        )
    if settings.submit_window_days < 1:
        raise ConfigError(f"PAPERWIRE_SUBMIT_WINDOW_DAYS={settings.submit_window_days} must be at least 1")
    try:
        parse_signup_policy(settings.signup)
    except AccountError as error:
        raise ConfigError(str(error)) from None
    if (problem := check_secret_key(settings.secret_key)) is not None:
        raise ConfigError(problem)
    _validate_mail(settings)
    _validate_base_url(settings.base_url)
    for origin in settings.allowed_origins:
        _validate_origin(origin)


def _validate_mail(settings: Settings) -> None:
    if not settings.base_url.startswith(("http://", "https://")) or not settings.base_url.isascii():
        raise ConfigError(f"PAPERWIRE_BASE_URL {settings.base_url!r} must start with https:// (or http://) "
                          "and be ASCII (an international host name in punycode, xn--...)")
    if settings.smtp_security not in SMTP_SECURITY_MODES:
        raise ConfigError(
            f"PAPERWIRE_SMTP_SECURITY={settings.smtp_security!r} is not one of {', '.join(SMTP_SECURITY_MODES)}"
        )
    if not (0 <= settings.smtp_port < 65536):
        raise ConfigError(f"PAPERWIRE_SMTP_PORT={settings.smtp_port} must be between 0 (standard) and 65535")
    if settings.smtp_timeout_seconds <= 0:
        raise ConfigError(f"PAPERWIRE_SMTP_TIMEOUT_SECONDS={settings.smtp_timeout_seconds} must be positive")


def _validate_base_url(url: str) -> None:
    if not url:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment \
            or url.endswith("/"):
        raise ConfigError(
            f"PAPERWIRE_BASE_URL {url!r} is not a base address; use scheme, host and an optional path "
            "without a trailing slash, e.g. https://papers.example.org or https://example.org/paperwire"
        )


def _validate_origin(origin: str) -> None:
    # An origin is scheme://host[:port] and nothing more (RFC 6454, section 6.1).
    parts = urlsplit(origin)
    is_origin = parts.scheme in ("http", "https") and parts.netloc and not parts.path and not parts.query
    if origin != "*" and not (is_origin and not parts.fragment and "@" not in parts.netloc):
        raise ConfigError(
            f"PAPERWIRE_CORS_ORIGINS has {origin!r}, which is not an origin; "
            "use e.g. https://app.example.org (no path), several separated by spaces, or *"
        )


assert {f.name for f in fields(Settings)} == {s.name for s in SETTINGS}
