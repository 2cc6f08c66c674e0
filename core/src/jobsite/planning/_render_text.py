"""A plan as text for people: what ``jobsite plan`` prints (Terraform's plan output is the bar).

A summary line; then, per instance group, one entry per instance the plan touches or skips,
with a symbol, its reasons and its actions in order; remodels of no instance; the stages; and
the problems and warnings. Values of properties, env and cloud properties never appear: only
the reasons' messages, which name key paths.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobsite.planning._render import Change, InstanceView, plan_view

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from jobsite.foreman import Remodel, Skipped
    from jobsite.planning._plan import Plan, PlanSummary

__all__ = ["SYMBOLS", "render_text", "summary_line"]

SYMBOLS: dict[Change, str] = {
    "create": "+",
    "delete": "-",
    "replace": "-/+",
    "update": "~",
    "ignored": "=",
}
_LEGEND: dict[Change, str] = {
    "create": "create",
    "delete": "delete",
    "replace": "replace VM",
    "update": "update in place",
    "ignored": "skipped",
}

_RESET = "\x1b[0m"
_BOLD = "\x1b[1m"
_RED = "\x1b[31m"
_GREEN = "\x1b[32m"
_YELLOW = "\x1b[33m"
_CYAN = "\x1b[36m"
_DIM = "\x1b[2m"
_COLORS: dict[str, str] = {"+": _GREEN, "-": _RED, "~": _YELLOW, "=": _CYAN}


class _Paint:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, *codes: str) -> str:
        if not self.color or not codes:
            return text
        return "".join(codes) + text + _RESET

    def symbol(self, symbol: str) -> str:
        if symbol == "-/+":
            return self("-", _RED) + "/" + self("+", _GREEN)
        return self(symbol, _COLORS.get(symbol, ""))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _clause(noun: str, counts: Sequence[tuple[int, str]]) -> str | None:
    """``3 VMs to create, 1 to delete``: the noun once, on the first non-zero count."""
    parts: list[str] = []
    for n, verb in counts:
        if n:
            parts.append(f"{_count(n, noun) if not parts else n} to {verb}")
    return ", ".join(parts) or None


def summary_line(plan: Plan) -> str:
    """The plan's first line: what it does, in counts."""
    s: PlanSummary = plan.summary
    clauses = [
        _clause("VM", [(s.vms_created, "create"), (s.vms_deleted, "delete")]),
        _clause(
            "instance",
            [
                (s.instances_created, "create"),
                (s.instances_updated, "update"),
                (s.instances_deleted, "delete"),
            ],
        ),
        _clause(
            "disk",
            [(s.disks_created, "create"), (s.disks_moved, "move"), (s.disks_orphaned, "orphan")],
        ),
    ]
    parts = [c for c in clauses if c]
    if not parts and plan.remodels:  # remodels the summary does not count (a plugin's)
        parts.append(_count(len(plan.remodels), "remodel"))
    if s.skipped:
        parts.append(f"{_count(s.skipped, 'remodel')} skipped")
    head = f"{plan.deployment} (strategy {plan.construction.strategy})"
    if not plan.remodels:
        if parts:  # everything it would do is skipped
            return f"No changes. {head}: " + "; ".join(parts) + "."
        return f"No changes. {head} matches its manifest."
    return f"Plan for {head}: " + "; ".join(parts) + "."


def _actions(remodels: Iterable[Remodel]) -> str:
    """``stop → detach_disk → delete_vm``: the actions in order."""
    return " → ".join(remodel.action for remodel in remodels)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _where(view: InstanceView) -> str:
    facts = [x for x in (view.az, next(iter(view.ips.values()), None)) if x]
    return f" ({', '.join(facts)})" if facts else ""


def _instance_lines(view: InstanceView, paint: _Paint) -> list[str]:
    symbol = SYMBOLS.get(view.change, " ")
    head = (
        f"{' ' * (3 - len(symbol))}{paint.symbol(symbol)} "
        f"{paint(f'{view.group}/{view.index}', _BOLD)}{_where(view)} {view.uuid}"
    )
    lines = ["  " + head]
    indent = " " * 8
    reasons = list(view.reasons)
    if not view.remodels:
        reasons = [*view.skip_reasons, *reasons]
    lines.extend(indent + _one_line(r.message) for r in reasons)
    if view.remodels:
        lines.append(indent + paint("actions: ", _DIM) + _actions(view.remodels))
    lines.extend(_skipped_lines(view.skipped, indent, paint, with_reason=bool(view.remodels)))
    return lines


