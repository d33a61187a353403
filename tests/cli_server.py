"""Run ``varbind`` commands in one long-lived process, for the executed tutorials.

Each ``varbind`` process imports TensorFlow and Keras first (several CPU seconds), which is
most of what a tutorial command costs on the small demo regions. The tutorial test starts one
server per test process; the tutorial's bash script then finds a ``varbind`` shell function
that sends each command line to it, and the server runs it through ``varbind.cli.main`` (what
the ``varbind`` entry point calls) in the command's working directory, with its stdout,
stderr and exit status returned to the shell as they would be.

    python tests/cli_server.py serve SOCKET        # the server (started by the test)
    python tests/cli_server.py call SOCKET ARG...  # one command (the shell function)
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import socket
import struct
import sys
import traceback


def _send(conn: socket.socket, payload: dict) -> None:
    data = json.dumps(payload).encode()
    conn.sendall(struct.pack("!Q", len(data)) + data)


def _receive(conn: socket.socket) -> dict:
    def exactly(n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            part = conn.recv(n - len(buf))
            if not part:
                raise ConnectionError("varbind command server closed the connection")
            buf += part
        return buf

    (size,) = struct.unpack("!Q", exactly(8))
    return json.loads(exactly(size))


def _stream() -> io.TextIOWrapper:
    """A text stream with a ``.buffer``, like ``sys.stdout``."""
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)


def _value(stream: io.TextIOWrapper) -> str:
    stream.flush()
    return stream.buffer.getvalue().decode("utf-8", "replace")


def run_command(argv: list[str], cwd: str) -> dict:
    """``varbind ARGV`` in ``cwd``: exit status, stdout and stderr."""
    from varbind.cli import main

    out, err = _stream(), _stream()
    here, saved_argv = os.getcwd(), sys.argv
    sys.argv = ["varbind", *argv]  # the run headers record the command from sys.argv
    for handler in list(logging.root.handlers):  # logging is set up again on this stderr
        logging.root.removeHandler(handler)
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(argv)
            except SystemExit as exc:  # argparse errors, --help
                code = exc.code
                status = code if isinstance(code, int) else (0 if code is None else 1)
                if isinstance(code, str):
                    print(code, file=sys.stderr)
            except Exception:  # noqa: BLE001  (the shell sees a traceback, as it would)
                traceback.print_exc()
                status = 1
    finally:
        os.chdir(here)
        sys.argv = saved_argv
    return {"status": int(status or 0), "stdout": _value(out), "stderr": _value(err)}


def serve(path: str) -> None:
    from varbind.model.device import load_tensorflow_quietly

    load_tensorflow_quietly()  # what every model command pays, paid once
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    print("ready", flush=True)
    while True:
        conn, _ = server.accept()
        with conn:
            request = _receive(conn)
            if request.get("stop"):
                return
            _send(conn, run_command(request["argv"], request["cwd"]))


def call(path: str, argv: list[str]) -> int:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(path)
        _send(conn, {"argv": argv, "cwd": os.getcwd()})
        reply = _receive(conn)
    sys.stdout.write(reply["stdout"])
    sys.stderr.write(reply["stderr"])
    return reply["status"]


def stop(path: str) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(path)
        _send(conn, {"stop": True})


if __name__ == "__main__":
    what, where, *rest = sys.argv[1:]
    if what == "serve":
        serve(where)
    else:
        sys.exit(call(where, rest))
