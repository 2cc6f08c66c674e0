"""Planning: the inspector, architect and foreman run in turn into a :class:`Plan`, and the
plan rendered for people (:func:`render_text`), machines (:func:`plan_to_json`, schema in
``docs/plan-json.md``) and Graphviz (:func:`render_dot`)."""

from __future__ import annotations

from jobsite.planning._make import PlanRequest, make_plan, plan_problems
from jobsite.planning._plan import Plan, PlanSummary
from jobsite.planning._render_dot import render_dot
from jobsite.planning._render_json import FORMAT_VERSION, plan_to_json
from jobsite.planning._render_text import render_text
from jobsite.planning._stored import stored_configs

__all__ = [
    "FORMAT_VERSION",
    "Plan",
    "PlanRequest",
    "PlanSummary",
    "make_plan",
    "plan_problems",
    "plan_to_json",
    "render_dot",
    "render_text",
    "stored_configs",
]
