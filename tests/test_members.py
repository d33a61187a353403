"""Per-RBP worker processes end with the ``varbind train`` that started them, whether it is
killed (SIGKILL) or terminated (SIGTERM, which the CLI unwinds like Ctrl-C)."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

#: A parent training two slow members in two worker processes; each worker writes its pid.
PARENT = textwrap.dedent('''
    import os, sys, time
    from dataclasses import dataclass
    from types import SimpleNamespace

    from varbind.training.members import train_members


    @dataclass
    class Config:
        progress: bool = True


    def slow_member(config, specs, data):
        open(os.path.join(sys.argv[1], str(os.getpid())), "w").close()
        time.sleep(300)


    if __name__ == "__main__":
        from varbind.cli.signals import interrupted_status, sigterm_unwinds

        data = SimpleNamespace(splits={"train": [0]})
        try:
            with sigterm_unwinds():  # as varbind.cli.main runs every command
                train_members([(Config(), data), (Config(), data)], [], 2, slow_member)
        except KeyboardInterrupt as error:
            sys.exit(interrupted_status(error)[1])
''')


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (Linux /proc)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _wait(condition, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads Linux /proc")
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["kill", "term"])
def test_workers_exit_when_varbind_train_is_killed(tmp_path, signum):
    script, pids = tmp_path / "parent.py", tmp_path / "pids"
    script.write_text(PARENT)
    pids.mkdir()
    parent = subprocess.Popen([sys.executable, str(script), str(pids)],  # its temporary
                              env={**os.environ, "TMPDIR": str(tmp_path)})  # folder stays here
    try:
        assert _wait(lambda: len(list(pids.iterdir())) == 2, 120), "workers never started"
        workers = [int(p.name) for p in pids.iterdir()]
        assert all(_running(w) for w in workers)
        parent.send_signal(signum)
        status = parent.wait(timeout=30)  # not after the members' 300 s
        assert _wait(lambda: not any(_running(w) for w in workers), 20), \
            "worker processes outlived their parent"
        if signum == signal.SIGTERM:  # unwound: the CLI's status, temporary folder removed
            assert status == 143
            assert not list(tmp_path.glob("varbind-members-*"))
    finally:
        parent.kill()
        for p in pids.iterdir():
            if _running(int(p.name)):
                os.kill(int(p.name), signal.SIGKILL)
