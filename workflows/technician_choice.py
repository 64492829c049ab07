"""Which technician a work order goes to, and why it waits when none fits (pure)."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

Window = tuple[datetime | None, datetime | None]  # None: open-ended on that side


@dataclass
class Job:
    skills: list[str] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    territory: str | None = None
    window: Window = (None, None)


@dataclass
class Technician:
    technician_id: str
    name: str
    skills: list[str]
    parts: list[str]
    territory: str | None
    available: bool = True
    booked: list[Window] = field(default_factory=list)  # windows of their open work orders


def _fold(values: Iterable[str | None] | None) -> set[str]:
    return {v.strip().casefold() for v in values or () if v and v.strip()}


def overlaps(a: Window, b: Window) -> bool:
    """Half-open windows [start, end); a missing bound reaches to the end of time."""
    a_start, a_end = a
    b_start, b_end = b
    starts_before_b_ends = a_start is None or b_end is None or a_start < b_end
    b_starts_before_a_ends = b_start is None or a_end is None or b_start < a_end
    return starts_before_b_ends and b_starts_before_a_ends


def in_territory(tech: Technician, job: Job) -> bool:
    if not job.territory:
        return True  # the job is anywhere: every technician may go
    return (
        bool(tech.territory)
        and cast(str, tech.territory).strip().casefold() == job.territory.strip().casefold()
    )


def free(tech: Technician, job: Job) -> bool:
    return tech.available and not any(overlaps(w, job.window) for w in tech.booked)


def pick_technician(techs: list[Technician], job: Job) -> tuple[Technician | None, str | None]:
    """The fitting technician with the fewest bookings (then by name), or why there is none.

    Fitting: every required skill, every part, the job's territory, and free in its window.
    """
    need_skills, need_parts = _fold(job.skills), _fold(job.parts)
    steps: list[tuple[Callable[[Technician], bool], str]] = [
        (lambda t: need_skills <= _fold(t.skills), _has("skills", job.skills)),
        (lambda t: need_parts <= _fold(t.parts), _has("parts", job.parts)),
        (lambda t: in_territory(t, job), f"works in territory {job.territory}"),
        (lambda t: free(t, job), "is available and free in the requested window"),
    ]
    left, said = list(techs), []
    if not left:
        return None, "No technicians are registered; waiting."
    for keep, what in steps:
        left = [t for t in left if keep(t)]
        said.append(what)
        if not left:
            wanted = " and ".join(w for w in said if w)
            return None, f"No technician {wanted}; waiting."
    left.sort(key=lambda t: (len(t.booked), t.name.casefold(), t.technician_id))
    return left[0], None


def _has(kind: str, values: list[str]) -> str:
    if not values:
        return ""
    verb = "has skills" if kind == "skills" else "carries parts"
    return f"{verb} {', '.join(values)}"
