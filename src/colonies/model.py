"""The ColonyOS wire model: the JSON objects of the protocol as dataclasses.

JSON names are exactly the Go server's (spec §5). Decoding is tolerant the way Go's
``encoding/json`` is: missing fields and ``null`` take the default, unknown fields are ignored and
names match case-insensitively. It is strict about types, because a string where an int belongs is
a client bug that must surface as a clear 400, not as a crash deep in a handler. Encoding emits
every field, with ``[]``/``{}`` instead of ``null`` so that strict clients (pycolonies' pydantic
models, the Rust SDK) parse our replies.

Stdlib only: this module runs unchanged in Pyodide.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Self

ZERO_TIME = "0001-01-01T00:00:00Z"
MIN_PRIORITY = -50000
MAX_PRIORITY = 50000


class ProcessState(IntEnum):
    WAITING = 0
    RUNNING = 1
    SUCCESS = 2
    FAILED = 3
    CANCELLED = 4


class ExecutorState(IntEnum):
    PENDING = 0
    APPROVED = 1
    REJECTED = 2
    UNREGISTERED = 3


class AttributeType(IntEnum):
    IN = 0
    OUT = 1
    ERR = 2
    ENV = 3


class WireError(ValueError):
    """A JSON document does not fit the wire model (wrong type, not an object)."""


def _json(name: str, *, omitempty: bool = False) -> dict[str, Any]:
    return {"json": name, "omitempty": omitempty}


class Wire:
    """Mixin giving a dataclass ``to_dict``/``from_dict`` with the protocol's JSON names."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if f.metadata.get("omitempty") and not value:
                continue
            out[f.metadata.get("json", f.name)] = _encode(value)
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Self:
        return typing.cast(Self, _decode(cls, data, cls.__name__))


