"""Start and stop the whole system on one machine: Redis on a private port, every service under
gunicorn, the gateway, a Celery worker and beat. ``make run`` and the integration tests both use it.

Every child runs in its own process group and is asked to die with this process (PR_SET_PDEATHSIG),
so Ctrl-C, a failed test or a killed parent leaves no process behind. The Celery worker and beat are
supervised: if one exits on its own it is started again, as a production supervisor (systemd
``Restart=always``) does; a Celery worker can exit with "Unrecoverable error" when Redis goes away
while it holds a message.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import httpx
from redis import Redis as RedisClient
from redis.exceptions import RedisError

from hall_common.celery_app import HEAVY_QUEUE
from hall_common.settings import DEFAULT_PORTS, SERVICES

from . import demo_data as demo
from . import ukey

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEFAULT_REDIS_PORT = 6391
DEFAULT_AGENT_PORT = 18761
SUPERVISED = ("worker", "heavy", "beat")
WORKER_PROCESSES = 2  # Celery workers (solo pool), one per core of the machines we run on


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    # Every open home page holds a connection to the gateway: allow more than the usual 1,024 files.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 65536, hard))


class Stack:
    def __init__(
        self,
        var_dir: Path,
        ports: Mapping[str, int] | None = None,
        redis_port: int | None = None,
        agent_port: int | None = None,
        database_urls: Mapping[str, str] | None = None,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.var_dir = var_dir.resolve()
        self.log_dir = self.var_dir / "log"
        self.ports = dict(ports or DEFAULT_PORTS)
        self.redis_port = redis_port or DEFAULT_REDIS_PORT
        self.agent_port = agent_port or DEFAULT_AGENT_PORT
        self.softhsm_conf = ukey.softhsm_conf(self.var_dir)
        self.database_urls = dict(database_urls or {})
        self.extra_env = dict(extra_env or {})
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        # Celery workers and beat have no web server: each serves /metrics on a port of its own.
        self.metrics_ports = {name: free_port() for name in
                              (*(f"worker-{i + 1}" for i in range(WORKER_PROCESSES)), "heavy", "beat")}
        self._lock = threading.RLock()  # the supervisor and the caller both start and stop processes
        self._stopping = threading.Event()
        self._restarted: dict[str, float] = {}

    # -- configuration ----------------------------------------------------------------------------

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def public_url(self) -> str:
        """The gateway as the browser opens it: browsers refuse an IP address as a security key's relying
        party, so the hall is served to them on localhost (the same port)."""
        return f"http://localhost:{self.ports['gateway']}"

    @property
    def agent_url(self) -> str:
        return f"http://127.0.0.1:{self.agent_port}"

    def database_url(self, service: str) -> str:
        return self.database_urls.get(service) or f"sqlite:///{self.var_dir / (service + '.db')}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HALL_")}
        env.update({
            "HALL_VAR_DIR": str(self.var_dir),
            "HALL_REDIS_URL": self.redis_url,
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "SOFTHSM2_CONF": str(self.softhsm_conf),
            "HALL_UKEY_AGENT_URL": self.agent_url,
            "HALL_WEBAUTHN_RP_ID": "localhost",
            "HALL_WEBAUTHN_ORIGINS": self.public_url,
        })
        for service in SERVICES:
            env[f"HALL_{service.upper()}_URL"] = self.url(service)
            if service in self.database_urls:
                env[f"HALL_{service.upper()}_DATABASE_URL"] = self.database_urls[service]
        env.update(self.extra_env)
        return env

    # -- processes --------------------------------------------------------------------------------

    def spawn(self, name: str, argv: list[str], env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / f"{name}.log", "ab") as log:  # the child keeps its own copy
            process = subprocess.Popen(
                argv, cwd=ROOT, env={**self.env(), **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=_die_with_parent,
            )
        with self._lock:
            self.processes[name] = process
        return process

    def _take(self, name: str) -> subprocess.Popen[bytes] | None:
        """Forget a process before stopping it, so the supervisor does not start it again."""
        with self._lock:
            return self.processes.pop(name, None)

    def start_redis(self) -> None:
        """Redis keeps queued events across a restart: an append-only file, fsynced every second."""
        redis = shutil.which("redis-server")
        if redis is None:
            raise RuntimeError("redis-server not found: run `make deps` (installs Debian's redis-server)")
        data_dir = self.var_dir / "redis"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.spawn("redis", [redis, "--bind", "127.0.0.1", "--port", str(self.redis_port),
                             "--appendonly", "yes", "--appendfsync", "everysec", "--dir", str(data_dir)])
        self._wait(self._redis_answers, "redis")

    def _redis_answers(self) -> bool:
        """Redis accepts connections while it still loads its file; it is ready when PING answers."""
        client = RedisClient(port=self.redis_port, socket_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()

    def restart_redis(self, down_seconds: float = 0) -> None:
        """Stop Redis as an operator would (it writes its data out), optionally stay down, start it again."""
        self.stop_process("redis")
        time.sleep(down_seconds)
        self.start_redis()

    def prepare(self) -> None:
        """Migrate every database, seed the demo data and provision the demo UKey (idempotent)."""
        ukey.init_token(self.softhsm_conf, demo.UKEY_LABEL, demo.UKEY_PIN, demo.UKEY_SO_PIN)
        subprocess.run([str(BIN / "python"), "-m", "deploy.prepare"], cwd=ROOT, env=self.env(), check=True)

    def start_service(self, name: str) -> None:
        if name == "gateway":
            # Pages in a pool of four threads, the live streams (one per open page) on the event loop.
            worker, target = ["-k", "gateway.asgi.Worker"], "gateway.asgi:create_asgi()"
        else:
            worker, target = ["-k", "gthread", "--threads", "4"], f"services.{name}:create_app()"
        # --timeout: the hard limit of a request. A request stuck in one long C call holds the GIL, so
        # the worker's heartbeat stops and the arbiter replaces the worker after 30 s (the workflow
        # engine's own bounds refuse far sooner: services/workflow/steps.py).
        self.spawn(name, [str(BIN / "gunicorn"), *worker, "-w", "1", "--graceful-timeout", "5", "--timeout", "30",
                          "--no-control-socket", "-b", f"127.0.0.1:{self.ports[name]}", target])

    def restart_gateway(self) -> None:
        """Stop the gateway and start it again (the open pages' streams drop and reconnect)."""
        self.stop_process("gateway")
        self.start_service("gateway")
        self._wait_http(self.url("gateway") + "/login", "gateway")

    def start_agent(self) -> None:
        """The demo UKey agent, answering the gateway's origin only. On this one machine it serves both
        the employer's login and the center's issuing page, so issuing is enabled."""
        self.spawn("agent", [str(BIN / "python"), "-m", "ukey_agent", "--module", ukey.SOFTHSM_MODULE,
                             "--token-label", demo.UKEY_LABEL, "--port", str(self.agent_port),
                             "--origin", self.url("gateway"), "--origin", self.public_url, "--allow-issue"])
        self._wait_port(self.agent_port, "agent")

    def start_worker(self) -> None:
        # Two solo workers as one supervised unit (deploy/workers.py says why not a prefork pool).
        ports = ",".join(str(self.metrics_ports[f"worker-{i + 1}"]) for i in range(WORKER_PROCESSES))
        self.spawn("worker", [str(BIN / "python"), "-m", "deploy.workers", str(WORKER_PROCESSES),
                              f"hall-{self.redis_port}@%h", "INFO"], env={"HALL_METRICS_PORTS": ports})

    def start_heavy(self) -> None:
        # Long jobs (large imports) on their own queue: one job at a time, acknowledged when done.
        self.spawn("heavy", [str(BIN / "celery"), "-A", "services.heavy", "worker", "-P", "solo", "-Q", HEAVY_QUEUE,
                             "-n", f"heavy-{self.redis_port}@%h", "--prefetch-multiplier", "1",
                             "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO"],
                   env={"HALL_METRICS_PORT": str(self.metrics_ports["heavy"])})

    def start_beat(self) -> None:
        self.spawn("beat", [str(BIN / "celery"), "-A", "services.worker", "beat", "-l", "INFO",
                            "-s", str(self.var_dir / "celerybeat-schedule")],
                   env={"HALL_METRICS_PORT": str(self.metrics_ports["beat"])})

    def start(self) -> None:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.start_redis()
            self.prepare()
            for name in (*SERVICES, "gateway"):
                self.start_service(name)
            self.start_worker()
            self.start_heavy()
            self.start_beat()
            self.start_agent()
            for name in SERVICES:
                self._wait_http(self.url(name) + "/health", name)
            self._wait_http(self.url("gateway") + "/login", "gateway")
            self.wait_worker_ready()
        except BaseException:
            self.stop()
            raise
        threading.Thread(target=self._supervise, name="stack-supervisor", daemon=True).start()

    def _supervise(self, interval: float = 0.5) -> None:
        starters = {"worker": self.start_worker, "heavy": self.start_heavy, "beat": self.start_beat}
        while not self._stopping.wait(interval):
            with self._lock:
                for name in SUPERVISED:
                    process = self.processes.get(name)
                    if process is None or process.poll() is None:
                        continue
                    if time.monotonic() - self._restarted.get(name, 0) < 2:  # no tight crash loop
                        continue
                    self._restarted[name] = time.monotonic()
                    with open(self.log_dir / f"{name}.log", "a") as log:
                        log.write(f"\n[stack] {name} exited with {process.returncode}; starting it again\n")
                    starters[name]()

    def wait_worker_ready(self, since: int = 0, timeout: float = 60) -> None:
        log = self.log_dir / "worker.log"
        self._wait(lambda: log.read_bytes()[since:].count(b"ready.") >= WORKER_PROCESSES, "worker", timeout)

    def restart_worker(self) -> None:
        log = self.log_dir / "worker.log"
        since = log.stat().st_size if log.exists() else 0
        self.stop_process("worker")
        self.start_worker()
        self.wait_worker_ready(since)

    def stop_process(self, name: str, timeout: float = 10) -> None:
        process = self._take(name)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:  # a prefork worker can hang on SIGTERM
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)

    def kill_process(self, name: str) -> None:
        """Die abruptly, as in a crash (no graceful shutdown)."""
        process = self._take(name)
        if process is None:
            raise KeyError(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def stop(self) -> None:
        self._stopping.set()
        # Redis last, even after a restart put it at the end: the others close their connections first.
        for name in reversed([n for n in self.processes if n != "redis"]):
            self.stop_process(name)
        self.stop_process("redis")

    # -- waiting ----------------------------------------------------------------------------------

    def _wait(self, ready: object, name: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            process = self.processes.get(name)
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}; see {self.log_dir / (name + '.log')}")
            try:
                if ready():  # type: ignore[operator]
                    return
            except (OSError, httpx.HTTPError, RedisError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{name} did not start in {timeout}s; see {self.log_dir / (name + '.log')}")

    def _wait_port(self, port: int, name: str) -> None:
        def ready() -> bool:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True

        self._wait(ready, name)

    def _wait_http(self, url: str, name: str) -> None:
        self._wait(lambda: httpx.get(url, timeout=2).status_code == 200, name)
