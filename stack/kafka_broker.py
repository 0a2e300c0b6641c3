"""A single-node Apache Kafka 4.x broker (KRaft mode) for the local stack.

Why it is done this way:

* **Jars from Maven Central, not a tarball.** Maven Central is reachable where the
  Apache download mirrors may not be, and ``mvn`` already knows how to fetch
  ``org.apache.kafka:kafka_2.13`` with its runtime dependencies and cache them
  (``cache/maven``). A tiny ``pom.xml`` is written next to the classpath and
  ``dependency:copy-dependencies`` copies the jars into ``cache/kafka/<version>/libs``.
  The copy goes to a temporary folder that is renamed into place only after a marker
  file (holding a hash of the pom) was written, so an interrupted download is simply
  redone and a later ``up`` starts ``java`` without calling ``mvn`` at all.
* **Logging jars are declared by us.** ``kafka_2.13`` depends on ``slf4j-api`` 1.7
  only; the broker tarball adds Log4j 2 itself. Without a binding the broker logs
  nothing, so the pom adds ``log4j-core`` and ``log4j-slf4j-impl`` (the binding for
  SLF4J 1.x; ``log4j-slf4j2-impl`` would need SLF4J 2) and we write ``log4j2.xml``.
* **KRaft with a static voter.** ``controller.quorum.voters`` names this one node, so
  storage is formatted *without* ``--standalone`` (that flag belongs to the dynamic
  ``controller.quorum.bootstrap.servers`` quorum, which also records the controller's
  address in the metadata log, so a later change of the controller port would break
  it). Storage is formatted once, recognised by ``meta.properties``; the cluster id
  is generated here (a URL-safe base64 UUID, as Kafka makes them) and kept there.
* **Tracked by a pid file and a command-line marker** (``kafka.Kafka`` followed by
  this stack's absolute ``server.properties``), so a pid left by a crash or a broker
  of another stack folder is never taken for ours, and a broker whose pid file was
  lost is found again.
* **Ready means answering a metadata request.** A listening port does not prove that
  the broker has registered with its controller and serves requests, so readiness
  asks for cluster metadata with kafka-python (the client the project uses) and
  expects this broker to be listed.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from stack import procs
from stack.errors import StackError
from stack.layout import ServiceStatus, StackConfig

Log = Callable[[str], None]

LOG4J_VERSION = "2.25.5"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
JAVA_MIN = 17
NODE_ID = 1
HEAP = ("-Xms512m", "-Xmx1g")
START_TIMEOUT = 180.0  # ~5 s; ~15 s after a kill -9 (the old registration must expire first)
STOP_TIMEOUT = 60.0  # a graceful shutdown takes ~1 s; then SIGKILL
MAVEN_TIMEOUT = 1800.0
ROTATE_LOG_BYTES = 20 * 1024 * 1024
RESOLVED_MARKER = ".resolved"

_JVM_FLAGS = (
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
)

_POM = """\
<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by stack/kafka_broker.py: the classpath of a local Kafka {version} broker. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.ioc-stack</groupId>
  <artifactId>kafka-classpath</artifactId>
  <version>{version}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>{version}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>{log4j}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>{log4j}</version>
    </dependency>
  </dependencies>
</project>
"""

_LOG4J2 = """\
<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by stack/kafka_broker.py on every start; stdout goes to kafka.log. Log4j's own
     shutdown hook is off: it would stop logging before Kafka's hook logs the shutdown. -->
<Configuration status="WARN" shutdownHook="disable">
  <Appenders>
    <Console name="stdout" target="SYSTEM_OUT">
      <PatternLayout pattern="[%d{ISO8601}] %-5p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Root level="INFO">
      <AppenderRef ref="stdout"/>
    </Root>
    <!-- Lines per partition (50 of __consumer_offsets alone) or per request. -->
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="state.change.logger" level="WARN"/>
    <Logger name="kafka.cluster.Partition" level="WARN"/>
    <Logger name="kafka.log.LogManager" level="WARN"/>
    <Logger name="kafka.log.LogCleaner" level="WARN"/>
    <Logger name="org.apache.kafka.storage.internals.log" level="WARN"/>
    <Logger name="org.apache.kafka.coordinator.common.runtime.CoordinatorRuntime" level="WARN"/>
    <Logger name="org.apache.kafka.controller.ReplicationControlManager" level="WARN"/>
    <Logger name="org.apache.kafka.controller.PartitionChangeBuilder" level="WARN"/>
    <!-- The full configuration dump on every start; server.properties is beside this file. -->
    <Logger name="org.apache.kafka.common.config.AbstractConfig" level="WARN"/>
    <Logger name="org.apache.kafka.common.utils.AppInfoParser" level="WARN"/>
  </Loggers>
