"""A Spark standalone cluster on loopback: one master and N workers, from pyspark's own jars.

pyspark ships everything a standalone cluster needs, so a real multi-JVM cluster (master, worker
daemons, one executor JVM per worker, Python workers under them) runs offline on any machine with
Java. The tests use it to exercise what ``local[*]`` hides: shipping code and models to executors,
executors' own working directories, task retries. People use it through the Makefile:

    make cluster-up      # prints the master URL (spark://127.0.0.1:PORT) and the web UI
    make cluster-down    # stops every process it started, by pid

Everything binds to 127.0.0.1; ports are picked free at start. The processes run in their own
sessions, and their pids are written to ``<root>/cluster.json`` so ``down`` works from another
process.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

STATE_FILE = "cluster.json"
LOOPBACK = "127.0.0.1"


@dataclass
class Cluster:
    """A running cluster: where to submit, where to look, what to stop."""

    master_url: str  # spark://127.0.0.1:PORT, for --master
    web_url: str  # the master's web UI (its /json/ lists the workers)
    pids: list[int]  # master first, then the workers
    root: str  # logs, worker directories and the state file

    def workers_alive(self) -> int:
        with urllib.request.urlopen(f"{self.web_url}/json/", timeout=5) as response:
            state = json.load(response)
        return sum(1 for w in state.get("workers", []) if w.get("state") == "ALIVE")

    def stop(self) -> None:
        stop_pids(self.pids)
        Path(self.root, STATE_FILE).unlink(missing_ok=True)


def spark_class() -> str:
    """pyspark's ``spark-class`` launcher (beside this interpreter in a virtualenv, else in pyspark's bin/)."""
    beside = Path(sys.executable).with_name("spark-class")
    if beside.is_file():
        return str(beside)
    import pyspark

    return str(Path(pyspark.__file__).parent / "bin" / "spark-class")


def java_available() -> bool:
    home = os.environ.get("JAVA_HOME")
    return bool(shutil.which("java") or (home and Path(home, "bin", "java").is_file()))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def _daemon(args: list[str], log: Path, env: dict[str, str]) -> int:
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [spark_class(), *args], stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    return proc.pid


def start_cluster(
    root: str | Path, workers: int = 2, cores: int = 1, memory: str = "1g", timeout: float = 120.0
) -> Cluster:
    """Start a master and ``workers`` workers (``cores`` cores and ``memory`` for executors each) and
    wait until every worker has registered; on failure or timeout everything started is stopped."""
    if not java_available():
        raise RuntimeError("Java is not installed: a Spark standalone cluster needs a JVM (java on PATH or JAVA_HOME)")
    root = Path(root).resolve()
    (root / "logs").mkdir(parents=True, exist_ok=True)
    env = dict(
        os.environ,
        SPARK_LOCAL_IP=LOOPBACK,
        SPARK_DAEMON_MEMORY="512m",  # master and worker daemons only schedule: the default 1g is waste here
        SPARK_LOG_DIR=str(root / "logs"),
        PYSPARK_PYTHON=os.environ.get("PYSPARK_PYTHON", sys.executable),
    )
    port, web = _free_port(), _free_port()
    master_url, web_url = f"spark://{LOOPBACK}:{port}", f"http://{LOOPBACK}:{web}"
    pids = [
        _daemon(
            [
                "org.apache.spark.deploy.master.Master",
                "--host",
                LOOPBACK,
                "--port",
                str(port),
                "--webui-port",
                str(web),
            ],
            root / "logs" / "master.log",
            env,
        )
    ]
    cluster = Cluster(master_url, web_url, pids, str(root))
    try:
        _wait(lambda: _answers(web_url), timeout, f"master at {master_url} did not start")
        for i in range(workers):
            work_dir = root / f"worker-{i}"
            work_dir.mkdir(exist_ok=True)
            args = ["org.apache.spark.deploy.worker.Worker", master_url, "--host", LOOPBACK, "--cores", str(cores)]
            args += ["--memory", memory, "--work-dir", str(work_dir), "--webui-port", str(_free_port())]
            pids.append(_daemon(args, root / "logs" / f"worker-{i}.log", env))
        _wait(lambda: cluster.workers_alive() >= workers, timeout, f"{workers} workers did not register")
    except BaseException:
        cluster.stop()
        raise
    (root / STATE_FILE).write_text(json.dumps(asdict(cluster)), encoding="utf-8")
    return cluster


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/json/", timeout=2):
            return True
    except OSError:
        return False


def _wait(ready, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.5)  # polling a starting JVM, not timing anything
    raise TimeoutError(f"{message} within {timeout:.0f} s")


def stop_pids(pids: list[int], grace: float = 10.0) -> None:
    """SIGTERM each process group, then SIGKILL what is still there after ``grace`` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        live = []
        for pid in pids:
            try:
                os.killpg(pid, sig)
                live.append(pid)
            except ProcessLookupError:
                continue
        deadline = time.monotonic() + grace
        while live and time.monotonic() < deadline:
            live = [pid for pid in live if _running(pid)]
            time.sleep(0.2)
        if not live:
            return


def _running(pid: int) -> bool:
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)  # reap our own children
        if finished:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def stop_cluster(root: str | Path) -> bool:
    """Stop the cluster whose state file is under ``root``; False when none is recorded there."""
    state = Path(root, STATE_FILE)
    if not state.is_file():
        return False
    Cluster(**json.loads(state.read_text(encoding="utf-8"))).stop()
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dataflow.engines.standalone", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["up", "down"])
    parser.add_argument("--root", default="data/cluster", help="logs, worker directories and the pid file")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cores", type=int, default=1, help="cores per worker")
    parser.add_argument("--memory", default="1g", help="executor memory per worker")
    args = parser.parse_args(argv)
    if args.action == "down":
        print("stopped" if stop_cluster(args.root) else f"no cluster recorded under {args.root}")
        return 0
    if Path(args.root, STATE_FILE).is_file():
        print(f"a cluster is already recorded under {args.root}: make cluster-down first", file=sys.stderr)
        return 2
    try:
        cluster = start_cluster(args.root, args.workers, args.cores, args.memory)
    except (RuntimeError, TimeoutError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"master {cluster.master_url}  web UI {cluster.web_url}  workers {args.workers}  logs {args.root}/logs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
