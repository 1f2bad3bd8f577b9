"""A FunctionSpec becomes a new WAITING process: the checks, the resource needs normalized the
way Go re-reads them, prioritytime, the wait deadline and the ENV attributes.

Shared by ``submitfuncspecmsg`` and the workflows (each step of a submitted graph, a child added
at run time), so a step is checked and stored exactly like a process submitted alone.
"""

from __future__ import annotations

import uuid
from typing import Any

from colonies import crypto
from colonies.model import (
    MAX_PRIORITY,
    MIN_PRIORITY,
    Attribute,
    AttributeType,
    FunctionSpec,
    Process,
    ProcessState,
)
from colonies.rpc import RPCError
from colonies.store.base import NewProcess
from colonies.timeutil import NS, format_ns
from colonies.units import parse_cpu, parse_memory

DAY_NS = 86_400 * NS
# Go stores the spec's time limits and retries in 32-bit columns and refuses larger ones; the
# bound also keeps deadlines (now + seconds * NS) inside int64.
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
MIB = 2**20


def random_id() -> str:
    """IDs of processes and other server-made objects: SHA3-256 of a random UUID, like Go."""
    return crypto.sha3_hex(str(uuid.uuid4()))


def attribute_id(targetid: str, key: str, attributetype: int) -> str:
    return crypto.sha3_hex(f"{targetid}{key}{attributetype}")


def parse_resource(parse: Any, text: str, what: str) -> int:
    try:
        return int(parse(text))
    except ValueError as e:
        raise RPCError(400, f"Invalid {what}: {e}") from None


def _mebibytes(size: int) -> str:
    return f"{size // MIB}Mi"


def check_spec(spec: FunctionSpec) -> tuple[int, int]:
    """Refuse a spec the server cannot run (400) and normalize its resource needs in place
    (millicores and whole MiB, as Go re-reads them: "0m", "0Mi"); returns (cpu, memory)."""
    cond = spec.conditions
    if not MIN_PRIORITY <= spec.priority <= MAX_PRIORITY:
        raise RPCError(
            400,
            f"Failed to submit function spec, priority outside range "
            f"[{MIN_PRIORITY}, {MAX_PRIORITY}]",
        )
    if not cond.executortype and not cond.executornames:
        raise RPCError(400, "Invalid function spec: conditions.executortype must be set")
    for name in ("maxwaittime", "maxexectime", "maxretries"):  # INTEGER columns in Go's store
        if not INT32_MIN <= getattr(spec, name) <= INT32_MAX:
            raise RPCError(
                400, f"Invalid function spec: {name} must be in [{INT32_MIN}, {INT32_MAX}]"
            )
    cpu = parse_resource(parse_cpu, cond.cpu, "conditions.cpu")
    memory = parse_resource(parse_memory, cond.mem, "conditions.mem")
    cond.cpu, cond.mem = f"{cpu}m", _mebibytes(memory)
    cond.storage = _mebibytes(parse_resource(parse_memory, cond.storage, "conditions.storage"))
    cond.gpu.mem = _mebibytes(parse_resource(parse_memory, cond.gpu.mem, "conditions.gpu.mem"))
    if cond.executornames == ["*"]:
        cond.executornames = []
    return cpu, memory


def new_process(
    spec: FunctionSpec,
    *,
    initiatorid: str,
    initiatorname: str,
    now: int,
    cpu: int,
    memory: int,
    processid: str = "",
    processgraphid: str = "",
) -> NewProcess:
    """A WAITING process for a checked spec (``check_spec``), submitted at ``now``."""
    processid = processid or random_id()
    colonyname = spec.conditions.colonyname
    process = Process(
        processid=processid,
        initiatorid=initiatorid,
        initiatorname=initiatorname,
        state=ProcessState.WAITING,
        prioritytime=now - spec.priority * DAY_NS,
        submissiontime=format_ns(now),
        waitdeadline=format_ns(now + spec.maxwaittime * NS if spec.maxwaittime > 0 else 0),
        spec=spec,
        processgraphid=processgraphid,
        attributes=[
            Attribute(
                attributeid=attribute_id(processid, key, AttributeType.ENV),
                targetid=processid,
                targetcolonyname=colonyname,
                targetprocessgraphid=processgraphid,
                attributetype=AttributeType.ENV,
                key=key,
                value=value,
            )
            for key, value in spec.env.items()
        ],
    )
    return NewProcess(process, cpu, memory)