</Configuration>
"""


@dataclass(frozen=True)
class _Files:
    """Where one stack's broker keeps its configuration, data, log and pid."""

    home: Path
    config: Path
    log4j: Path
    data: Path
    log: Path
    pid: Path

    @property
    def marker(self) -> str:
        """Text of the broker's command line that names this stack's broker only."""
        return f"kafka.Kafka {self.config}"


def _files(cfg: StackConfig) -> _Files:
    home = cfg.service_dir("kafka").absolute()
    return _Files(
        home=home,
        config=home / "server.properties",
        log4j=home / "log4j2.xml",
        data=home / "data",
        log=home / "kafka.log",
        pid=home / "kafka.pid",
    )


def bootstrap_servers(cfg: StackConfig) -> str:
    """The ``host:port`` clients connect to."""
    return f"127.0.0.1:{cfg.kafka_port}"


# --- public API -------------------------------------------------------------------


def up(cfg: StackConfig, *, log: Log) -> str:
    """Resolve, configure, format and start the broker unless it runs; wait until it answers.

    A broker that runs with other settings (ports, version) is restarted with these.
    Returns the bootstrap servers, ``127.0.0.1:<kafka_port>``.
    """
    files = _files(cfg)
    bootstrap = bootstrap_servers(cfg)
    _require_kafka_python()
    pid = _running_pid(files)
    if pid is None or _read(files.config) != server_properties(cfg, files.data):
        java = _java()
        libs = classpath(cfg, log=log)  # before stopping a running broker: this may fail
        if pid is not None:
            log(f"Kafka settings changed (ports or version); restarting the broker (pid {pid})")
            procs.stop_pid(files.pid, files.marker, timeout=STOP_TIMEOUT)
        _start(cfg, java, libs, files, log=log)
        pid = None
    started = time.monotonic()
    procs.wait_until(
        lambda: _answers(cfg),
        what=f"Kafka on {bootstrap}",
        timeout=START_TIMEOUT,
        log_path=files.log,
        alive=lambda: _running_pid(files) is not None,
    )
    if pid is None:
        log(f"Kafka answers on {bootstrap} after {time.monotonic() - started:.1f} s")
    return bootstrap


def down(cfg: StackConfig) -> bool:
    """Stop the broker gracefully (SIGTERM, SIGKILL after a minute); True if it was running."""
    files = _files(cfg)
    if _running_pid(files) is None:
        return False
    return procs.stop_pid(files.pid, files.marker, timeout=STOP_TIMEOUT)


def status(cfg: StackConfig) -> ServiceStatus:
    """Whether this stack's broker process runs (it is not asked anything)."""
    files = _files(cfg)
    pid = _running_pid(files)
    if pid is not None:
        detail = f"Kafka {cfg.kafka_version}, KRaft single node, data in {files.data}"
    elif (files.data / "meta.properties").exists():
        detail = f"stopped; data in {files.data}"
    else:
        detail = "not set up yet"
    url = bootstrap_servers(cfg)
    return ServiceStatus(name="kafka", running=pid is not None, pid=pid, url=url, detail=detail)


