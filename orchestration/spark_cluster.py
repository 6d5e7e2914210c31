"""A local Spark standalone cluster (a master, two workers) and a Thrift server for dbt-spark.

Everything comes from PyPI and Debian: Spark from the ``pyspark`` 3.5 wheel (its
``bin/spark-class`` starts the daemons), Apache Iceberg's Spark 3.5 runtime from
``snowpark-connect-deps-iceberg``. That runtime jar lacks Iceberg's relocated Jackson, so
:func:`iceberg_jars` rebuilds it once from pyspark's own Jackson jars with Debian's ``jarjar``
(``libjarjar-java``). Maven Central (``spark.jars.packages``) is never used.

Iceberg is the table format: snapshots and incremental models need MERGE, and no Delta or
Hudi jars exist on PyPI. The Iceberg *session catalog* wraps Spark's own (an embedded Derby
metastore under ``data/spark/``), so plain ``create table ... using iceberg`` works and views
stay Spark views. Iceberg's SQL extensions are deliberately off: with them, ``create or replace
view`` silently keeps the old view (seen with Spark 3.5.9 + Iceberg 1.10.2); Spark 3.5 parses
MERGE INTO by itself.

Every process is started in its own session and recorded by PID in ``data/spark/pids.json``;
:func:`spark_down` stops exactly those (and their children), never by name.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyspark

from warehouse_settings import DATA_DIR

log = logging.getLogger(__name__)

ICEBERG_SCALA = "2.12"
"""pyspark 3.5's jars are built for Scala 2.12; Iceberg's runtime must match."""

JACKSON_JARS = ("jackson-core", "jackson-databind", "jackson-annotations")
JARJAR_CANDIDATES = (Path("/usr/share/java/jarjar.jar"), Path("/usr/share/java/jarjar-1.4.jar"))


class SparkUnavailableError(RuntimeError):
    """Java, jarjar or a Spark daemon is missing, or the cluster did not come up in time."""


@dataclass
class SparkCluster:
    """Where a running cluster and its Thrift server listen, and the PIDs that make it."""

    host: str
    master_port: int
    thrift_port: int
    home: str
    pids: dict[str, int] = field(default_factory=dict)

    @property
    def master_url(self) -> str:
        """``spark://host:port`` of the standalone master."""
        return f"spark://{self.host}:{self.master_port}"


def spark_dir() -> Path:
    """Where the cluster keeps its metastore, table files, logs and PIDs (``SPARK_HOME_DIR``)."""
    return Path(os.environ.get("SPARK_HOME_DIR", DATA_DIR / "spark")).resolve()


def pyspark_home() -> Path:
    """The pyspark package folder: Spark's ``bin/`` and ``jars/``."""
    return Path(pyspark.__file__).parent


