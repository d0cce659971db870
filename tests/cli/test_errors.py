"""The one error translator (paperwire.cli.errors): each failure is one line on stderr and
the documented exit code, with a traceback only for a bug and only with -v."""

import errno
import importlib

import click
import pytest
from click.testing import CliRunner

from paperwire.cli import cli
from paperwire.cli.errors import EXPECTED_ERRORS, ExitCode, TranslatingGroup, describe


def _fails_cleanly(result, *expected: str) -> str:
    """The one line on stderr, after checking the exit code and that no traceback was printed."""
    assert result.exit_code == ExitCode.FAILED, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: ")
    for text in expected:
        assert text in line
    return line


@pytest.mark.parametrize("url, expected", [
    ("mysql://db", "DATABASE_URL 'mysql://db' is not supported"),
    ("sqlite:///{tmp}/no/such/folder/paperwire.db", "folder {tmp}/no/such/folder does not exist"),
    ("postgresql://pw:s3cret@127.0.0.1:1/paperwire", "cannot connect to PostgreSQL at postgresql://pw:***@"),
])
def test_a_store_that_cannot_be_opened(tmp_path, url, expected):
    result = CliRunner().invoke(cli, ["--database-url", url.format(tmp=tmp_path), "stats"])
    line = _fails_cleanly(result, expected.format(tmp=tmp_path))
    assert "s3cret" not in line


def test_a_store_that_is_not_a_database(tmp_path):
    (tmp_path / "paperwire.db").write_bytes(b"not a database, " * 512)
    result = CliRunner().invoke(cli, ["--database-url", f"sqlite:///{tmp_path}/paperwire.db", "stats"])
    _fails_cleanly(result, "file is not a database")


def test_a_config_error_names_the_variable_and_value(sqlite_url):
    result = CliRunner(env={"PAPERWIRE_PORT": "eighty"}).invoke(cli, ["--database-url", sqlite_url, "stats"])
    _fails_cleanly(result, "PAPERWIRE_PORT='eighty'")


def test_an_export_into_a_missing_folder(tmp_path, sqlite_url):
    out = tmp_path / "missing_dir" / "x.jsonl"
    result = CliRunner().invoke(cli, ["--database-url", sqlite_url, "export", "-o", str(out)])
    _fails_cleanly(result, f"{out}: folder {out.parent} does not exist")
    assert not out.parent.exists()


def test_an_export_onto_a_path_that_cannot_be_a_file(tmp_path, sqlite_url):
    (tmp_path / "file").write_text("")
    out = tmp_path / "file" / "x.jsonl"  # a "folder" that is a file: NotADirectoryError
    result = CliRunner().invoke(cli, ["--database-url", sqlite_url, "export", "-o", str(out)])
    _fails_cleanly(result, f"{out}: Not a directory")


def test_expected_errors_stay_one_clean_line_with_verbose():
    result = CliRunner().invoke(cli, ["-v", "--database-url", "mysql://db", "stats"])
    _fails_cleanly(result, "is not supported")


def test_a_wrong_option_is_a_usage_error(sqlite_url):
    result = CliRunner().invoke(cli, ["--database-url", sqlite_url, "stats", "--no-such-option"])
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "No such option" in result.stderr and "Traceback" not in result.output


def _group_whose_command_raises(error: BaseException) -> click.Group:
    """A root group like paperwire's (same class, same -v) with one command that raises `error`."""
    @click.group(cls=TranslatingGroup)
    @click.option("-v", "--verbose", is_flag=True)
    def root(verbose):
        pass

    @root.command()
    def boom():
        raise error

    return root


def test_a_bug_is_one_line_naming_it_without_verbose():
    result = CliRunner().invoke(_group_whose_command_raises(KeyError("paper_id")), ["boom"])
    line = _fails_cleanly(result, "unexpected KeyError: 'paper_id'", "run with -v for the traceback")
    assert line == "Error: unexpected KeyError: 'paper_id' (run with -v for the traceback)"


def test_a_bug_keeps_its_traceback_with_verbose():
    result = CliRunner().invoke(_group_whose_command_raises(KeyError("paper_id")), ["-v", "boom"])
    assert result.exit_code == ExitCode.FAILED
    assert isinstance(result.exception, KeyError) and result.exc_info[2] is not None


def test_a_closed_pipe_is_left_to_click_which_exits_quietly():
    result = CliRunner().invoke(_group_whose_command_raises(BrokenPipeError(errno.EPIPE, "Broken pipe")), ["boom"])
    assert result.exit_code == ExitCode.FAILED and result.stderr == ""


@pytest.mark.parametrize("module, name", EXPECTED_ERRORS)
def test_every_expected_error_is_named_right_and_becomes_one_line(module, name):
    error_type = getattr(importlib.import_module(module), name)
    message = describe(error_type("first line\n\tsecond line"))
    assert message == "first line; second line"


def test_a_subclass_of_an_expected_error_is_expected_too():
    from paperwire.store import NotFound

    assert describe(NotFound("no paper 2501.00001")) == "no paper 2501.00001"


def test_an_error_of_no_known_kind_is_not_described():
    assert describe(ZeroDivisionError("division by zero")) is None