def _skipped_lines(
    skipped: Sequence[Skipped], indent: str, paint: _Paint, *, with_reason: bool
) -> list[str]:
    groups: dict[tuple[str, str], list[Skipped]] = {}
    for s in skipped:
        groups.setdefault((s.reason.code, s.reason.message), []).append(s)
    out = []
    for (_, message), members in groups.items():
        line = indent + paint("skipped: ", _DIM) + _actions(s.remodel for s in members)
        out.append(line + (f" ({_one_line(message)})" if with_reason else ""))
    return out


def _subject(remodel: Remodel) -> str:
    subject = remodel.cid or remodel.vm or remodel.disk or remodel.id
    if remodel.instance_group:
        subject += f" ({remodel.instance_group})"
    return subject


def _other_symbol(action: str) -> str:
    if action.startswith(("delete", "orphan")):
        return "-"
    if action.startswith("create"):
        return "+"
    return "~"


def _other_lines(
    plan_other: Sequence[Remodel], skipped: Sequence[Skipped], paint: _Paint
) -> list[str]:
    lines = []
    for remodel in plan_other:
        symbol = _other_symbol(remodel.action)
        pad = " " * (3 - len(symbol))
        lines.append(f"  {pad}{paint.symbol(symbol)} {remodel.action} {_subject(remodel)}")
        lines.extend(" " * 8 + _one_line(r.message) for r in remodel.reasons)
    for s in skipped:
        lines.append(f"    {paint.symbol('=')} {s.remodel.action} {_subject(s.remodel)}")
        lines.append(" " * 8 + _one_line(s.reason.message))
    return lines


def _stage_lines(plan: Plan) -> list[str]:
    stages = plan.construction.stages
    number = {stage.name: n for n, stage in enumerate(stages, 1)}
    width = max(len(s.name) for s in stages)
    lines = []
    for n, stage in enumerate(stages, 1):
        flight = (
            f"max_in_flight {stage.max_in_flight}"
            if stage.max_in_flight is not None
            else "max_in_flight unbounded"
        )
        facts = [stage.kind, flight, _count(len(stage.remodels), "remodel")]
        if stage.after:
            facts.append("after " + ", ".join(str(number.get(a, a)) for a in stage.after))
        lines.append(f"  {n:>2}. {stage.name:<{width}}  ({'; '.join(facts)})")
    return lines


def render_text(plan: Plan, *, color: bool = False) -> str:
    """``plan`` for people; ANSI colours (green ``+``, red ``-``, yellow ``~``) with ``color``."""
    paint = _Paint(color)
    view = plan_view(plan)
    out = [paint(summary_line(plan), _BOLD)]

    entries: list[tuple[str, list[list[str]]]] = []
    used: set[Change] = set()
    for group in view.groups:
        members = [i for i in group.instances if i.change != "none"]
        if members:
            used.update(i.change for i in members)
            header = paint(f"{group.name}:", _BOLD)
            if not group.in_blueprint:
                header += " (no longer in the manifest)"
            entries.append((header, [_instance_lines(i, paint) for i in members]))
    if entries:
        legend = ", ".join(f"{paint.symbol(SYMBOLS[c])} {_LEGEND[c]}" for c in SYMBOLS if c in used)
        out += ["", f"Instances are marked: {legend}."]
        for header, blocks in entries:
            out += ["", header]
            for block in blocks:
                out += block
    if view.other or view.other_skipped:
        out += ["", paint("Not tied to an instance:", _BOLD)]
        out += _other_lines(view.other, view.other_skipped, paint)
    if plan.construction.stages:
        out += ["", paint(f"Stages ({plan.construction.strategy}):", _BOLD)]
        out += _stage_lines(plan)
    if plan.problems:
        out.append("")
        out += [f"{paint('Error:', _BOLD, _RED)} {_one_line(p)}" for p in plan.problems]
        which = "this error is" if len(plan.problems) == 1 else "these errors are"
        out.append(f"deploy will refuse this plan until {which} resolved.")
    if plan.warnings:
        out.append("")
        out += [f"{paint('Warning:', _BOLD, _YELLOW)} {_one_line(w)}" for w in plan.warnings]
    return "\n".join(out) + "\n"
