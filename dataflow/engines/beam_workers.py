"""SDK workers for Beam's multi-process DirectRunner, forked from one process that loaded the models once.

The DirectRunner starts each SDK worker with a shell command (``SubprocessSDKEnvironment``); its own
command execs a fresh ``sdk_worker_main``, which imports Beam and the pipeline and loads every model
(fastText's LID, Kiwi, spaCy, numba's kernels) on its first bundle: bench/bench_engines.py measured
about 7 CPU-s of start-up per extra worker, each worker paying it again. ``forked_workers`` instead
starts this module once as a fork server (``serve``) that loads the models as the local engine's
driver does (``engines.local.preload``) and imports the SDK harness, while the driver builds and
starts the graph. The runner's worker command is then this module's ``connect``: a small client that
sends its environment (where the runner puts the control and logging endpoints and the pipeline
options) over a Unix socket and waits; the server forks a child that runs ``sdk_worker_main`` with
that environment, sharing the loaded models copy-on-write, and sends back its exit status. The child
ends when its client does (the runner kills a worker's process to stop it).

A failed preload is only a lost speed-up: it is reported on stderr and the workers load what they
need themselves. No gRPC object exists in the server before it forks (only its modules are imported),
so each child starts gRPC afresh.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Iterator
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:  # the worker command (``connect``) imports nothing of the pipeline
    from dataflow.config import PipelineConfig

PRELOAD_ENV = "DATAFLOW_BEAM_PRELOAD"  # the run's config (JSON), for the server's preload


@contextlib.contextmanager
def forked_workers(cfg: PipelineConfig) -> Iterator[object]:
    """A DirectRunner (``FnApiRunner``) whose SDK workers are forked from a preloaded server, for the
    duration of the block; the server and its socket are gone after it."""
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner
    from apache_beam.transforms.environments import SubprocessSDKEnvironment

    tmp = tempfile.mkdtemp(prefix="dataflow-beam-")  # short: a Unix socket path has ~100 bytes
    path = os.path.join(tmp, "workers.sock")
    env = dict(os.environ, **{PRELOAD_ENV: json.dumps(dataclasses.asdict(cfg), ensure_ascii=False)})
    server = subprocess.Popen(
        [sys.executable, "-m", __name__, "serve", path], env=env, stdin=subprocess.PIPE, stdout=sys.stderr
    )
    try:
        command = f"{sys.executable} -m {__name__} connect {path}"
        yield FnApiRunner(default_environment=SubprocessSDKEnvironment.from_command_string(command))
    finally:
        server.stdin.close()  # the server's cue to stop (it also stops if this process dies)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def serve(path: str) -> NoReturn:
    """Listen on ``path`` at once (clients queue), preload, then fork one SDK worker per client until
    stdin (the driver's pipe) closes; the children are waited for, so their CPU time counts as this
    process's children's (and, once the driver waits for this process, as the driver's)."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    raw = os.environ.pop(PRELOAD_ENV, "")
    if raw:
        try:
            _preload(raw)
        except Exception as err:  # only a speed-up; the workers load what they need themselves
            print(f"dataflow: Beam worker preload skipped: {type(err).__name__}: {err}", file=sys.stderr)
    from apache_beam.runners.worker import sdk_worker_main

    gc.freeze()  # the preloaded objects out of the forked workers' collections (engines.local.run_local)
    children: set[int] = set()
    while True:
        ready, _, _ = select.select([listener, sys.stdin], [], [], 1.0)
        children -= {pid for pid in children if os.waitpid(pid, os.WNOHANG)[0]}
        if sys.stdin in ready:  # EOF (or anything): the driver is done
            break
        if listener in ready:
            conn, _ = listener.accept()
            pid = os.fork()
            if pid == 0:
                listener.close()
                _worker(conn, sdk_worker_main.main)
            children.add(pid)
            conn.close()
    for pid in children:  # stopped by their clients, which the runner has ended by now
        os.waitpid(pid, 0)
    sys.stderr.flush()
    os._exit(0)  # no interpreter teardown of the loaded models (~1 CPU-s in bench/bench_engines.py)


def _preload(raw: str) -> None:
    from dataflow.config import PipelineConfig, from_dict
    from dataflow.engines.local import preload
    from dataflow.pipeline import ShardRunner

    preload(ShardRunner(from_dict(PipelineConfig, json.loads(raw))))


def _worker(conn: socket.socket, main) -> NoReturn:
    """In a forked child: the SDK harness with the client's environment; never returns."""
    status = 1
    try:
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)  # not the driver's pipe
        os.close(devnull)
        env = json.loads(_read_line(conn))
        os.environ.clear()
        os.environ.update(env)
        threading.Thread(target=_exit_with_client, args=(conn,), daemon=True).start()
        main([])
        status = 0
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(OSError):
            conn.sendall(bytes([status]))
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def _exit_with_client(conn: socket.socket) -> None:
    """The client sends nothing after its environment: end of stream means it was stopped."""
    with contextlib.suppress(OSError):
        conn.recv(1)
    os._exit(1)


def _read_line(conn: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(1 << 16)
        if not chunk:
            raise ConnectionError("the worker client closed before sending its environment")
        data += chunk
    return data


STOCK_WORKER = ("-m", "apache_beam.runners.worker.sdk_worker_main")  # the DirectRunner's own worker command


def connect(path: str) -> int:
    """The worker command: one SDK worker forked by the server at ``path``; its exit status. Where the
    server cannot be reached (it failed to start, or is gone), this process becomes a stock SDK worker
    instead: the run loses the shared models, not its workers (the runner would wait for them)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        try:
            conn.connect(path)
        except OSError as err:
            print(f"dataflow: Beam worker server unreachable ({err}); starting a stock SDK worker", file=sys.stderr)
            os.execv(sys.executable, [sys.executable, *STOCK_WORKER])
        conn.sendall(json.dumps(dict(os.environ)).encode() + b"\n")
        status = conn.recv(1)
    return status[0] if status else 1


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2])
    else:
        sys.exit(connect(sys.argv[2]))
