"""How the `paperwire` command ends: its exit codes, and the one place that turns errors into them.

Commands raise domain errors (`ConfigError`, `StoreError`, `FetchError`...) and
never catch them to print them; `TranslatingGroup.invoke` turns each into one
line on stderr and `ExitCode.FAILED`. click itself answers a wrong option or
argument with the usage line and `ExitCode.USAGE`. Anything else is a bug: one
line that names it, and its traceback only with `-v`.
"""

from __future__ import annotations

import errno
import sys
from enum import IntEnum
from pathlib import Path

import click


class ExitCode(IntEnum):
    """Every way `paperwire` exits; docs/cli.md lists the same table (tests/test_docs.py checks)."""

    OK = 0  # done, also when nothing new arrived
    FAILED = 1  # an error whose message says what to do, or a bug (run with -v for its traceback)
    USAGE = 2  # a wrong option or argument: click prints the usage line and what was wrong


# (module, class) of each error whose message is written for the person at the
# terminal, subclasses included (`store.NotFound`, `store.copy.CopyError`). Named
# rather than imported: importing paperwire.search costs about a second (SciPy),
# which `paperwire --help` should not pay to name an error it cannot raise.
EXPECTED_ERRORS: tuple[tuple[str, str], ...] = (
    ("paperwire.config", "ConfigError"),
    ("paperwire.accounts", "AccountError"),
    ("paperwire.store", "StoreError"),
    ("paperwire.sources", "FetchError"),
    ("paperwire.search.embed", "EmbedderError"),
    ("paperwire.search.evaluate", "EvalError"),
    ("paperwire.search.service", "SearchBusy"),
    ("paperwire.digest.mail", "MailNotConfigured"),
    ("paperwire.digest.mail", "MailSetupError"),
    ("paperwire.digest.mail", "InvalidAddress"),
    ("paperwire.digest.run", "UnknownSubscriber"),
    ("paperwire.digest.run", "RunStopped"),
)


class Failure(click.ClickException):
    """What the user sees when a command fails: `Error: <one line>` on stderr."""

    exit_code = ExitCode.FAILED


class TranslatingGroup(click.Group):
    """The root group: every command runs inside its `invoke`, so errors are translated here only."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:
            if isinstance(error, OSError) and error.errno == errno.EPIPE:
                raise  # a closed pipe (`paperwire export | head`): click's `main` exits quietly
            message = describe(error)
            if message is None and ctx.params.get("verbose"):
                raise
            raise Failure(_unexpected(error) if message is None else message) from None


def describe(error: Exception) -> str | None:
    """The one-line message for an expected error (a domain error, or a file that cannot be
    read or written), or None for anything else: a bug."""
    if isinstance(error, _expected_types()):
        return _one_line(str(error))
    if isinstance(error, OSError):
        return _one_line(_file_message(error))
    return None


def _expected_types() -> tuple[type[Exception], ...]:
    # A module that was never imported cannot have raised its error.
    found = (getattr(sys.modules.get(module), name, None) for module, name in EXPECTED_ERRORS)
    return tuple(error_type for error_type in found if error_type is not None)


def _file_message(error: OSError) -> str:
    """`path: reason`, as shell tools say it, e.g. `papers.jsonl: Permission denied`."""
    if error.filename is None:
        return str(error)
    if isinstance(error, FileNotFoundError) and isinstance(error.filename, str) \
            and not Path(error.filename).parent.is_dir():
        # The usual cause of "No such file" on a file being written, and the thing to fix.
        return f"{error.filename}: folder {Path(error.filename).parent} does not exist"
    paths = f"{error.filename}" + (f" -> {error.filename2}" if error.filename2 is not None else "")
    return f"{paths}: {error.strerror or error}"


def _unexpected(error: Exception) -> str:
    return f"unexpected {type(error).__name__}: {_one_line(str(error))} (run with -v for the traceback)"


def _one_line(message: str) -> str:
    """A message on one line: drivers (psycopg, for one) put hints on lines of their own."""
    return "; ".join(line.strip() for line in message.splitlines() if line.strip())