def _encode(value: Any) -> Any:
    if isinstance(value, Wire):
        return value.to_dict()
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, IntEnum):
        return int(value)
    return value


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    """Resolved field types, computed once per class (decoding is on every request's path)."""
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def _decode(tp: Any, value: Any, where: str) -> Any:
    """Convert decoded JSON ``value`` into type ``tp``; ``where`` names the spot for errors."""
    if tp is Any:
        return value
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _decode(inner[0], value, where)
    if isinstance(tp, type) and issubclass(tp, Wire):
        if not isinstance(value, dict):
            raise WireError(f"{where}: expected an object, got {_kind(value)}")
        lowered = {k.lower(): v for k, v in value.items()}
        kwargs: dict[str, Any] = {}
        hints = _hints(tp)
        for f in dataclasses.fields(tp):  # type: ignore[arg-type]
            raw = lowered.get(f.metadata.get("json", f.name))
            if raw is not None:
                kwargs[f.name] = _decode(hints[f.name], raw, f"{where}.{f.name}")
        return tp(**kwargs)
    if origin is list:
        if not isinstance(value, list):
            raise WireError(f"{where}: expected a list, got {_kind(value)}")
        (item,) = typing.get_args(tp)
        return [_decode(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise WireError(f"{where}: expected an object, got {_kind(value)}")
        _, item = typing.get_args(tp)
        return {str(k): _decode(item, v, f"{where}.{k}") for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise WireError(f"{where}: expected a boolean, got {_kind(value)}")
        return value
    if tp is int or (isinstance(tp, type) and issubclass(tp, IntEnum)):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise WireError(f"{where}: expected an integer, got {_kind(value)}")
        return value
    if tp is float:
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise WireError(f"{where}: expected a number, got {_kind(value)}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise WireError(f"{where}: expected a string, got {_kind(value)}")
        return value
    raise TypeError(f"unsupported wire type {tp!r} at {where}")


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, int | float) else "null"
    )


# --- colonies, users, locations ----------------------------------------------------------


@dataclass
class Colony(Wire):
    colonyid: str = ""
    name: str = ""


@dataclass
class User(Wire):
    colonyname: str = ""
    userid: str = ""
    name: str = ""
    email: str = ""
    phone: str = ""


@dataclass
class Location(Wire):
    locationid: str = ""
    name: str = ""
    colonyname: str = ""
    description: str = ""
    long: float = 0.0
    lat: float = 0.0


# --- executors ----------------------------------------------------------------------------


@dataclass
class GPU(Wire):
    name: str = ""
    mem: str = ""
    count: int = 0
    nodecount: int = 0


@dataclass
class Hardware(Wire):
    model: str = ""
    nodes: int = 0
    cpu: str = ""
    cores: int = 0
    mem: str = ""
    storage: str = ""
    gpu: GPU = field(default_factory=GPU)
    platform: str = ""
    architecture: str = ""
    network: list[str] = field(default_factory=list)


@dataclass
class Software(Wire):
    name: str = ""
    type: str = ""
    version: str = ""


@dataclass
class Capabilities(Wire):
    hardware: list[Hardware] = field(default_factory=list)
    software: list[Software] = field(default_factory=list)


@dataclass
class ProjectAllocation(Wire):
    allocatedcpu: int = 0
    usedcpu: int = 0
    allocatedgpu: int = 0
    usedgpu: int = 0
    allocatedstorage: int = 0
    usedstorage: int = 0


@dataclass
class Allocations(Wire):
    projects: dict[str, ProjectAllocation] = field(default_factory=dict)


@dataclass
class Executor(Wire):
    executorid: str = ""
    executortype: str = ""
    executorname: str = ""
    colonyname: str = ""
    state: int = ExecutorState.PENDING
    requirefuncreg: bool = False
    commissiontime: str = ZERO_TIME
    lastheardfromtime: str = ZERO_TIME
    locationname: str = field(default="", metadata=_json("locationname", omitempty=True))
    capabilities: Capabilities = field(default_factory=Capabilities)
    allocations: Allocations = field(default_factory=Allocations)
    blueprintid: str = field(default="", metadata=_json("blueprintid", omitempty=True))
    blueprintgen: int = field(default=0, metadata=_json("blueprintgen", omitempty=True))


# --- function specs and processes ---------------------------------------------------------


@dataclass
class Conditions(Wire):
    colonyname: str = ""
    executornames: list[str] = field(default_factory=list)
    executortype: str = ""
    locationname: str = field(default="", metadata=_json("locationname", omitempty=True))
    dependencies: list[str] = field(default_factory=list)
    nodes: int = 0
    cpu: str = ""
    processes: int = 0
    processespernode: int = 0
    mem: str = ""
    storage: str = ""
    gpu: GPU = field(default_factory=GPU)
    walltime: int = 0


@dataclass
class SnapshotMount(Wire):
    snapshotid: str = ""
    label: str = ""
    dir: str = ""
    keepfiles: bool = False
    keepsnapshot: bool = False


@dataclass
class ConflictResolution(Wire):
    keeplocal: bool = False


@dataclass
class OnConflicts(Wire):
    onstart: ConflictResolution = field(default_factory=ConflictResolution)
    onclose: ConflictResolution = field(default_factory=ConflictResolution)


@dataclass
class SyncDirMount(Wire):
    label: str = ""
    dir: str = ""
    keepfiles: bool = False
    onconflicts: OnConflicts = field(default_factory=OnConflicts)


@dataclass
class Filesystem(Wire):
    mount: str = ""
    snapshots: list[SnapshotMount] = field(default_factory=list)
    dirs: list[SyncDirMount] = field(default_factory=list)


@dataclass
class FunctionSpec(Wire):
    """What to run and where: the body of ``submitfuncspecmsg``.

    ``maxwaittime``/``maxexectime``/``maxretries`` default to 0 like Go's zero values; this server
    treats 0 (and -1) as "no limit" for the two times, and ``maxretries`` only matters when an
    exec time limit is set (-1: re-queue forever, N: fail after N re-queues).
    """

    nodename: str = ""
    funcname: str = ""
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    priority: int = 0
    maxwaittime: int = 0
    maxexectime: int = 0
    maxretries: int = 0
    conditions: Conditions = field(default_factory=Conditions)
    label: str = ""
    fs: Filesystem = field(default_factory=Filesystem)
    env: dict[str, str] = field(default_factory=dict)
    channels: list[str] = field(default_factory=list, metadata=_json("channels", omitempty=True))


@dataclass
class Attribute(Wire):
    attributeid: str = ""
    targetid: str = ""
    targetcolonyname: str = ""
    targetprocessgraphid: str = ""
    state: int = 0
    attributetype: int = AttributeType.IN
    key: str = ""
    value: str = ""


@dataclass
class Process(Wire):
    processid: str = ""
    initiatorid: str = ""
    initiatorname: str = ""
    assignedexecutorid: str = ""
    isassigned: bool = False
    state: int = ProcessState.WAITING
    prioritytime: int = 0
    submissiontime: str = ZERO_TIME
    starttime: str = ZERO_TIME
    endtime: str = ZERO_TIME
    waitdeadline: str = ZERO_TIME
    execdeadline: str = ZERO_TIME
    retries: int = 0
    attributes: list[Attribute] = field(default_factory=list)
    spec: FunctionSpec = field(default_factory=FunctionSpec)
    waitforparents: bool = False
    parents: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    processgraphid: str = ""
    input: list[Any] = field(default_factory=list, metadata=_json("in"))
    output: list[Any] = field(default_factory=list, metadata=_json("out"))
    errors: list[str] = field(default_factory=list)


# --- functions, logs, statistics, failures -----------------------------------------------


@dataclass
class FunctionArg(Wire):
    name: str = ""
    type: str = ""
    description: str = field(default="", metadata=_json("description", omitempty=True))
    required: bool = field(default=False, metadata=_json("required", omitempty=True))
    enum: list[str] = field(default_factory=list, metadata=_json("enum", omitempty=True))


@dataclass
class Function(Wire):
    functionid: str = ""
    executorname: str = ""
    executortype: str = ""
    colonyname: str = ""
    funcname: str = ""
    description: str = field(default="", metadata=_json("description", omitempty=True))
    args: list[FunctionArg] = field(default_factory=list, metadata=_json("args", omitempty=True))
    counter: int = 0
    minwaittime: float = 0.0
    maxwaittime: float = 0.0
    minexectime: float = 0.0
    maxexectime: float = 0.0
    avgwaittime: float = 0.0
    avgexectime: float = 0.0
    locationname: str = field(default="", metadata=_json("locationname", omitempty=True))


@dataclass
class Log(Wire):
    processid: str = ""
    colonyname: str = ""
    executorname: str = ""
    message: str = ""
    timestamp: int = 0


@dataclass
class Statistics(Wire):
    colonies: int = 0
    executors: int = 0
    activeexecutors: int = 0
    unregisteredexecutors: int = 0
    waitingprocesses: int = 0
    runningprocesses: int = 0
    successfulprocesses: int = 0
    failedprocesses: int = 0
    cancelledprocesses: int = 0
    waitingworkflows: int = 0
    runningworkflows: int = 0
    successfulworkflows: int = 0
    failedworkflows: int = 0
    cancelledworkflows: int = 0


@dataclass
class Failure(Wire):
    status: int = 0
    message: str = ""


@dataclass
class Backend(Wire):
    type: str = ""
    host: str = ""
    port: int = 0
    tls: bool = field(default=False, metadata=_json("tls", omitempty=True))
    insecure: bool = field(default=False, metadata=_json("insecure", omitempty=True))


@dataclass
class ServerInfo(Wire):
    buildversion: str = ""
    buildtime: str = ""
    backends: list[Backend] = field(default_factory=list)
