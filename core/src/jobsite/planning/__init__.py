"""Planning: the inspector, architect and foreman run in turn into a :class:`Plan`."""

from __future__ import annotations

from jobsite.planning._make import PlanRequest, make_plan, plan_problems
from jobsite.planning._plan import Plan, PlanSummary

__all__ = ["Plan", "PlanRequest", "PlanSummary", "make_plan", "plan_problems"]
