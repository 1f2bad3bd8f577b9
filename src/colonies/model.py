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

import base64
import binascii
import dataclasses
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Self

ZERO_TIME = "0001-01-01T00:00:00Z"
MIN_PRIORITY = -50000
MAX_PRIORITY = 50000
# Go decodes every integer field into an int or int64 and refuses a JSON number outside that
# range; so do we, so that nothing out of range reaches arithmetic, SQLite or a Go client.
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


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


def _json(name: str, *, omitempty: bool = False, omitnil: bool = False) -> dict[str, Any]:
    """A field's JSON name; ``omitempty`` leaves out a falsy value, ``omitnil`` only ``None``
    (Go's omitempty on an ``interface{}``: ``false`` and ``0`` are still written)."""
    return {"json": name, "omitempty": "nil" if omitnil else omitempty}


class Wire:
    """Mixin giving a dataclass ``to_dict``/``from_dict`` with the protocol's JSON names."""

    def to_dict(self) -> dict[str, Any]:
        return typing.cast(dict[str, Any], _encoder(type(self))(self))

    @classmethod
    def from_dict(cls, data: Any) -> Self:
        return typing.cast(Self, _converter(cls)(data, (cls.__name__,)))


# Converters and encoders are built once per type from the type hints, so that the per-object
# work is a loop over a precomputed plan (no reflection on every request: ~5x faster).
Path = tuple[Any, ...]  # (parent path, field) pairs, formatted only when reporting an error
Converter = Callable[[Any, Path], Any]
_CONVERTERS: dict[Any, Converter] = {}
_ENCODERS: dict[type, Callable[[Any], Any]] = {}


def _where(path: Path) -> str:
    parts: list[str] = []
    while len(path) == 2:
        path, last = path
        parts.append(f"[{last}]" if isinstance(last, int) else f".{last}")
    return str(path[0]) + "".join(reversed(parts))


def _fail(path: Path, expected: str, value: Any) -> WireError:
    return WireError(f"{_where(path)}: expected {expected}, got {_kind(value)}")


def _converter(tp: Any) -> Converter:
    conv = _CONVERTERS.get(tp)
    if conv is None:
        conv = _CONVERTERS[tp] = _build_converter(tp)
    return conv


def _build_converter(tp: Any) -> Converter:
    origin = typing.get_origin(tp)
    if tp is Any:
        return lambda value, path: value
    if origin in (typing.Union, types.UnionType):
        inner = _converter(next(a for a in typing.get_args(tp) if a is not type(None)))
        return lambda value, path: None if value is None else inner(value, path)
    if isinstance(tp, type) and issubclass(tp, Wire):
        return _object_converter(tp)
    if origin is list:
        item_type = typing.get_args(tp)[0]
        item = _converter(item_type)

        def convert_list(value: Any, path: Path) -> Any:
            if type(value) is not list:
                raise _fail(path, "a list", value)
            if item_type is Any:  # args, in, out: JSON as it came (megabytes, at C speed)
                return list(value)
            return [item(v, (path, i)) for i, v in enumerate(value)]

        return convert_list
    if origin is dict:
        entry_type = typing.get_args(tp)[1]
        entry = _converter(entry_type)

        def convert_dict(value: Any, path: Path) -> Any:
            if type(value) is not dict:
                raise _fail(path, "an object", value)
            if entry_type is Any:  # kwargs; keys of decoded JSON are always strings
                return {str(k): v for k, v in value.items()}
            return {str(k): entry(v, (path, k)) for k, v in value.items()}

        return convert_dict
    if tp is bool:

        def convert_bool(value: Any, path: Path) -> Any:
            if type(value) is not bool:
                raise _fail(path, "a boolean", value)
            return value

        return convert_bool
    if tp is int or (isinstance(tp, type) and issubclass(tp, IntEnum)):

        def convert_int(value: Any, path: Path) -> Any:
            if type(value) is float and value.is_integer():
                value = int(value)
            elif type(value) is not int:
                if not isinstance(value, int) or isinstance(value, bool):
                    raise _fail(path, "an integer", value)
                value = int(value)  # IntEnum members
            if not INT64_MIN <= value <= INT64_MAX:
                raise WireError(f"{_where(path)}: expected an integer, got one out of int64 range")
            return value

        return convert_int
    if tp is float:

        def convert_float(value: Any, path: Path) -> Any:
            if type(value) is float:
                return value
            if type(value) is int:
                try:
                    return float(value)
                except OverflowError:  # an integer literal beyond float64, as Go refuses it
                    raise WireError(f"{_where(path)}: expected a number in float64 range") from None
            raise _fail(path, "a number", value)

        return convert_float
    if tp is bytes:  # --- channels (spec §4.10): Go's []byte, base64 or a list of bytes ---

        def convert_bytes(value: Any, path: Path) -> Any:
            if type(value) is str:
                try:
                    return base64.b64decode(value, validate=True)
                except (binascii.Error, ValueError):
                    raise _fail(path, "base64 bytes", value) from None
            if type(value) is list and all(type(b) is int and 0 <= b <= 255 for b in value):
                return bytes(value)  # pycolonies sends payloads as lists of byte values
            raise _fail(path, "base64 bytes or a list of byte values", value)

        return convert_bytes
    if tp is str:

        def convert_str(value: Any, path: Path) -> Any:
            if type(value) is not str:
                raise _fail(path, "a string", value)
            return value

        return convert_str
    raise TypeError(f"unsupported wire type {tp!r}")