def java_binary() -> str:
    """``java`` from ``JAVA_HOME`` or ``PATH``; a clear error when there is none."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if not found:
        raise SparkUnavailableError(
            "no Java runtime: install one (Debian: sudo apt-get install -y openjdk-17-jre-headless)"
        )
    return found


def _jarjar() -> Path:
    for candidate in JARJAR_CANDIDATES:
        if candidate.exists():
            return candidate
    raise SparkUnavailableError(
        "jarjar is missing (it relocates Jackson for the Iceberg runtime): "
        "sudo apt-get install -y libjarjar-java"
    )


def _iceberg_runtime() -> Path:
    import snowpark_connect_deps_iceberg

    jars = Path(snowpark_connect_deps_iceberg.__file__).parent / "jars"
    found = sorted(jars.glob(f"iceberg-spark-runtime-3.5_{ICEBERG_SCALA}-*.jar"))
    if not found:
        raise SparkUnavailableError(f"no Iceberg Spark 3.5 runtime jar under {jars}")
    return found[-1]


def iceberg_jars(jar_dir: Path | None = None) -> list[Path]:
    """The Iceberg runtime and its relocated Jackson, building the latter once (about 2 s)."""
    jar_dir = jar_dir or spark_dir() / "jars"
    jar_dir.mkdir(parents=True, exist_ok=True)
    shaded = jar_dir / "iceberg-shaded-jackson.jar"
    if not shaded.exists():
        merged = jar_dir / "jackson-merged.jar.tmp"
        seen: set[str] = set()
        with zipfile.ZipFile(merged, "w", zipfile.ZIP_DEFLATED) as out:
            for name in JACKSON_JARS:
                [source] = sorted((pyspark_home() / "jars").glob(f"{name}-2.*.jar"))
                with zipfile.ZipFile(source) as jar:
                    for entry in jar.namelist():
                        skip = entry.startswith("META-INF/") or entry.endswith("/")
                        if skip or entry == "module-info.class" or entry in seen:
                            continue
                        seen.add(entry)
                        out.writestr(entry, jar.read(entry))
        rules = jar_dir / "jackson.rules"
        rules.write_text(
            "rule com.fasterxml.jackson.** org.apache.iceberg.shaded.com.fasterxml.jackson.@1\n"
        )
        partial = jar_dir / "iceberg-shaded-jackson.jar.tmp"
        jarjar = [java_binary(), "-jar", str(_jarjar()), "process"]
        subprocess.run(
            [*jarjar, str(rules), str(merged), str(partial)],
            check=True,
            capture_output=True,
        )
        partial.replace(shaded)
        merged.unlink()
    return [_iceberg_runtime(), shaded]


def spark_conf(root: Path) -> dict[str, str]:
    """The Spark settings of the Thrift server's session (Iceberg, metastore, SQL dialect)."""
    return {
        "spark.sql.catalog.spark_catalog": "org.apache.iceberg.spark.SparkSessionCatalog",
        "spark.sql.catalog.spark_catalog.type": "hive",
        "spark.hadoop.iceberg.engine.hive.lock-enabled": "false",
        "spark.sql.warehouse.dir": str(root / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={root / 'metastore_db'};create=true"
        ),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.ansi.enabled": "false",
        "spark.ui.enabled": "false",
        "spark.driver.memory": os.environ.get("SPARK_DRIVER_MEMORY", "2g"),
        "spark.executor.memory": os.environ.get("SPARK_EXECUTOR_MEMORY", "1g"),
        "spark.sql.shuffle.partitions": os.environ.get("SPARK_SHUFFLE_PARTITIONS", "4"),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={root}",
    }


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


