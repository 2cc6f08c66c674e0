"""A plan as a Graphviz ``digraph``: stages as clusters, remodels as nodes, precedence as edges.

Each stage is a ``subgraph cluster_N`` labelled with its name, holding one node per remodel
(``action`` over ``group/index``) and an invisible anchor node; a stage's ``after`` list
becomes a dashed edge between anchors clipped to the clusters (``compound=true`` with
``ltail``/``lhead``). Remodel edges are solid. Every id is quoted, so any remodel id is a
valid dot id; labels never hold a property, env or cloud property value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobsite.foreman import Remodel
    from jobsite.planning._plan import Plan

__all__ = ["render_dot"]

_FILL = {"create": "#d9f2d9", "delete": "#f7d4d4", "orphan": "#f7d4d4"}


def _quote(text: str) -> str:
    """A dot quoted string: backslashes and double quotes escaped, line breaks as ``\\n``."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\r", "").replace("\n", "\\n") + '"'


def _who(remodel: Remodel) -> str:
    if remodel.instance_group is not None and remodel.index is not None:
        return f"{remodel.instance_group}/{remodel.index}"
    if remodel.instance_group is not None:
        return remodel.instance_group
    return remodel.cid or remodel.vm or remodel.disk or remodel.deployment


def _node(remodel: Remodel) -> str:
    label = _quote(f"{remodel.action}\n{_who(remodel)}")
    attributes = [f"label={label}"]
    fill = _FILL.get(remodel.action.split("_", 1)[0])
    if fill is not None:
        attributes.append(f'style=filled, fillcolor="{fill}"')
    return f"{_quote(remodel.id)} [{', '.join(attributes)}];"


def _anchor(name: str, taken: set[str]) -> str:
    while name in taken:
        name = "_" + name
    taken.add(name)
    return name


def render_dot(plan: Plan) -> str:
    """``plan``'s construction as Graphviz dot (``dot -Tsvg plan.dot > plan.svg``).

    Each cluster has two invisible anchors, its start (before every remodel of the stage
    that nothing in the stage precedes) and its end (after every remodel that nothing in the
    stage follows), so a stage drawn after another sits below it, as time runs down.
    """
    construction = plan.construction
    by_id = {r.id: r for r in construction.remodels}
    taken = set(by_id)
    cluster = {stage.name: n for n, stage in enumerate(construction.stages)}
    anchors = {
        stage.name: (_anchor(f"__stage_{n}", taken), _anchor(f"__stage_{n}_end", taken))
        for n, stage in enumerate(construction.stages)
    }
    stage_of = construction.stage_of()
    inner = [(a, b) for a, b in construction.edges if a in by_id and b in by_id]
    has_pred = {b for a, b in inner if stage_of.get(a) == stage_of.get(b)}
    has_succ = {a for a, b in inner if stage_of.get(a) == stage_of.get(b)}
    lines = [
        f"digraph {_quote('plan ' + plan.deployment)} {{",
        "  compound=true;",
        "  newrank=true;",
        f"  label={_quote(f'{plan.deployment} (strategy {construction.strategy})')};",
        "  labelloc=t;",
        '  node [shape=box, fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    invisible = '[shape=point, style=invis, width=0, height=0, label=""]'
    placed: set[str] = set()
    for n, stage in enumerate(construction.stages):
        start, end = (_quote(a) for a in anchors[stage.name])
        members = [rid for rid in stage.remodels if rid in by_id and rid not in placed]
        placed.update(members)
        lines.append(f"  subgraph cluster_{n} {{")
        lines.append(f"    label={_quote(stage.name)};")
        lines.append('    style=rounded; color="#888888";')
        lines.append(f"    {start} {invisible};")
        lines.append(f"    {end} {invisible};")
        lines.extend("    " + _node(by_id[rid]) for rid in members)
        for rid in members:
            if rid not in has_pred:
                lines.append(f"    {start} -> {_quote(rid)} [style=invis];")
            if rid not in has_succ:
                lines.append(f"    {_quote(rid)} -> {end} [style=invis];")
        if not members:
            lines.append(f"    {start} -> {end} [style=invis];")
        lines.append("  }")
    lines.extend("  " + _node(r) for r in construction.remodels if r.id not in placed)
    lines.extend(f"  {_quote(a)} -> {_quote(b)};" for a, b in inner)
    for n, stage in enumerate(construction.stages):
        for other in stage.after:
            if other in anchors:
                lines.append(
                    f"  {_quote(anchors[other][1])} -> {_quote(anchors[stage.name][0])} "
                    f"[ltail=cluster_{cluster[other]}, lhead=cluster_{n}, style=dashed, "
                    'color="#888888"];'
                )
    lines.append("}")
    return "\n".join(lines) + "\n"