def _object_converter(cls: type[Wire]) -> Converter:
    hints = typing.get_type_hints(cls)
    plan = [
        (f.name, f.metadata.get("json", f.name), hints[f.name])
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
    ]
    compiled: list[tuple[str, str, Converter]] = []

    def convert_object(value: Any, path: Path) -> Any:
        if type(value) is not dict:
            raise _fail(path, "an object", value)
        if not compiled:  # resolved on first use, so nested classes may come in any order
            # keys are looked up lower-cased: camelCase names (blueprints) match any case too
            compiled.extend((name, key.lower(), _converter(tp)) for name, key, tp in plan)
        if not all(map(str.islower, value)):  # Go matches names case-insensitively
            value = {k.lower(): v for k, v in value.items()}
        kwargs = {}
        for name, key, convert in compiled:
            raw = value.get(key)
            if raw is not None:
                kwargs[name] = convert(raw, (path, name))
        return cls(**kwargs)

    return convert_object


def _encoder(cls: type) -> Callable[[Any], Any]:
    enc = _ENCODERS.get(cls)
    if enc is None:
        enc = _ENCODERS[cls] = _build_encoder(cls)
    return enc


def _value_encoder(tp: Any) -> Callable[[Any], Any] | None:
    """How to encode a field of type ``tp``; ``None`` when the value is JSON as it is."""
    origin = typing.get_origin(tp)
    if isinstance(tp, type) and issubclass(tp, Wire):
        return lambda value: _encoder(type(value))(value)
    args = typing.get_args(tp)
    if origin is list and args and isinstance(args[0], type) and issubclass(args[0], Wire):
        return lambda value: [_encoder(type(v))(v) for v in value]
    if origin is dict and args and isinstance(args[1], type) and issubclass(args[1], Wire):
        return lambda value: {k: _encoder(type(v))(v) for k, v in value.items()}
    if origin in (list, dict):
        return _encode
    if origin in (typing.Union, types.UnionType):  # ``X | None`` (blueprints): None stays None
        inner = _value_encoder(next(a for a in args if a is not type(None)))
        return None if inner is None else (lambda value: None if value is None else inner(value))
    if tp is bytes:  # channels (spec §4.10): Go writes []byte as base64
        return lambda value: base64.b64encode(value).decode("ascii")
    return None


