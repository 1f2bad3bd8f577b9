"""Build a workflow in Python instead of writing its JSON: name the steps, say which come after
which, submit it.

    wf = Workflow("dev", executortype="cli")
    gen = wf.step("gen", args=[1])
    double = wf.step("double", after=[gen])
    square = wf.step("square", after=[gen])
    wf.step("sum", after=[double, square])
    graph = client.submit_workflow(wf)
    done = client.wait_processgraph(graph.processgraphid, timeout=60)

Each step is a function spec: a step runs when all the steps it comes ``after`` succeeded, and
gets their outputs, concatenated in the order of ``after``, as its process's ``in``.
``to_spec()`` checks the graph (unknown steps, cycles: ``ValueError``) before anything is sent.
Stdlib only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from colonies.model import Conditions, FunctionSpec, WorkflowSpec


@dataclass
class Step:
    """One step of a ``Workflow``: its unique ``name`` and the function spec it submits."""

    name: str
    spec: FunctionSpec
    after: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return self.name


class Workflow:
    """A DAG of steps in one colony. ``executortype`` (and any other ``step`` keyword given
    here) is the default of every step."""

    def __init__(self, colonyname: str, *, executortype: str = "", **defaults: Any) -> None:
        self.colonyname = colonyname
        self.defaults: dict[str, Any] = {"executortype": executortype, **defaults}
        self.steps: dict[str, Step] = {}

    def step(
        self,
        funcname: str,
        *,
        name: str = "",
        after: Iterable[Step | str] = (),
        args: Iterable[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        executortype: str | None = None,
        executornames: Iterable[str] | None = None,
        priority: int | None = None,
        maxwaittime: int | None = None,
        maxexectime: int | None = None,
        maxretries: int | None = None,
        label: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Step:
        """Add a step calling ``funcname``; it runs after every step in ``after`` succeeded.

        ``name`` (the spec's ``nodename``) defaults to ``funcname``, or ``funcname-2``,
        ``funcname-3``… when that is taken. Returns the step, to pass in other steps' ``after``.
        """
        if not funcname:
            raise ValueError("A step needs a function name")
        if name and name in self.steps:
            raise ValueError(f"A step named {name!r} exists already")
        name = name or self._free_name(funcname)
        given = {
            "executortype": executortype,
            "executornames": executornames,
            "priority": priority,
            "maxwaittime": maxwaittime,
            "maxexectime": maxexectime,
            "maxretries": maxretries,
            "label": label,
            "env": env,
        }
        settings = {**self.defaults, **{k: v for k, v in given.items() if v is not None}}
        parents = [str(parent) for parent in after]
        if len(set(parents)) != len(parents):
            raise ValueError(f"Step {name!r} names a step twice in after={parents}")
        spec = FunctionSpec(
            nodename=name,
            funcname=funcname,
            args=list(args or []),
            kwargs=dict(kwargs or {}),
            priority=settings.get("priority", 0),
            maxwaittime=settings.get("maxwaittime", 0),
            maxexectime=settings.get("maxexectime", 0),
            maxretries=settings.get("maxretries", 0),
            label=settings.get("label", ""),
            env=dict(settings.get("env") or {}),
            conditions=Conditions(
                colonyname=self.colonyname,
                executortype=settings.get("executortype") or "",
                executornames=list(settings.get("executornames") or []),
                dependencies=parents,
            ),
        )
        step = Step(name, spec, parents)
        self.steps[name] = step
        return step

    def _free_name(self, funcname: str) -> str:
        name, n = funcname, 1
        while name in self.steps:
            n += 1
            name = f"{funcname}-{n}"
        return name

    def check(self) -> None:
        """``ValueError`` unless the steps form a DAG of known steps that can run."""
        if not self.steps:
            raise ValueError("The workflow has no steps")
        for step in self.steps.values():
            if not step.spec.conditions.executortype and not step.spec.conditions.executornames:
                raise ValueError(f"Step {step.name!r} has no executortype (nor executornames)")
            for parent in step.after:
                if parent not in self.steps:
                    raise ValueError(f"Step {step.name!r} comes after an unknown step {parent!r}")
        state: dict[str, int] = {}  # 1: on the current path, 2: done

        def visit(name: str, path: list[str]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                cycle = [*path[path.index(name) :], name]
                raise ValueError("The steps form a cycle: " + " -> ".join(cycle))
            state[name] = 1
            for parent in self.steps[name].after:
                visit(parent, [*path, name])
            state[name] = 2

        for name in self.steps:
            visit(name, [])

    def to_spec(self) -> WorkflowSpec:
        """The checked ``WorkflowSpec`` to submit (``Client.submit_workflow`` calls this)."""
        self.check()
        specs = [FunctionSpec.from_dict(step.spec.to_dict()) for step in self.steps.values()]
        return WorkflowSpec(colonyname=self.colonyname, functionspecs=specs)
