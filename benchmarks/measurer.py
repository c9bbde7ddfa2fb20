"""Runs every measurement in a fresh process: measure.py's server forks one per request
and answers on its stdout; each wait is bounded and a stuck measurement is killed."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from benchmarks.scenarios import REPLY

HERE = Path(__file__).resolve().parent
STOP_TIMEOUT = 10


def _forward(lines: Any, into: queue.Queue) -> None:
    for line in lines:
        if line.startswith(REPLY):
            into.put(line[len(REPLY) :])


def kill_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


class Measurer:
    """Runs measure.py's server, which forks a fresh process for every measurement."""

    def __init__(self, work: Path, env: dict[str, str], timeout: float, package: str):
        self.work, self.env, self.timeout, self.package = work, env, timeout, package
        self.server: subprocess.Popen | None = None
        self.lines: queue.Queue[str] = queue.Queue()

    def _start(self) -> subprocess.Popen:
        if self.server is None or self.server.poll() is not None:
            with open(self.work / "measure-server.log", "ab") as log:
                self.server = subprocess.Popen(
                    [sys.executable, str(HERE / "measure.py"), "--serve", self.package],
                    env=self.env,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    text=True,
                    start_new_session=True,
                )
            self.lines = queue.Queue()
            threading.Thread(
                target=_forward, args=(self.server.stdout, self.lines), daemon=True
            ).start()
        return self.server

    def _reply(self, timeout: float) -> dict:
        line = self.lines.get(timeout=timeout)  # raises queue.Empty on timeout
        return json.loads(line)

    def measure(self, request: dict[str, Any], label: str) -> dict[str, Any]:
        result_path, log = self.work / f"{label}.json", self.work / f"{label}.log"
        server = self._start()
        server.stdin.write(json.dumps({**request, "result": str(result_path), "log": str(log)}))
        server.stdin.write("\n")
        server.stdin.flush()
        try:
            child = self._reply(60)["pid"]  # the server imports first: give it time
        except queue.Empty:
            self.stop()
            return {"error": "the measurement server did not answer"}
        try:
            exit_code = self._reply(self.timeout)["exit"]
        except queue.Empty:
            kill_group(child, signal.SIGKILL)
            self._reply(STOP_TIMEOUT)
            return {"error": f"timed out after {self.timeout:.0f} s"}
        kill_group(child, signal.SIGKILL)  # anything the measurement left running
        if exit_code != 0 or not result_path.exists():
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
            return {"error": f"exit {exit_code}: {' '.join(tail)[:300]}"}
        return json.loads(result_path.read_text())

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.stdin.close()
            kill_group(self.server.pid, signal.SIGTERM)
            try:
                self.server.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                kill_group(self.server.pid, signal.SIGKILL)
                self.server.wait(timeout=STOP_TIMEOUT)
