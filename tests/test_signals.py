"""SIGTERM (a scheduler's time limit, ``kill``) ends a ``varbind`` command like Ctrl-C: the
half-written output's temporary file is removed and the exit status is 143."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from varbind.cli.signals import Terminated, interrupted_status, sigterm_unwinds

#: ``varbind.cli.main`` running a command that is halfway through writing OUTPUT when signalled.
COMMAND = textwrap.dedent('''
    import argparse, signal, sys, time

    import varbind.cli as cli
    from varbind.files import atomic_output


    def write_slowly(args):
        with atomic_output(args.output) as tmp:
            tmp.write_text("half of it")
            print("writing", flush=True)
            time.sleep(60)
        return 0


    def parser():
        top = argparse.ArgumentParser(prog="varbind")
        command = top.add_subparsers(dest="command").add_parser("write")
        command.add_argument("output")
        command.set_defaults(func=write_slowly, verbose=0, quiet=True)
        return top


    # Ctrl-C's handler, even where this process inherited SIGINT ignored (pytest-xdist workers)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    cli.build_parser = parser
    sys.exit(cli.main(["write", sys.argv[1]]))
''')


@pytest.mark.parametrize("signum, status, word", [(signal.SIGTERM, 143, "terminated"),
                                                  (signal.SIGINT, 130, "interrupted")])
def test_signal_unwinds_the_command(tmp_path, signum, status, word):
    script, output = tmp_path / "command.py", tmp_path / "out" / "result.vcf"
    script.write_text(COMMAND)
    process = subprocess.Popen([sys.executable, str(script), str(output)], text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout.readline() == "writing\n"
        assert len(list(output.parent.iterdir())) == 1  # the temporary file beside it
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == status
    assert stderr.strip() == f"varbind write: {word}"
    assert list(output.parent.iterdir()) == []


def test_sigterm_raises_terminated_and_the_handler_is_restored():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Terminated), sigterm_unwinds():
        os.kill(os.getpid(), signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is before
    assert interrupted_status(Terminated()) == ("terminated", 143)
    assert interrupted_status(KeyboardInterrupt()) == ("interrupted", 130)
