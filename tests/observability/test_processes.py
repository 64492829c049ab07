"""`casework worker` and `casework api` as operators run them: the Temporal SDK's metrics on
CASEWORK_WORKER_METRICS_ADDRESS, /metrics on the API, and logs of one JSON object per line."""

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from casework.devstack import free_port
from tests.api.test_cases import open_case, settle
from tests.conftest import terminate_cases
from tests.faults.conftest import WorkerProcess
from tests.observability.scrape import parse


def json_lines(path: Path) -> list[dict]:
    lines = path.read_text().splitlines()
    logged = [json.loads(line) for line in lines if line.strip()]  # every line is JSON
    assert all({"time", "level", "logger", "message"} <= set(line) for line in logged)
    return logged


async def sdk_metrics(url: str, worker: WorkerProcess, timeout: float = 60) -> dict:
    """The worker's metrics once its runtime has recorded a workflow task."""
    async with httpx.AsyncClient() as http:
        for _ in range(int(timeout / 0.25)):
            assert worker.proc.poll() is None, "the worker exited"
            try:
                samples = parse((await http.get(url)).text)
            except httpx.TransportError:
                samples = {}
            if any(name.startswith("temporal_workflow_task") for name, _ in samples):
                return samples
            await asyncio.sleep(0.25)
    raise AssertionError(f"no workflow task metrics at {url}")


async def test_the_worker_serves_sdk_metrics_and_logs_json(
    api, sessions, ts_env, database_url, tmp_path
):
    address = f"127.0.0.1:{free_port()}"
    env = os.environ | {
        "DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": ts_env.client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": ts_env.client.namespace,
        "CASEWORK_TASK_QUEUE": api.task_queue,
        "CASEWORK_WORKER_METRICS_ADDRESS": address,
        "CASEWORK_LOG_FORMAT": "json",
        "SMTP_URL": "smtp://disabled",
    }
    worker = WorkerProcess(env, tmp_path / "worker.log")
    worker.start()
    try:
        case = await open_case(api, email="ada@example.net")
        await settle(api, case["id"], timeout=60)
        samples = await sdk_metrics(f"http://{address}/metrics", worker)
    finally:
        worker.stop()
        await terminate_cases(ts_env.client, sessions)
    names = {name for name, _ in samples}
    # Workflow tasks ran, and so did the case's intake (local) activities, on this task queue.
    assert {n for n in names if n.startswith("temporal_") and "activity_execution" in n}, names
    polled = [dict(labels) for name, labels in samples if name.startswith("temporal_")]
    assert any(labels.get("task_queue") == api.task_queue for labels in polled)

    logged = json_lines(tmp_path / "worker.log")
    started = [line for line in logged if line["message"].startswith("worker polling")]
    assert started and started[0]["logger"] == "casework.worker"
    assert any(address in line["message"] for line in logged)


async def test_the_api_serves_metrics_and_logs_json(database_url, tmp_path):
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": database_url,
        "CASEWORK_API_PORT": str(port),
        "CASEWORK_LOG_FORMAT": "json",
    }
    env.pop("CASEWORK_ADMIN_TOKEN", None)
    log = tmp_path / "api.log"
    with open(log, "wb") as out:
        api = subprocess.Popen(
            [str(Path(sys.prefix) / "bin" / "casework"), "api"], env=env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            for _ in range(240):
                assert api.poll() is None, log.read_text()
                try:
                    r = await http.get("/metrics")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.25)
            assert r.status_code == 200
            assert "casework_http_request_duration_seconds" in (await http.get("/metrics")).text
    finally:
        api.terminate()
        api.wait(10)
    logged = json_lines(log)
    assert any(line["logger"] == "uvicorn.error" for line in logged)  # its start-up lines
    access = [line for line in logged if line["logger"] == "uvicorn.access"]
    assert access and "GET /metrics" in access[0]["message"]


async def test_the_api_serves_its_temporal_clients_sdk_metrics(database_url, ts_env, tmp_path):
    """The API's own Temporal client (its runtime) counts its RPCs on
    CASEWORK_API_SDK_METRICS_ADDRESS, as the worker's does."""
    port, address = free_port(), f"127.0.0.1:{free_port()}"
    env = os.environ | {
        "DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": ts_env.client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": ts_env.client.namespace,
        "CASEWORK_API_PORT": str(port),
        "CASEWORK_API_SDK_METRICS_ADDRESS": address,
    }
    log = tmp_path / "api.log"
    with open(log, "wb") as out:
        api = subprocess.Popen(
            [str(Path(sys.prefix) / "bin" / "casework"), "api"], env=env, stdout=out, stderr=out
        )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(240):
                assert api.poll() is None, log.read_text()
                try:
                    r = await http.get("/healthz")  # checks Temporal: the client connects
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.25)
            assert r.status_code == 200, r.text
            samples = parse((await http.get(f"http://{address}/metrics")).text)
    finally:
        api.terminate()
        api.wait(10)
    operations = {
        dict(labels).get("operation")
        for name, labels in samples
        if name.startswith("temporal_request") and name.endswith("_total")
    }
    # Connecting asks for the server's capabilities; /healthz checks its health.
    assert {"GetSystemInfo", "Check"} <= operations, sorted({name for name, _ in samples})
