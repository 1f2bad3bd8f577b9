"""Blueprints (spec §4.11): desired state that reconciler executors make real.

A colony owner adds a BlueprintDefinition per kind: its schema (checked on every add and
update of a blueprint of that kind) and its handler (the executor type and function that
reconcile it). Adding a blueprint, changing its spec or ``reconcileblueprintmsg`` submits a
process ``<functionName>(kind=…, blueprintName=…)`` to that executor type at the blueprint's
location; removing one submits ``cleanup(kind=…, blueprintName=…)``. For periodic self-healing,
the first blueprint of a kind at a location also gets a cron ``reconcile-<kind>[-<location>]``
(every 60 s, waiting for the previous run) that starts ``<functionName>(kind=…)`` there; the
last one removed takes the cron away. All of it as the Go server does
(``pkg/server/handlers/blueprint``); processes go through ``lifecycle.submit`` and the crons are
ordinary crons, fired by ``colonies.server.crons``.

The schema check is Go's ``ValidateBlueprintAgainstSchema``: required fields, then per property
its type ("string", "number", "boolean", "object", "array"; "integer" is not checked), its enum,
an array's items and an object's nested properties, with Go's error texts.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from decimal import Decimal
from typing import Any

from colonies import jsoncodec
from colonies.model import (
    ZERO_TIME,
    Blueprint,
    BlueprintDefinition,
    BlueprintHistory,
    Conditions,
    Cron,
    FunctionSpec,
    Location,
    Process,
    SchemaProperty,
    ValidationSchema,
    WorkflowSpec,
)
from colonies.rpc import RPCError
from colonies.server import lifecycle
from colonies.server.context import ServerContext
from colonies.server.specs import check_spec, new_process, random_id
from colonies.store.base import AlreadyExists
from colonies.timeutil import format_ns, now_ns, parse_ns

CRON_INTERVAL = 60  # seconds between the periodic reconciliations of a kind at a location
MAX_CRONS = 1_000_000  # crons of a colony read when looking one up by name


# --- Go's value formatting, for the texts of validation errors


def go_type(value: Any) -> str:
    """The Go type (``%T``) a decoded JSON value has on the Go server."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "map[string]interface {}"
    return "[]interface {}"


def _go_float(number: float) -> str:
    """A float64 as Go's ``%v`` prints it (``strconv.FormatFloat(f, 'g', -1, 64)``)."""
    if number != number:
        return "NaN"
    if number in (float("inf"), float("-inf")):
        return "+Inf" if number > 0 else "-Inf"
    if number == 0:
        return "0"
    sign, digits, exponent = Decimal(repr(number)).normalize().as_tuple()
    text = "".join(map(str, digits))
    assert isinstance(exponent, int)
    point = len(text) + exponent  # the decimal point's position after the first digit
    exp = point - 1
    eprec = 6
    if eprec > len(text) and len(text) >= point:
        eprec = len(text)
    minus = "-" if sign else ""
    if exp < -4 or exp >= eprec:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{minus}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{minus}0.{'0' * -point}{text}"
    if point >= len(text):
        return minus + text + "0" * (point - len(text))
    return f"{minus}{text[:point]}.{text[point:]}"


def go_value(value: Any) -> str:
    """A decoded JSON value as Go's ``%v`` prints it."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _go_float(float(value))
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_value(value[k])}" for k in sorted(value)) + "]"
    return "[" + " ".join(go_value(v) for v in value) + "]"


def _go_equal(a: Any, b: Any) -> bool:
    """Go's ``==`` on two ``interface{}`` JSON values (objects and lists never match)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return a is None and b is None


