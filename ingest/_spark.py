"""One local or cluster Spark session for Glasswing's engines, started with a sentence when it cannot be.

Spark is optional at run time: ``pyspark`` is a dependency, but it needs a Java runtime (Debian's
``openjdk-17-jre-headless``). ``spark_session`` checks both before starting the JVM, so that a missing piece
reads as one sentence (``IngestError``) rather than a Py4J traceback. The session is shared per master URL
within the process (Spark allows one active ``SparkContext`` per JVM); its web UI is off.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from glasswing.ingest._errors import IngestError

SPARK_MISSING = ("Spark is not installed: the Spark engine needs pyspark (pip install pyspark), or audit "
                 "with the default engine, DuckDB.")
JAVA_MISSING = ("Spark needs a Java runtime (17 or newer), and none was found on PATH or in JAVA_HOME; "
                "install one (apt install openjdk-17-jre-headless) or audit with the default engine, DuckDB.")
SPARK_FAILED = "Spark could not start with master '{master}': {reason}."
DEFAULT_MASTER = "local[2]"


def java_found() -> bool:
    """Return whether a ``java`` executable is on PATH or under ``JAVA_HOME``."""
    home = os.environ.get("JAVA_HOME")
    return bool(shutil.which("java") or (home and (Path(home) / "bin" / "java").is_file()))


def spark_session(master: str = DEFAULT_MASTER, app_name: str = "glasswing"):
    """Return a ``SparkSession`` on ``master`` (``local[2]``, ``spark://host:7077``, ``yarn`` ...).

    Raises ``IngestError`` with one sentence when pyspark or Java is missing or the session cannot start.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise IngestError(SPARK_MISSING) from exc
    if not java_found():
        raise IngestError(JAVA_MISSING)
    try:
        return (SparkSession.builder.master(master).appName(app_name)
                .config("spark.ui.enabled", "false")
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                .config("spark.driver.memory", os.environ.get("GLASSWING_SPARK_DRIVER_MEMORY", "2g"))
                .getOrCreate())
    except Exception as exc:  # noqa: BLE001 - Py4J and JVM start-up errors have no common type
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise IngestError(SPARK_FAILED.format(master=master, reason=reason.rstrip("."))) from exc
