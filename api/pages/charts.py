"""Charts as inline SVG drawn on the server (no script): a line through a series, or bars;
every label is escaped, so a series may carry any text."""

from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD = 320, 110, 6
Point = tuple[str, float | None]  # (label, value); a None value is a gap


def _frame(kind: str, title: str, body: str) -> Markup:
    return Markup(
        f'<svg class="chart {kind}" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>{body}</svg>"
    )


def _scale(points: Sequence[Point], top: float | None) -> float:
    """The value at the top of the chart: `top` if given, else the largest value."""
    return top or max((v for _, v in points if v is not None), default=0) or 1


def line(points: Sequence[Point], title: str, top: float | None = None) -> Markup:
    """A polyline through the values (a gap where one is None), a dot with its label at each,
    the first and last labels under the ends."""
    top, inner = _scale(points, top), HEIGHT - 2 * PAD - 14
    step = (WIDTH - 2 * PAD) / max(len(points) - 1, 1)
    runs, run, dots = [], [], []
    for i, (label, value) in enumerate(points):
        if value is None:
            runs, run = runs + [run], []
            continue
        x, y = PAD + i * step, PAD + inner * (1 - min(value, top) / top)
        run.append(f"{x:.1f},{y:.1f}")
        dots.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3">'
            f"<title>{escape(label)}: {escape(_number(value))}</title></circle>"
        )
    lines = [f'<polyline points="{" ".join(r)}"/>' for r in [*runs, run] if r]
    ends = [(0, "start"), (len(points) - 1, "end")] if len(points) > 1 else [(0, "start")]
    axis = [
        f'<text x="{PAD + i * step:.1f}" y="{HEIGHT - PAD}" text-anchor="{anchor}">'
        f"{escape(points[i][0])}</text>"
        for i, anchor in ends[: len(points)]
    ]
    return _frame("line", title, "".join(lines + dots + axis))


def bars(points: Sequence[Point], title: str, top: float | None = None) -> Markup:
    """A bar per value, its label in the bar's tooltip and under it."""
    top, inner = _scale(points, top), HEIGHT - 2 * PAD - 14
    slot = (WIDTH - 2 * PAD) / max(len(points), 1)
    parts = []
    for i, (label, value) in enumerate(points):
        h = inner * min(value or 0, top) / top
        x = PAD + i * slot
        parts.append(
            f'<rect x="{x + 2:.1f}" y="{PAD + inner - h:.1f}" width="{slot - 4:.1f}" '
            f'height="{h:.1f}"><title>{escape(label)}: {escape(_number(value))}</title></rect>'
            f'<text x="{x + slot / 2:.1f}" y="{HEIGHT - PAD}">{escape(label)}</text>'
        )
    return _frame("bars", title, "".join(parts))


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:g}" if isinstance(value, int) or value.is_integer() else f"{value:.2f}"
