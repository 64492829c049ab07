"""Reading a Prometheus text exposition in tests: every sample by name and labels."""

import asyncio

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; 0 for a series not (yet) exposed."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(api) -> Samples:
    r = await api.get("/metrics", headers={"Authorization": ""})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return parse(r.text)


async def scrape_until(api, check, timeout: float = 10) -> Samples:
    """Scrapes until `check(samples)` holds (the database counts are kept a second)."""
    samples: Samples = {}
    for _ in range(int(timeout / 0.2)):
        samples = await scrape(api)
        if check(samples):
            return samples
        await asyncio.sleep(0.2)
    raise AssertionError(f"never held; last scrape: {samples}")
