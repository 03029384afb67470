"""The commands a reader types in a terminal: progress output on a pseudo-terminal.

Progress is shown only when stderr is a terminal, so piped runs and the other
tests never see it; these tests give the commands a pseudo-terminal, as a
reader's shell does.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from cart_lib.core import paths


def run_in_terminal(args: list[str], timeout: float = 300.0) -> tuple[int, str]:
    """Run ``python -m cart_lib ARGS`` with stdin, stdout and stderr on a pseudo-terminal."""
    main, secondary = pty.openpty()
    # A new pseudo-terminal has no size; a reader's window has one (tqdm draws nothing without).
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    process = subprocess.Popen([sys.executable, "-m", "cart_lib", *args], cwd=paths.ROOT,
                               stdin=secondary, stdout=secondary, stderr=secondary,
                               close_fds=True)
    os.close(secondary)
    chunks, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.5)
        if ready:
            try:
                data = os.read(main, 65536)
            except OSError:             # the terminal closed: the process has ended
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    else:
        process.kill()
    os.close(main)
    return process.wait(timeout=30), b"".join(chunks).decode("utf-8", "replace")


def test_reconstruct_shows_its_progress_in_a_terminal(tmp_path: Path):
    status, output = run_in_terminal(["reconstruct", "--study", "hu2019", "--seed", "0",
                                      "--out", str(tmp_path)])
    assert status == 0, output
    assert "Traceback" not in output
    assert "[hu2019] move" in output and "every claim matched" in output
    assert (tmp_path / "hu2019.csv").read_bytes() == paths.cohort_path("hu2019").read_bytes()


def test_sample_shows_its_progress_in_a_terminal(tmp_path: Path):
    status, output = run_in_terminal(["sample", "--study", "hu2019", "--n", "16", "--seed", "3",
                                      "--out", str(tmp_path)])
    assert status == 0, output
    assert "Traceback" not in output
    assert "hu2019: chains" in output and "16 distinct cohorts" in output
    assert (tmp_path / "hu2019.csv.gz").exists()