def _build_encoder(cls: type) -> Callable[[Any], Any]:
    hints = typing.get_type_hints(cls)
    plan = [
        (
            f.name,
            f.metadata.get("json", f.name),
            _value_encoder(hints[f.name]),
            f.metadata.get("omitempty") or False,  # True, False or "nil" (omitnil)
        )
        for f in dataclasses.fields(cls)
    ]

    def encode(obj: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, key, enc, omitempty in plan:
            value = getattr(obj, name)
            if omitempty and not value and (omitempty is True or value is None):
                continue
            out[key] = value if enc is None else enc(value)
        return out

    return encode


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _encode(value: Any) -> Any:
    """Encode JSON-ish values that may hold model objects (``args``, ``kwargs``, ``in``…).

    Scalars are copied without a call each: megabytes of arguments are mostly scalars.
    """
    if type(value) is list:
        if _SCALARS.issuperset(map(type, value)):  # the common case, checked and copied in C
            return value.copy()
        return [v if type(v) in _SCALARS else _encode(v) for v in value]
    if type(value) is dict:
        if _SCALARS.issuperset(map(type, value.values())):
            return value.copy()
        return {k: v if type(v) in _SCALARS else _encode(v) for k, v in value.items()}
    if isinstance(value, Wire):
        return value.to_dict()
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    return value


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


# --- workflows: process graphs, crons, generators (spec §4.6, §4.8, §6.5-6.7) --------------


@dataclass
class WorkflowSpec(Wire):
    """A DAG of function specs: each names its parents in ``conditions.dependencies``."""

    colonyname: str = ""
    functionspecs: list[FunctionSpec] = field(default_factory=list)


@dataclass
class ProcessGraph(Wire):
    """A submitted workflow. ``nodes``/``edges`` (for drawing the graph: ``{id, data: {label},
    position: {x, y}, type, style}`` and ``{id: "src-dst", source, target, animated}``) are
    computed when one graph is read."""

    processgraphid: str = ""
    initiatorid: str = ""
    initiatorname: str = ""
    colonyname: str = ""
    rootprocessids: list[str] = field(default_factory=list)
    state: int = ProcessState.WAITING
    submissiontime: str = ZERO_TIME
    starttime: str = ZERO_TIME
    endtime: str = ZERO_TIME
    processids: list[str] = field(default_factory=list)
    nodes: list[Any] = field(default_factory=list)
    edges: list[Any] = field(default_factory=list)


@dataclass
class Cron(Wire):
    """Starts ``workflowspec`` (a WorkflowSpec as a JSON string) on a schedule: every
    ``interval`` seconds, or at the times of a 6-field ``cronexpression`` (interval -1)."""

    cronid: str = ""
    initiatorid: str = ""
    initiatorname: str = ""
    colonyname: str = ""
    name: str = ""
    cronexpression: str = ""
    interval: int = 0
    random: bool = False
    nextrun: str = ZERO_TIME
    lastrun: str = ZERO_TIME
    workflowspec: str = ""
    prevprocessgraphid: str = ""
    waitforprevprocessgraph: bool = False
    checkerperiod: int = 0


@dataclass
class Generator(Wire):
    """Starts ``workflowspec`` when ``trigger`` packed args have arrived, or ``timeout``
    seconds after the first of fewer; the args become the root processes' ``args``."""

    generatorid: str = ""
    initiatorid: str = ""
    initiatorname: str = ""
    colonyname: str = ""
    name: str = ""
    workflowspec: str = ""
    trigger: int = 0
    timeout: int = 0
    firstpack: str = ZERO_TIME
    lastrun: str = ZERO_TIME
    queuesize: int = 0
    checkerperiod: int = 0


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


# --- cluster (spec §4.12, Go's pkg/cluster/config.go) -------------------------------------


@dataclass
class ClusterNode(Wire):
    """A server of the cluster; ``port`` is Go's etcd client port (0 on our servers)."""

    name: str = ""
    host: str = ""
    port: int = 0
    peerport: int = 0
    relayport: int = 0
    apiport: int = 0


@dataclass
class Cluster(Wire):
    nodes: list[ClusterNode] = field(default_factory=list)
    leader: ClusterNode = field(default_factory=ClusterNode)


# --- files and snapshots (ColonyFS, spec §4.9) ----------------------------------------------


@dataclass
class S3Object(Wire):
    """Where a file's bytes are: ``object`` in ``bucket`` of an S3-compatible store."""

    server: str = ""
    port: int = 0
    tls: bool = False
    accesskey: str = ""
    secretkey: str = ""
    region: str = ""
    encryptionkey: str = ""
    encryptionalg: str = ""
    object: str = ""
    bucket: str = ""


@dataclass
class Reference(Wire):
    protocol: str = ""
    s3object: S3Object = field(default_factory=S3Object)


@dataclass
class File(Wire):
    """One revision of a file in ColonyFS: metadata only, the bytes are at ``ref``."""

    fileid: str = ""
    colonyname: str = ""
    label: str = ""
    name: str = ""
    size: int = 0
    sequencenr: int = 0
    checksum: str = ""
    checksumalg: str = ""
    ref: Reference = field(default_factory=Reference)
    added: str = ZERO_TIME


@dataclass
class FileData(Wire):
    """The latest revision of a file under a label (``getfilesmsg``)."""

    name: str = ""
    checksum: str = ""
    size: int = 0
    s3filename: str = ""


@dataclass
class Label(Wire):
    name: str = ""
    files: int = 0


@dataclass
class Snapshot(Wire):
    """The latest revisions of every file under ``label`` (and its sub-labels) at one time."""

    snapshotid: str = ""
    colonyname: str = ""
    label: str = ""
    name: str = ""
    fileids: list[str] = field(default_factory=list)
    added: str = ZERO_TIME


# --- channels (spec §4.10) ---


@dataclass
class ChannelEntry(Wire):
    """One message of a process channel (Go's ``MsgEntry``): ``channelreadmsg`` replies and
    ``/pubsub`` channel frames carry lists of these. ``payload`` travels as base64;
    ``type`` is "data" unless the sender said "end" or "error"; ``error`` is set by the server
    on a frame that ends a subscription."""

    sequence: int = 0
    inreplyto: int = field(default=0, metadata=_json("inreplyto", omitempty=True))
    timestamp: str = ZERO_TIME
    senderid: str = ""
    payload: bytes = b""
    type: str = field(default="", metadata=_json("type", omitempty=True))
    error: str = field(default="", metadata=_json("error", omitempty=True))


# --- blueprints (spec §4.11) ---


@dataclass
class BlueprintMetadata(Wire):
    """Metadata of a blueprint or a blueprint definition (Go's camelCase names for the times)."""

    name: str = ""
    colonyname: str = ""
    locationname: str = field(default="", metadata=_json("locationname", omitempty=True))
    labels: dict[str, str] = field(default_factory=dict, metadata=_json("labels", omitempty=True))
    annotations: dict[str, str] = field(
        default_factory=dict, metadata=_json("annotations", omitempty=True)
    )
    generation: int = field(default=0, metadata=_json("generation", omitempty=True))
    createdat: str = field(default=ZERO_TIME, metadata=_json("createdAt"))
    updatedat: str = field(default=ZERO_TIME, metadata=_json("updatedAt"))
    lastreconciliationprocess: str = field(
        default="", metadata=_json("lastReconciliationProcess", omitempty=True)
    )
    lastreconciliationtime: str = field(default=ZERO_TIME, metadata=_json("lastReconciliationTime"))


@dataclass
class Blueprint(Wire):
    """Desired state of something a reconciler executor manages: ``spec`` is checked against
    the schema of the colony's BlueprintDefinition of ``kind``; reconcilers report ``status``."""

    blueprintid: str = ""
    kind: str = ""
    metadata: BlueprintMetadata = field(default_factory=BlueprintMetadata)
    spec: dict[str, Any] = field(default_factory=dict)
    status: dict[str, Any] = field(default_factory=dict, metadata=_json("status", omitempty=True))


@dataclass
class BlueprintNames(Wire):
    kind: str = ""
    listkind: str = field(default="", metadata=_json("listKind"))
    singular: str = ""
    plural: str = ""
    shortnames: list[str] = field(
        default_factory=list, metadata=_json("shortNames", omitempty=True)
    )


@dataclass
class SchemaProperty(Wire):
    type: str = field(default="", metadata=_json("type", omitempty=True))
    description: str = field(default="", metadata=_json("description", omitempty=True))
    enum: list[Any] = field(default_factory=list, metadata=_json("enum", omitempty=True))
    default: Any = field(default=None, metadata=_json("default", omitnil=True))
    properties: dict[str, SchemaProperty] = field(
        default_factory=dict, metadata=_json("properties", omitempty=True)
    )
    items: SchemaProperty | None = field(default=None, metadata=_json("items", omitempty=True))


@dataclass
class ValidationSchema(Wire):
    type: str = field(default="", metadata=_json("type", omitempty=True))
    properties: dict[str, SchemaProperty] = field(
        default_factory=dict, metadata=_json("properties", omitempty=True)
    )
    required: list[str] = field(default_factory=list, metadata=_json("required", omitempty=True))


@dataclass
class BlueprintHandler(Wire):
    """Which executors reconcile blueprints of a kind, and with which function."""

    executortype: str = field(default="", metadata=_json("executorType"))
    functionname: str = field(default="", metadata=_json("functionName"))
    reconcileinterval: int = field(default=0, metadata=_json("reconcileInterval", omitempty=True))


@dataclass
class BlueprintDefinitionSpec(Wire):
    group: str = ""
    version: str = ""
    names: BlueprintNames = field(default_factory=BlueprintNames)
    scope: str = ""
    schema: ValidationSchema | None = field(default=None, metadata=_json("schema", omitempty=True))
    handler: BlueprintHandler = field(default_factory=BlueprintHandler)


@dataclass
class BlueprintDefinition(Wire):
    """A blueprint kind of a colony (``metadata.colonyname``): its schema and its handler."""

    blueprintdefinitionid: str = ""
    kind: str = ""
    metadata: BlueprintMetadata = field(default_factory=BlueprintMetadata)
    spec: BlueprintDefinitionSpec = field(default_factory=BlueprintDefinitionSpec)


@dataclass
class BlueprintHistory(Wire):
    """A blueprint as it was after a change (``changetype`` "create" or "update")."""

    historyid: str = ""
    blueprintid: str = ""
    kind: str = ""
    namespace: str = ""
    name: str = ""
    generation: int = 0
    spec: dict[str, Any] = field(default_factory=dict)
    status: dict[str, Any] = field(default_factory=dict, metadata=_json("status", omitempty=True))
    timestamp: str = ZERO_TIME
    changedby: str = ""
    changetype: str = ""
