"""Airflow DAG: the nightly corpus run, then retention, through the ``dataflow`` CLI (docs/nightly.md).

Copy into Airflow's dags folder and set the two Variables (or edit the defaults). Every task is one
CLI call, so the DAG holds no pipeline logic: the run is idempotent per run id (a retried task
resumes and commits once), ``--strict`` fails the task on drift alerts (exit 3) so a person looks
before the next release is tagged, and ``--log-json`` lines carry the run id for the log search.

Checked here by compiling it (tests/dataflow/test_nightly_docs.py); apache-airflow is not installed
in the project's environment, so Airflow's own DagBag loader has not been run on it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow import DAG
from airflow.models import Variable
from airflow.operators.bash import BashOperator

DATAFLOW = Variable.get("dataflow_bin", default_var="/opt/dataflow-ko/.venv/bin/dataflow")
CONFIG = Variable.get("dataflow_config", default_var="/etc/dataflow/nightly.yaml")

with DAG(
    dag_id="dataflow_nightly",
    schedule="30 2 * * *",  # 02:30 every night, after the crawl drop lands
    start_date=datetime(2026, 12, 1),
    catchup=False,  # a missed night is not replayed: the next run takes all new content anyway
    max_active_runs=1,  # runs may overlap safely, but one at a time keeps the drift baseline in order
    default_args={"retries": 2, "retry_delay": timedelta(minutes=10)},
    tags=["corpus"],
) as dag:
    run = BashOperator(
        task_id="run",
        bash_command=f"{DATAFLOW} --log-json run -c {CONFIG} --strict",
        execution_timeout=timedelta(hours=8),
    )
    expire = BashOperator(
        task_id="expire_snapshots",
        bash_command=f"{DATAFLOW} --log-json snapshots expire -c {CONFIG} --older-than-days 30",
    )
    orphans = BashOperator(
        task_id="remove_orphans",
        bash_command=f"{DATAFLOW} --log-json snapshots remove-orphans -c {CONFIG} --older-than-days 3",
    )
    run >> expire >> orphans
