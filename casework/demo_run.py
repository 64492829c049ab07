"""`casework demo`: one case through its whole life over HTTP, printed step by step."""

import asyncio

import httpx

from casework.demo_data import did


async def wait_for(client: httpx.AsyncClient, case_id: str, check, timeout: float = 15) -> dict:
    for _ in range(int(timeout * 10)):
        view = (await client.get(f"/api/v1/cases/{case_id}")).json()
        if check(view):
            return view
        await asyncio.sleep(0.1)
    raise RuntimeError(f"case {case_id} did not get there: {view}")


async def run_demo(url: str, admin: dict) -> None:
    async with httpx.AsyncClient(base_url=url, headers=admin, timeout=30) as api:

        async def token(role: str, subject) -> dict:
            r = await api.post("/api/v1/tokens", json={"role": role, "subject_id": str(subject)})
            r.raise_for_status()
            return {"Authorization": f"Bearer {r.json()['token']}"}

        r = await api.post(
            "/api/v1/cases",
            json={
                "subject": "Router X1 drops Wi-Fi every hour",
                "description": "Since Monday the Berlin office loses Wi-Fi hourly.",
                "channel": "email",
                "email": "nancy@northwind.example",
            },
        )
        r.raise_for_status()
        case = r.json()
        print(f"1. opened {case['number']} by email  -> workflow {case['workflow_id']}")
        case = await wait_for(api, case["id"], lambda v: v["assigned_agent_id"])
        agent = case["assigned_agent_id"]
        print(
            f"2. routed to agent {agent}; SLAs: "
            + ", ".join(f"{s['name']} due {s['due_at']}" for s in case["sla"])
        )
        as_agent = await token("agent", agent)
        as_nancy = await token("contact", did("contact:nancy"))
        steps = [
            (as_agent, "respond", {"body": "Thanks Nancy, we are looking at the logs."}),
            (as_agent, "resolve", {"resolution": "Firmware 2.1 fixes the hourly drop."}),
            (as_nancy, "accept", None),
        ]
        for n, (who, action, body) in enumerate(steps, start=3):
            r = await api.post(
                f"/api/v1/cases/{case['id']}/actions/{action}", json=body, headers=who
            )
            r.raise_for_status()
            print(f"{n}. {action:<8} -> state {r.json()['state']}")
        timeline = (await api.get(f"/api/v1/cases/{case['id']}/timeline")).json()["items"]
        print("timeline: " + " > ".join(e["kind"] for e in timeline))
        await asyncio.sleep(1)
        sent = (await api.get(f"/api/v1/cases/{case['id']}/notifications")).json()["items"]
        print("notifications: " + ", ".join(f"{n['template']}:{n['status']}" for n in sent))