def classpath(cfg: StackConfig, *, log: Log) -> Path:
    """The folder of Kafka's jars, resolved from Maven Central on first use only."""
    home = (cfg.cache / "kafka" / cfg.kafka_version).absolute()
    libs = home / "libs"
    pom = _POM.format(version=cfg.kafka_version, log4j=LOG4J_VERSION)
    stamp = hashlib.sha256(pom.encode()).hexdigest()
    if _read(libs / RESOLVED_MARKER).strip() == stamp:
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        msg = "mvn not found: Kafka's jars are resolved from Maven Central by Maven (apt-get install maven)"
        raise StackError(msg)
    log(f"resolving Kafka {cfg.kafka_version} and its dependencies from Maven Central (first run only)")
    started = time.monotonic()
    home.mkdir(parents=True, exist_ok=True)
    for leftover in home.glob("libs.partial-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    (home / "pom.xml").write_text(pom)
    partial = Path(tempfile.mkdtemp(prefix="libs.partial-", dir=home))
    try:
        _copy_dependencies(mvn, home / "pom.xml", partial, repo=(cfg.cache / "maven").absolute(), cfg=cfg)
        (partial / RESOLVED_MARKER).write_text(stamp + "\n")
        _replace_dir(partial, libs)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    jars = list(libs.glob("*.jar"))
    size = sum(jar.stat().st_size for jar in jars) / 1e6
    log(f"{len(jars)} jars ({size:.0f} MB) in {libs} after {time.monotonic() - started:.0f} s")
    return libs


def server_properties(cfg: StackConfig, data: Path) -> str:
    """The broker's configuration: one combined broker+controller node on 127.0.0.1."""
    port, controller = cfg.kafka_port, cfg.kafka_controller_port
    settings = {
        "process.roles": "broker,controller",
        "node.id": str(NODE_ID),
        "controller.quorum.voters": f"{NODE_ID}@127.0.0.1:{controller}",
        "controller.listener.names": "CONTROLLER",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(data),
        # Room for consumer-group scaling; topics are created explicitly by our code,
        # so a typo in a topic name fails instead of creating a stray topic.
        "num.partitions": "6",
        "auto.create.topics.enable": "false",
        # One node: every internal topic has one replica.
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "log.retention.hours": "168",
    }
    lines = [f"# Written by stack/kafka_broker.py for Kafka {cfg.kafka_version}; rewritten on every start."]
    lines += [f"{key}={value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


# --- jars ---------------------------------------------------------------------------


def _copy_dependencies(mvn: str, pom: Path, target: Path, *, repo: Path, cfg: StackConfig) -> None:
    argv = [
        mvn,
        "-B",
        "-q",
        "-U",  # retry artifacts whose earlier failure Maven cached ("not found ... cached")
        "--no-transfer-progress",
        "-Dstyle.color=never",
        "-f",
        str(pom),
        f"-Dmaven.repo.local={repo}",
        f"{DEPENDENCY_PLUGIN}:copy-dependencies",
        f"-DoutputDirectory={target}",
        "-DincludeScope=runtime",
    ]
    try:
        result = subprocess.run(  # noqa: S603 - fixed argv
            argv, cwd=pom.parent, capture_output=True, text=True, check=False, timeout=MAVEN_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        msg = f"resolving Kafka {cfg.kafka_version} took over {MAVEN_TIMEOUT:.0f} s; is Maven Central slow?"
        raise StackError(msg) from None
    if result.returncode != 0:
        msg = (
            f"could not resolve org.apache.kafka:kafka_2.13:{cfg.kafka_version} from Maven Central "
            f"(mvn exit {result.returncode}); check the network and IOC_STACK_KAFKA_VERSION:\n"
            + _maven_errors(result.stdout + result.stderr)
        )
        raise StackError(msg)


def _maven_errors(output: str) -> str:
    """Maven's own error lines, without colour codes and its generic advice after a blank one."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).rstrip() for line in output.splitlines()]
    errors = []
    for line in lines:
        if line == "[ERROR]":
            break
        if line.startswith("[ERROR]"):
            errors.append(line)
    return "\n".join(errors or lines[-15:])


def _replace_dir(new: Path, target: Path) -> None:
    """Put ``new`` in the place of ``target`` (an incomplete earlier copy, if any)."""
    if target.exists():
        old = target.with_name(f"{target.name}.old-{os.getpid()}")
        target.rename(old)
        shutil.rmtree(old, ignore_errors=True)
    new.rename(target)


# --- java, configuration, storage --------------------------------------------------


def _java() -> str:
    """The ``java`` to run (``$JAVA_HOME/bin/java`` first), checked to be Java 17 or newer."""
    home = os.environ.get("JAVA_HOME")
    candidate = Path(home, "bin", "java") if home else None
    java = str(candidate) if candidate and candidate.is_file() else shutil.which("java")
    if java is None:
        msg = f"java not found: Kafka needs Java {JAVA_MIN} (apt-get install openjdk-17-jre-headless)"
        raise StackError(msg)
    version = subprocess.run(  # noqa: S603 - fixed argv
        [java, "-version"], capture_output=True, text=True, check=False
    ).stderr
    major = _java_major(version)
    if major is None or major < JAVA_MIN:
        found = version.splitlines()[0] if version else "no version"
        msg = f"{java} is {found!r}: Kafka needs Java {JAVA_MIN}+ (apt-get install openjdk-17-jre-headless)"
        raise StackError(msg)
    return java


def _java_major(version_output: str) -> int | None:
    """17 for 'openjdk version "17.0.15"', 8 for 'java version "1.8.0_392"'."""
    match = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if match is None:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def _write_config(cfg: StackConfig, files: _Files) -> None:
    files.home.mkdir(parents=True, exist_ok=True)
    files.config.write_text(server_properties(cfg, files.data))
    files.log4j.write_text(_LOG4J2)


def _format_storage(java: str, libs: Path, files: _Files, *, log: Log) -> None:
    """Format the data folder once; a folder with ``meta.properties`` is left alone."""
    if (files.data / "meta.properties").exists():
        return
    cluster_id = _new_cluster_id()
    log(f"formatting Kafka storage in {files.data} (cluster id {cluster_id})")
    files.data.mkdir(parents=True, exist_ok=True)
    argv = [
        java,
        "-Xmx256m",
        f"-Dlog4j2.configurationFile={files.log4j}",
        "-cp",
        f"{libs}/*",
        "kafka.tools.StorageTool",
        "format",
        "--config",
        str(files.config),
        "--cluster-id",
        cluster_id,
    ]
    result = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=files.home)  # noqa: S603
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-15:])
        msg = f"formatting Kafka storage in {files.data} failed (exit {result.returncode}):\n{tail}"
        raise StackError(msg)


def _new_cluster_id() -> str:
    """A random cluster id as Kafka writes them: 16 bytes, URL-safe base64, no padding."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not text.startswith("-"):  # Kafka's tools would read it as an option
            return text


def _check_ports_free(cfg: StackConfig) -> None:
    procs.check_port_free(cfg.kafka_port, "IOC_STACK_KAFKA_PORT")
    procs.check_port_free(cfg.kafka_controller_port, "IOC_STACK_KAFKA_CONTROLLER_PORT")


# --- process --------------------------------------------------------------------------


def _start(cfg: StackConfig, java: str, libs: Path, files: _Files, *, log: Log) -> None:
    _write_config(cfg, files)
    _format_storage(java, libs, files, log=log)
    _check_ports_free(cfg)
    log(f"starting Kafka {cfg.kafka_version} on {bootstrap_servers(cfg)} (log: {files.log})")
    _rotate(files.log)
    argv = _broker_argv(java, libs, files)
    procs.start_detached(argv, log_path=files.log, pid_path=files.pid, cwd=files.home)


def _broker_argv(java: str, libs: Path, files: _Files) -> list[str]:
    return [
        java,
        *HEAP,
        *_JVM_FLAGS,
        f"-Dlog4j2.configurationFile={files.log4j}",
        "-cp",
        f"{libs}/*",
        "kafka.Kafka",
        str(files.config),
    ]


def _running_pid(files: _Files) -> int | None:
    """The broker's pid from its pid file, or found by its command line if the file was lost."""
    pid = procs.running_pid(files.pid, files.marker)
    if pid is None:
        pid = _find_broker(files.marker)
        if pid is not None:
            files.pid.write_text(f"{pid}\n")
    return pid


def _find_broker(marker: str) -> int | None:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if (
            argv
            and Path(argv[0].decode(errors="replace")).name == "java"
            and marker in " ".join(arg.decode(errors="replace") for arg in argv)
        ):
            return int(entry.name)
    return None


def _rotate(log_path: Path) -> None:
    """Keep one previous log when ``kafka.log`` grew large (it is appended to on every start)."""
    try:
        if log_path.stat().st_size > ROTATE_LOG_BYTES:
            log_path.replace(log_path.with_name(log_path.name + ".1"))
    except FileNotFoundError:
        pass


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


# --- readiness --------------------------------------------------------------------------


def _answers(cfg: StackConfig) -> bool:
    """True when the broker lists itself in a metadata response.

    The TCP port is tried first: kafka-python leaves a thread behind for every client
    whose bootstrap fails, so it is only asked once something listens.
    """
    try:
        with socket.create_connection(("127.0.0.1", cfg.kafka_port), timeout=1.0):
            pass
    except OSError:
        return False
    from kafka import KafkaAdminClient  # noqa: PLC0415 - kafka-python loads slowly; only `up` needs it
    from kafka.errors import KafkaError  # noqa: PLC0415

    with _quiet("kafka"):
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=bootstrap_servers(cfg),
                client_id="ioc-stack-readiness",
                bootstrap_timeout_ms=5000,
                request_timeout_ms=5000,
            )
        except (KafkaError, OSError):
            return False
        try:
            return any(broker.get("broker_id") == NODE_ID for broker in admin.describe_cluster()["brokers"])
        except (KafkaError, OSError):
            return False
        finally:
            admin.close()


def _require_kafka_python() -> None:
    """Fail before starting anything when the readiness check could not run."""
    try:
        import kafka  # noqa: F401, PLC0415 - kafka-python loads slowly; only `up` needs it
    except ImportError:
        msg = "kafka-python is missing (pip install kafka-python); it checks that Kafka answers"
        raise StackError(msg) from None


@contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """Silence a library's logger meanwhile (connection errors are expected while polling)."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(level)