def _canonical(value: Any) -> Any:
    """A JSON value as Go compares it after a round trip (every number a float64)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    return [_canonical(v) for v in value]


def go_numbers(value: Any) -> Any:
    """JSON numbers as Go writes them back: every number is a float64 there, so ``3.0``
    comes back as ``3`` (below 1e21, where Go switches to exponent form, as Python does)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, dict):
        return {k: go_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [go_numbers(v) for v in value]
    return value


def same_spec(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether two specs are equal as Go's diff sees them (``2`` and ``2.0`` are)."""
    return json.dumps(_canonical(old), sort_keys=True) == json.dumps(
        _canonical(new), sort_keys=True
    )


# --- schema validation


class SchemaError(ValueError):
    """A blueprint's spec does not fit its definition's schema."""


_TYPES: dict[str, tuple[str, Any]] = {
    "string": ("a string", lambda v: isinstance(v, str)),
    "number": ("a number", lambda v: isinstance(v, int | float) and not isinstance(v, bool)),
    "boolean": ("a boolean", lambda v: isinstance(v, bool)),
    "object": ("an object", lambda v: isinstance(v, dict)),
    "array": ("an array", lambda v: isinstance(v, list)),
}


def _check_field(name: str, value: Any, prop: SchemaProperty) -> None:
    expected = _TYPES.get(prop.type)
    if expected is not None and not expected[1](value):
        raise SchemaError(f"field '{name}' must be {expected[0]}, got {go_type(value)}")
    if prop.type == "array" and prop.items is not None:
        for i, item in enumerate(value):
            _check_field(f"{name}[{i}]", item, prop.items)
    if prop.enum and not any(_go_equal(value, allowed) for allowed in prop.enum):
        raise SchemaError(
            f"field '{name}' must be one of {go_value(prop.enum)}, got {go_value(value)}"
        )
    if prop.type == "object" and prop.properties:
        for key, nested in value.items():
            inner = prop.properties.get(key)
            if inner is not None:
                _check_field(f"{name}.{key}", nested, inner)


def validate(spec: dict[str, Any], schema: ValidationSchema | None) -> None:
    """Raise ``SchemaError`` if ``spec`` does not fit ``schema`` (no schema: anything fits)."""
    if schema is None:
        return
    for required in schema.required:
        if required not in spec:
            raise SchemaError(f"required field '{required}' is missing")
    for key, value in spec.items():
        prop = schema.properties.get(key)
        if prop is not None:
            _check_field(key, value, prop)


def check_blueprint(blueprint: Blueprint, definition: BlueprintDefinition | None) -> None:
    """Refuse (400) a blueprint without a kind, without a definition of its kind in its
    colony, or whose spec does not fit the definition's schema."""
    meta = blueprint.metadata
    if not blueprint.kind:
        raise RPCError(400, "blueprint kind is required")
    if definition is None:
        raise RPCError(
            400,
            f"BlueprintDefinition for kind '{blueprint.kind}' not found in namespace "
            f"'{meta.colonyname}'",
        )
    try:
        validate(blueprint.spec, definition.spec.schema)
    except SchemaError as e:
        raise RPCError(400, f"blueprint validation failed: {e}") from None


def check_times(blueprint: Blueprint) -> None:
    """Refuse (400) metadata times that are not RFC3339, as Go's decoder does; keep the others
    in the one form every time here has (UTC, trailing zeros trimmed)."""
    meta = blueprint.metadata
    for name in ("createdat", "updatedat", "lastreconciliationtime"):
        text = getattr(meta, name)
        try:
            setattr(meta, name, format_ns(parse_ns(text)) if text else ZERO_TIME)
        except ValueError:
            raise RPCError(400, f"Failed to parse message: metadata.{name}: {text!r}") from None


def history(blueprint: Blueprint, changedby: str, changetype: str) -> BlueprintHistory:
    return BlueprintHistory(
        historyid=str(uuid.uuid4()),
        blueprintid=blueprint.blueprintid,
        kind=blueprint.kind,
        namespace=blueprint.metadata.colonyname,
        name=blueprint.metadata.name,
        generation=blueprint.metadata.generation,
        spec=json.loads(json.dumps(blueprint.spec)),
        status=json.loads(json.dumps(blueprint.status)),
        timestamp=format_ns(now_ns()),
        changedby=changedby,
        changetype=changetype,
    )


# --- what reconcilers are given


def cron_name(kind: str, locationname: str) -> str:
    """The reconciliation cron of a kind at a location: ``reconcile-<kind>[-<location>]``."""
    return f"reconcile-{kind}-{locationname}" if locationname else f"reconcile-{kind}"


def function_spec(
    colonyname: str,
    executortype: str,
    funcname: str,
    locationname: str,
    kwargs: dict[str, Any],
    nodename: str = "",
) -> FunctionSpec:
    """Go's ``CreateEmptyFunctionSpec`` filled in: no time limits, retried forever."""
    return FunctionSpec(
        nodename=nodename or f"{executortype}-{funcname}",
        funcname=funcname,
        kwargs=dict(sorted(kwargs.items())),
        maxexectime=-1,
        maxretries=-1,
        conditions=Conditions(
            colonyname=colonyname, executortype=executortype, locationname=locationname
        ),
    )


def reconcile_spec(
    blueprint: Blueprint, definition: BlueprintDefinition, *, force: bool = False
) -> FunctionSpec:
    """The process that reconciles one blueprint now."""
    handler = definition.spec.handler
    kwargs: dict[str, Any] = {"kind": blueprint.kind, "blueprintName": blueprint.metadata.name}
    if force:
        kwargs["force"] = True
    return function_spec(
        blueprint.metadata.colonyname,
        handler.executortype,
        handler.functionname,
        blueprint.metadata.locationname,
        kwargs,
    )


def cleanup_spec(blueprint: Blueprint, definition: BlueprintDefinition) -> FunctionSpec:
    """The process that tears down what a removed blueprint made."""
    executortype = definition.spec.handler.executortype
    return function_spec(
        blueprint.metadata.colonyname,
        executortype,
        "cleanup",
        blueprint.metadata.locationname,
        {"kind": blueprint.kind, "blueprintName": blueprint.metadata.name},
        nodename=f"{executortype}-cleanup",
    )


def cron_workflow(
    colonyname: str, kind: str, definition: BlueprintDefinition, locationname: str
) -> str:
    """The workflow (JSON) of a kind's reconciliation cron: every blueprint of the kind at the
    location, reconciled by one process."""
    handler = definition.spec.handler
    spec = function_spec(
        colonyname, handler.executortype, handler.functionname, locationname, {"kind": kind}
    )
    workflow = WorkflowSpec(colonyname=colonyname, functionspecs=[spec])
    return jsoncodec.dumps_text(workflow.to_dict())


# --- doing it


async def initiator(ctx: ServerContext, colonyname: str, signer: str) -> str | None:
    """The name of the signer as an executor or a user of the colony; ``None`` for anyone
    else (the colony owner), as Go's ``resolveInitiator``."""
    executor = await ctx.store.get_executor_by_id(colonyname, signer)
    if executor is not None:
        return executor.executorname
    user = await ctx.store.get_user_by_id(colonyname, signer)
    return user.name if user is not None else None


async def submit(ctx: ServerContext, spec: FunctionSpec, signer: str, name: str) -> Process:
    """Submit a reconciler's process, initiated by the signer."""
    cpu, memory = check_spec(spec)
    new = new_process(
        spec, initiatorid=signer, initiatorname=name, now=now_ns(), cpu=cpu, memory=memory
    )
    await lifecycle.submit(ctx, new.process, cpu=cpu, memory=memory)
    return new.process


async def find_cron(ctx: ServerContext, colonyname: str, name: str) -> Cron | None:
    for cron in await ctx.store.get_crons(colonyname, MAX_CRONS):
        if cron.name == name:
            return cron
    return None


async def ensure_cron(
    ctx: ServerContext,
    blueprint: Blueprint,
    definition: BlueprintDefinition,
    signer: str,
    name: str,
) -> None:
    """Add the reconciliation cron of the blueprint's kind and location unless it exists."""
    meta = blueprint.metadata
    cronname = cron_name(blueprint.kind, meta.locationname)
    if await find_cron(ctx, meta.colonyname, cronname) is not None:
        return
    cron = Cron(
        cronid=random_id(),
        initiatorid=signer,
        initiatorname=name,
        colonyname=meta.colonyname,
        name=cronname,
        interval=CRON_INTERVAL,
        workflowspec=cron_workflow(meta.colonyname, blueprint.kind, definition, meta.locationname),
        waitforprevprocessgraph=True,
    )
    with contextlib.suppress(AlreadyExists):  # added meanwhile by a concurrent add
        await ctx.store.add_cron(cron)


async def drop_cron(ctx: ServerContext, blueprint: Blueprint) -> None:
    """Remove the kind's cron at the blueprint's location if no blueprint of the kind is left
    there."""
    meta = blueprint.metadata
    left = await ctx.store.get_blueprints(meta.colonyname, blueprint.kind)
    if any(other.metadata.locationname == meta.locationname for other in left):
        return
    cron = await find_cron(ctx, meta.colonyname, cron_name(blueprint.kind, meta.locationname))
    if cron is not None:
        await ctx.store.remove_cron(cron.cronid)


async def ensure_location(ctx: ServerContext, blueprint: Blueprint) -> None:
    """Add the blueprint's location to its colony if it is not there (as Go does)."""
    meta = blueprint.metadata
    if not meta.locationname or await ctx.store.get_location(meta.colonyname, meta.locationname):
        return
    location = Location(
        locationid=random_id(),
        name=meta.locationname,
        colonyname=meta.colonyname,
        description=f"Auto-created from blueprint {meta.name}",
    )
    with contextlib.suppress(AlreadyExists):
        await ctx.store.add_location(location)
