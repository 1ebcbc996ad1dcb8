"""Running a command module as ``main.py`` would, and reading its one error line: shared by the CLI tests."""

from __future__ import annotations

import argparse


def run_command(module, argv, capsys) -> tuple[int, str, str]:
    """``module.run`` on ``argv`` parsed by its own ``add_arguments``: (exit code, stdout, stderr)."""
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    code = module.run(parser.parse_args([str(a) for a in argv]))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def error_line(err: str) -> str:
    """The one ``error:`` line a user sees; fails when there is none, several, or a traceback."""
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]