def _start(name: str, argv: list[str], root: Path, env: dict[str, str]) -> int:
    log_path = root / "logs" / f"{name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as out:
        process = subprocess.Popen(
            argv,
            cwd=root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    log.info("started %s (pid %d), log %s", name, process.pid, log_path)
    return process.pid


def _alive_workers(root: Path, expected: int) -> bool:
    text = (root / "logs" / "master.log").read_text(errors="replace")
    return text.count("Registering worker") >= expected


def _wait(check: object, what: str, root: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(check) and check():
            return
        time.sleep(1)
    raise SparkUnavailableError(f"{what} did not come up within {timeout:.0f} s; logs: {root}/logs")


def _pids_file(root: Path) -> Path:
    return root / "pids.json"


def running_cluster(root: Path | None = None) -> SparkCluster | None:
    """The cluster recorded under ``root`` if its Thrift server answers, else None."""
    root = root or spark_dir()
    path = _pids_file(root)
    if not path.exists():
        return None
    cluster = SparkCluster(**json.loads(path.read_text()))
    return cluster if _listening(cluster.host, cluster.thrift_port) else None


def spark_up(
    root: Path | None = None,
    *,
    workers: int = 2,
    thrift_port: int | None = None,
    timeout: float = 240,
) -> SparkCluster:
    """Start a master, ``workers`` workers (one core each) and the Thrift server; wait for all.

    Reuses a cluster already running under ``root``. Ports: ``SPARK_THRIFT_PORT`` (10000 by
    default, a free one when taken) for the Thrift server, free ports for the rest.
    """
    root = (root or spark_dir()).resolve()
    running = running_cluster(root)
    if running:
        return running
    if _pids_file(root).exists():
        spark_down(root)
    root.mkdir(parents=True, exist_ok=True)
    java = java_binary()
    home = pyspark_home()
    jars = iceberg_jars(root / "jars")
    host = os.environ.get("SPARK_BIND_HOST", "127.0.0.1")
    thrift_port = thrift_port or int(os.environ.get("SPARK_THRIFT_PORT", "10000"))
    if _listening(host, thrift_port):
        thrift_port = _free_port()
    master_port = _free_port()
    env = {
        **os.environ,
        "SPARK_HOME": str(home),
        "JAVA_HOME": str(Path(os.path.realpath(java)).parent.parent),
        "SPARK_LOCAL_IP": host,
        "SPARK_LOG_DIR": str(root / "logs"),
        "SPARK_WORKER_DIR": str(root / "work"),
        "PYSPARK_PYTHON": os.environ.get("PYSPARK_PYTHON", "python3"),
    }
    spark_class = str(home / "bin" / "spark-class")
    cluster = SparkCluster(host, master_port, thrift_port, str(root))
    try:
        cluster.pids["master"] = _start(
            "master",
            [
                spark_class,
                "org.apache.spark.deploy.master.Master",
                "--host",
                host,
                "--port",
                str(master_port),
                "--webui-port",
                str(_free_port()),
            ],
            root,
            env,
        )
        _wait(lambda: _listening(host, master_port), "the Spark master", root, timeout)
        for number in range(1, workers + 1):
            cluster.pids[f"worker{number}"] = _start(
                f"worker{number}",
                [
                    spark_class,
                    "org.apache.spark.deploy.worker.Worker",
                    "--host",
                    host,
                    "--cores",
                    "1",
                    "--memory",
                    os.environ.get("SPARK_WORKER_MEMORY", "2g"),
                    "--webui-port",
                    str(_free_port()),
                    "--work-dir",
                    str(root / "work" / f"worker{number}"),
                    cluster.master_url,
                ],
                root,
                env,
            )
        _wait(lambda: _alive_workers(root, workers), f"{workers} Spark workers", root, timeout)
        classpath = ":".join(str(jar) for jar in jars)
        argv = [
            str(home / "bin" / "spark-submit"),
            "--master",
            cluster.master_url,
            "--class",
            "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2",
            "--name",
            "warehouse-thrift",
            "--jars",
            ",".join(str(jar) for jar in jars),
            "--driver-class-path",
            classpath,
        ]
        for key, value in spark_conf(root).items():
            argv += ["--conf", f"{key}={value}"]
        argv += [
            "spark-internal",
            "--hiveconf",
            f"hive.server2.thrift.port={thrift_port}",
            "--hiveconf",
            f"hive.server2.thrift.bind.host={host}",
        ]
        cluster.pids["thrift"] = _start("thrift", argv, root, env)
        _pids_file(root).write_text(json.dumps(asdict(cluster)))
        _wait(lambda: _listening(host, thrift_port), "the Spark Thrift server", root, timeout)
    except BaseException:
        _pids_file(root).write_text(json.dumps(asdict(cluster)))
        spark_down(root)
        raise
    return cluster


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        children = Path(f"/proc/{parent}/task/{parent}/children")
        with contextlib.suppress(OSError):
            for child in children.read_text().split():
                found.append(int(child))
                pending.append(int(child))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(OSError):
        return stat.read_text().split(") ", 1)[1][0] != "Z"
    return False


def spark_down(root: Path | None = None, timeout: float = 30) -> list[int]:
    """Stop every process :func:`spark_up` recorded (Thrift first, then workers, master).

    SIGTERM to each recorded PID and its descendants, SIGKILL to what is left after
    ``timeout``; returns the PIDs that were signalled.
    """
    root = (root or spark_dir()).resolve()
    path = _pids_file(root)
    if not path.exists():
        return []
    cluster = SparkCluster(**json.loads(path.read_text()))
    order = ["thrift", *sorted(k for k in cluster.pids if k.startswith("worker")), "master"]
    signalled: list[int] = []
    for name in order:
        pid = cluster.pids.get(name)
        if pid is None:
            continue
        for target in [pid, *_descendants(pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(target, signal.SIGTERM)
                signalled.append(target)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_alive(pid) for pid in signalled):
        time.sleep(0.5)
    for pid in signalled:
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    for pid in signalled:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
    path.unlink()
    return signalled
