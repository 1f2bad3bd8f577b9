"""``colonies blueprint``: desired state kept by reconciler executors (spec §4.11).

The Go CLI's commands and flags: ``add``/``update`` (``--spec`` file), ``get``, ``ls``
(``--kind``), ``set`` (one spec field, then a reconcile), ``remove``, ``reconcile``
(``--force``), ``history`` (``--limit``, ``--generation``), ``log`` (the reconcilers' logs) and
``doctor`` (checks reconcilers, their locations and heartbeats, replicas and the reconciliation
crons; ``--fix`` forces reconciliations and adds missing crons), and ``blueprint definition
add|get|ls|remove``. ``log`` and ``doctor`` are made of other calls, as in the Go CLI.
Definitions are added and removed with the colony owner key, the rest with the member key;
the colony is ``COLONIES_COLONY_NAME`` (or ``--colonyname``) unless the spec file names one.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from colonies.cli.context import (
    COLONY_OWNER,
    MEMBER,
    ColonyPrvKey,
    Host,
    Json,
    Port,
    PrvKey,
    colony_name,
    connect,
)
from colonies.cli.output import done, fail, fields, format_time, print_json, print_table, table
from colonies.client import Client
from colonies.errors import ColoniesError
from colonies.model import (
    Blueprint,
    BlueprintDefinition,
    BlueprintHistory,
    Conditions,
    Cron,
    Executor,
    ExecutorState,
    FunctionSpec,
    WorkflowSpec,
)
from colonies.timeutil import NS, now_ns, parse_ns

app = typer.Typer(help="Manage blueprints and blueprint definitions.", no_args_is_help=True)
definition_app = typer.Typer(help="Manage blueprint definitions (kinds).", no_args_is_help=True)
app.add_typer(definition_app, name="definition")

FOLLOW_INTERVAL = 1.0
STALE_AFTER = 120  # seconds without a word from a reconciler before doctor warns

ColonyName = Annotated[
    str | None,
    typer.Option("--colonyname", help="Colony (default: $COLONIES_COLONY_NAME)."),
]
Name = Annotated[str, typer.Option("--name", help="Blueprint name.")]
DefinitionName = Annotated[str, typer.Option("--name", help="BlueprintDefinition name.")]
SpecFile = Annotated[Path, typer.Option("--spec", dir_okay=False, help="JSON specification file.")]


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except OSError as e:
        fail(f"cannot read {path}: {e.strerror or e}")
    except json.JSONDecodeError as e:
        fail(f"{path} is not valid JSON: {e}")
    if not isinstance(data, dict):
        fail(f"{path} must hold a JSON object")
    return data


def _load(cls: Any, path: Path, colonyname: str | None) -> Any:
    """The spec file as ``cls`` (a Blueprint or a BlueprintDefinition), its colony filled in."""
    try:
        obj = cls.from_dict(_read(path))
    except ValueError as e:
        fail(f"{path}: {e}")
    if not obj.metadata.colonyname:
        obj.metadata.colonyname = colony_name(colonyname, "--colonyname")
    return obj


# --- definitions


@definition_app.command("add")
def definition_add(
    spec_file: SpecFile,
    as_json: Json = False,
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    colonyprvkey: ColonyPrvKey = None,
) -> None:
    """Add a BlueprintDefinition; prints its ID (colony owner key)."""
    definition: BlueprintDefinition = _load(BlueprintDefinition, spec_file, colonyname)
    with connect(host, port, COLONY_OWNER, colonyprvkey) as client:
        added = client.add_blueprint_definition(definition)
    if as_json:
        print_json(added.to_dict())
        return
    typer.echo(added.blueprintdefinitionid)
    done(f"BlueprintDefinition {added.metadata.name} (kind {added.spec.names.kind}) added")


def _definition_rows(d: BlueprintDefinition) -> list[tuple[str, str]]:
    schema = d.spec.schema
    return [
        ("ID", d.blueprintdefinitionid),
        ("Name", d.metadata.name),
        ("Colony", d.metadata.colonyname),
        ("Kind", d.spec.names.kind),
        ("API version", f"{d.spec.group}/{d.spec.version}"),
        ("Plural", d.spec.names.plural),
        ("Scope", d.spec.scope),
        ("Executor type", d.spec.handler.executortype),
        ("Function", d.spec.handler.functionname),
        ("Properties", ", ".join(sorted(schema.properties)) if schema else ""),
        ("Required", ", ".join(schema.required) if schema else ""),
    ]


@definition_app.command("get")
def definition_get(
    name: DefinitionName,
    as_json: Json = False,
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Show a BlueprintDefinition (member key)."""
    colony = colony_name(colonyname, "--colonyname")
    with connect(host, port, MEMBER, prvkey) as client:
        found = client.get_blueprint_definition(colony, name)
    if as_json:
        print_json(found.to_dict())
    else:
        print_table(fields(_definition_rows(found)))


@definition_app.command("ls")
def definition_ls(
    as_json: Json = False,
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """List the colony's BlueprintDefinitions (member key)."""
    colony = colony_name(colonyname, "--colonyname")
    with connect(host, port, MEMBER, prvkey) as client:
        found = client.get_blueprint_definitions(colony)
    if as_json:
        print_json([d.to_dict() for d in found])
        return
    rows = table(
        "Name",
        "Kind",
        "API version",
        "Executor type",
        "Function",
        empty="No blueprint definitions found",
    )
    for d in found:
        rows.add_row(
            d.metadata.name,
            d.spec.names.kind,
            f"{d.spec.group}/{d.spec.version}",
            d.spec.handler.executortype,
            d.spec.handler.functionname,
        )
    print_table(rows)


@definition_app.command("remove")
def definition_remove(
    name: DefinitionName,
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    colonyprvkey: ColonyPrvKey = None,
) -> None:
    """Remove a BlueprintDefinition no blueprint uses any more (colony owner key)."""
    colony = colony_name(colonyname, "--colonyname")
    with connect(host, port, COLONY_OWNER, colonyprvkey) as client:
        client.remove_blueprint_definition(colony, name)
    done(f"BlueprintDefinition {name} removed")


# --- blueprints


@app.command()
def add(
    spec_file: SpecFile,
    as_json: Json = False,
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Add a blueprint; prints its ID (member key). Its reconciler is started."""
    blueprint: Blueprint = _load(Blueprint, spec_file, colonyname)
    with connect(host, port, MEMBER, prvkey) as client:
        added = client.add_blueprint(blueprint)
    if as_json:
        print_json(added.to_dict())
        return
    typer.echo(added.blueprintid)
    done(f"Blueprint {added.metadata.name} (kind {added.kind}) added")


def _compact(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@app.command()
def get(
    name: Name,
    as_json: Json = False,
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Show a blueprint: metadata, spec and the status its reconciler reported (member key)."""
    colony = colony_name(colonyname, "--colonyname")
    with connect(host, port, MEMBER, prvkey) as client:
        blueprint = client.get_blueprint(colony, name)
    if as_json:
        print_json(blueprint.to_dict())
        return
    meta = blueprint.metadata
    print_table(
        fields(
            [
                ("ID", blueprint.blueprintid),
                ("Name", meta.name),
                ("Kind", blueprint.kind),
                ("Colony", meta.colonyname),
                ("Location", meta.locationname),
                ("Generation", str(meta.generation)),
                ("Created", format_time(meta.createdat)),
                ("Updated", format_time(meta.updatedat)),
                ("Last reconciled", format_time(meta.lastreconciliationtime)),
            ]
        )
    )
    for title, values in (("Spec", blueprint.spec), ("Status", blueprint.status)):
        if values:
            rows = table(title, "Value")
            for key in sorted(values):
                rows.add_row(key, _compact(values[key]))
            print_table(rows)


@app.command()
def ls(
    kind: Annotated[str, typer.Option("--kind", help="Filter by blueprint kind.")] = "",
    as_json: Json = False,
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """List the colony's blueprints (member key)."""
    colony = colony_name(colonyname, "--colonyname")
    with connect(host, port, MEMBER, prvkey) as client:
        found = client.get_blueprints(colony, kind)
    if as_json:
        print_json([b.to_dict() for b in found])
        return
    rows = table("Name", "Kind", "Location", "Generation", "Status", empty="No blueprints found")
    for b in found:
        status = ", ".join(f"{k}={_compact(v)}" for k, v in sorted(b.status.items()))
        rows.add_row(
            b.metadata.name, b.kind, b.metadata.locationname, str(b.metadata.generation), status
        )
    print_table(rows)


@app.command()
def update(
    spec_file: SpecFile,
    as_json: Json = False,
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Replace a blueprint with the spec file's (found by its name; member key)."""
    blueprint: Blueprint = _load(Blueprint, spec_file, colonyname)
    with connect(host, port, MEMBER, prvkey) as client:
        updated = client.update_blueprint(blueprint)
    if as_json:
        print_json(updated.to_dict())
        return
    done(f"Blueprint {updated.metadata.name} updated, generation {updated.metadata.generation}")


def set_field(spec: dict[str, Any], key: str, value: str) -> None:
    """Set an existing field of ``spec`` at dot path ``key`` (``spec.`` optional) to
    ``value`` read as JSON, else as a string; new fields are refused, as in the Go CLI."""
    path = key.removeprefix("spec.").split(".")
    current = spec
    for part in path[:-1]:
        if part not in current:
            fail(f"Invalid key path: '{key}' (field '{part}' does not exist in blueprint spec)")
        nested = current[part]
        if not isinstance(nested, dict):
            fail(f"Invalid key path: {key} (cannot navigate through non-object at '{part}')")
        current = nested
    if path[-1] not in current:
        fail(f"Invalid key: '{key}' (field '{path[-1]}' does not exist in blueprint spec)")
    try:
        current[path[-1]] = json.loads(value)
    except json.JSONDecodeError:
        current[path[-1]] = value


@app.command("set")
def set_(
    name: Name,
    key: Annotated[
        str, typer.Option("--key", help="Field key, dot notation for nested ('spec.replicas').")
    ],
    value: Annotated[str, typer.Option("--value", help="New value (JSON, else a string).")],
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Set one field of a blueprint's spec, then reconcile it (member key)."""
    colony = colony_name(colonyname, "--colonyname")
    with connect(host, port, MEMBER, prvkey) as client:
        blueprint = client.get_blueprint(colony, name)
        set_field(blueprint.spec, key, value)
        updated = client.update_blueprint(blueprint)
        done(f"Blueprint {name}: {key} = {value} (generation {updated.metadata.generation})")
        try:
            process = client.reconcile_blueprint(colony, name)
        except ColoniesError as e:
            done(f"Warning: failed to trigger reconciliation: {e}")
        else:
            done(f"Reconciliation triggered: process {process.processid}")


@app.command()
def remove(
    name: Name,
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Remove a blueprint; its reconciler cleans up (member key)."""
    colony = colony_name(colonyname, "--colonyname")
    with connect(host, port, MEMBER, prvkey) as client:
        client.remove_blueprint(colony, name)
    done(f"Blueprint {name} removed")


@app.command()
def reconcile(
    name: Name,
    force: Annotated[
        bool, typer.Option("--force", "-f", help="Bump the generation: recreate everything.")
    ] = False,
    as_json: Json = False,
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Reconcile a blueprint now; prints the process ID (member key)."""
    colony = colony_name(colonyname, "--colonyname")
    with connect(host, port, MEMBER, prvkey) as client:
        process = client.reconcile_blueprint(colony, name, force)
    if as_json:
        print_json(process.to_dict())
        return
    typer.echo(f"Reconciliation process submitted: {process.processid}")
    done(f"Use 'colonies log get --processid {process.processid}' to view progress")


def _history_detail(entry: BlueprintHistory) -> None:
    print_table(
        fields(
            [
                ("History ID", entry.historyid),
                ("Blueprint ID", entry.blueprintid),
                ("Name", entry.name),
                ("Kind", entry.kind),
                ("Generation", str(entry.generation)),
                ("Change", entry.changetype),
                ("Changed by", entry.changedby),
                ("Time", format_time(entry.timestamp)),
                ("Spec", json.dumps(entry.spec, indent=2, sort_keys=True)),
                ("Status", json.dumps(entry.status, indent=2, sort_keys=True)),
            ]
        )
    )


@app.command()
def history(
    name: Name,
    limit: Annotated[int, typer.Option("--limit", "-l", help="At most this many entries.")] = 10,
    generation: Annotated[
        int, typer.Option("--generation", "-g", help="Show this generation in detail.")
    ] = -1,
    as_json: Json = False,
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Show the recorded versions of a blueprint, the newest first (member key)."""
    colony = colony_name(colonyname, "--colonyname")
    with connect(host, port, MEMBER, prvkey) as client:
        blueprint = client.get_blueprint(colony, name)
        entries = client.get_blueprint_history(blueprint.blueprintid, limit)
    if not entries:
        done("No history found for this blueprint")
        return
    if generation >= 0:
        chosen = next((e for e in entries if e.generation == generation), None)
        if chosen is None:
            fail(f"Generation {generation} not found in history")
        if as_json:
            print_json(chosen.to_dict())
        else:
            _history_detail(chosen)
        return
    if as_json:
        print_json([e.to_dict() for e in entries])
        return
    rows = table("Generation", "Change", "Time", "Changed by", "Spec")
    for e in entries:
        rows.add_row(
            str(e.generation),
            e.changetype,
            format_time(e.timestamp),
            e.changedby,
            json.dumps(e.spec, sort_keys=True),
        )
    print_table(rows)


def _definition_of(client: Client, colonyname: str, kind: str) -> BlueprintDefinition | None:
    """The colony's definition of ``kind`` (found in the list, as the Go CLI does)."""
    for definition in client.get_blueprint_definitions(colonyname):
        if definition.spec.names.kind == kind:
            return definition
    return None


def _reconcilers(client: Client, colonyname: str, name: str) -> list[str]:
    """The executors whose logs ``log`` shows: those of the blueprint's handler type at its
    location, or (no name) every executor whose type mentions "reconciler"."""
    executors = client.get_executors(colonyname)
    if not name:
        return [e.executorname for e in executors if "reconciler" in e.executortype]
    blueprint = client.get_blueprint(colonyname, name)
    definition = _definition_of(client, colonyname, blueprint.kind)
    executortype = definition.spec.handler.executortype if definition else ""
    return [
        e.executorname
        for e in executors
        if e.locationname == blueprint.metadata.locationname
        and (not executortype or e.executortype == executortype)
    ]


@app.command()
def log(
    name: Annotated[
        str, typer.Option("--name", help="Blueprint (default: every reconciler's logs).")
    ] = "",
    count: Annotated[int, typer.Option("--count", "-c", help="Logs per reconciler.")] = 100,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Follow new logs.")] = False,
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Show the logs of the reconcilers of a blueprint, or of all reconcilers (member key)."""
    colony = colony_name(colonyname, "--colonyname")
    with connect(host, port, MEMBER, prvkey) as client:
        names = _reconcilers(client, colony, name)
        if not names:
            done(
                f"No reconciler found for blueprint {name}'s location"
                if name
                else "No reconciler executors found"
            )
            return
        if follow:
            _follow(client, colony, names, count)
            return
        for reconciler in names:
            logs = client.get_logs(colony, executorname=reconciler, count=count, latest=True)
            if logs:
                typer.echo(f"=== {reconciler} ===")
                for entry in logs:
                    typer.echo(entry.message, nl=not entry.message.endswith("\n"))
                typer.echo()


def _follow(client: Client, colonyname: str, names: list[str], count: int) -> None:
    since = dict.fromkeys(names, 0)
    try:
        while True:
            for reconciler in names:
                logs = client.get_logs(
                    colonyname, executorname=reconciler, count=count, since=since[reconciler]
                )
                for entry in logs:
                    message = (
                        entry.message if entry.message.endswith("\n") else entry.message + "\n"
                    )
                    typer.echo(f"[{reconciler}] {message}", nl=False)
                if logs:
                    since[reconciler] = logs[-1].timestamp
            time.sleep(FOLLOW_INTERVAL)
    except KeyboardInterrupt:
        done("Stopped following")


# --- doctor


class Doctor:
    """The checks of ``blueprint doctor``, counting issues found and fixed."""

    def __init__(self, client: Client, colonyname: str, fix: bool) -> None:
        self.client, self.colonyname, self.fix = client, colonyname, fix
        self.found = self.fixed = 0
        executors = client.get_executors(colonyname)
        self.executors = executors
        self.crons = {c.name: c for c in client.get_crons(colonyname, 1000)}
        self.definitions = {
            d.spec.names.kind: d for d in client.get_blueprint_definitions(colonyname)
        }
        self.by_location: dict[str, list[Executor]] = {}
        self.by_type: dict[str, list[Executor]] = {}
        for e in executors:
            if "reconciler" in e.executortype:
                self.by_location.setdefault(e.locationname, []).append(e)
                self.by_type.setdefault(e.executortype, []).append(e)

    def ok(self, text: str) -> None:
        typer.echo(f"  [OK] {text}")

    def issue(self, level: str, text: str, *hints: str) -> None:
        self.found += 1
        typer.echo(f"  [{level}] {text}")
        for hint in hints:
            typer.echo(f"          {hint}")

    def check(self, blueprint: Blueprint) -> None:
        meta = blueprint.metadata
        location = meta.locationname
        typer.echo(f"=== {meta.name} ===")
        definition = self.definitions.get(blueprint.kind)
        handler = definition.spec.handler.executortype if definition else ""
        here = self.by_location.get(location, [])
        if here:
            self.ok(f"Reconciler found at location '{location}': {here[0].executorname}")
        else:
            hints = [f"Available locations with reconcilers: {', '.join(self.by_location)}"]
            self.issue(
                "ERROR",
                f"No reconciler found at location '{location}'",
                *(hints if self.by_location else []),
            )
        if handler:
            self._check_type(handler, location)
        if here:
            self._check_heartbeat(here[0])
        if blueprint.kind == "ExecutorDeployment":
            self._check_replicas(blueprint)
        if handler and definition is not None:
            self._check_cron(blueprint, definition)
        typer.echo()

    def _check_type(self, handler: str, location: str) -> None:
        of_type = self.by_type.get(handler, [])
        if not of_type:
            hints = [f"Available reconciler types: {', '.join(self.by_type)}"]
            self.issue(
                "ERROR", f"No executor of type '{handler}' found", *(hints if self.by_type else [])
            )
        elif all(e.locationname != location for e in of_type):
            self.issue(
                "ERROR",
                f"Reconciler type '{handler}' exists but not at location '{location}'",
                "Reconcilers of this type are at: " + ", ".join(e.locationname for e in of_type),
            )
        else:
            self.ok(f"Handler type '{handler}' matches reconciler at location")

    def _check_heartbeat(self, reconciler: Executor) -> None:
        heard = parse_ns(reconciler.lastheardfromtime)
        ago = max(0, (now_ns() - heard) // NS)
        if not heard:
            self.issue(
                "WARN",
                f"Reconciler '{reconciler.executorname}' was never heard from (may be offline)",
            )
        elif ago > STALE_AFTER:
            self.issue(
                "WARN",
                f"Reconciler '{reconciler.executorname}' last heard from {ago}s ago "
                "(may be offline)",
            )
        else:
            self.ok(f"Reconciler '{reconciler.executorname}' is active (last heard {ago}s ago)")

    def _check_replicas(self, blueprint: Blueprint) -> None:
        desired = blueprint.spec.get("replicas")
        if isinstance(desired, bool) or not isinstance(desired, int | float) or desired <= 0:
            return
        gen, name = blueprint.metadata.generation, blueprint.metadata.name
        running = 0
        for e in self.executors:
            if e.state != ExecutorState.APPROVED:
                continue
            if e.blueprintid == blueprint.blueprintid:
                running += e.blueprintgen == gen
            elif not e.blueprintid:
                running += _named_replica(e.executorname, name, gen)
        if running >= int(desired):
            if running == int(desired):
                self.ok(f"All {int(desired)} replicas running")
            return
        text = f"Only {running}/{int(desired)} replicas running"
        if not self.fix:
            self.issue(
                "WARN",
                text,
                f"Run: colonies blueprint log --name {name}",
                f"Try: colonies blueprint reconcile --name {name} --force",
            )
            return
        self.issue("WARN", text)
        try:
            self.client.reconcile_blueprint(self.colonyname, name, True)
        except ColoniesError as e:
            typer.echo(f"  [FAILED] Failed to trigger reconciliation: {e}")
        else:
            self.fixed += 1
            typer.echo("  [FIXED] Triggered force reconciliation")

    def _check_cron(self, blueprint: Blueprint, definition: BlueprintDefinition) -> None:
        location = blueprint.metadata.locationname
        expected = f"reconcile-{blueprint.kind}" + (f"-{location}" if location else "")
        if expected in self.crons:
            self.ok(f"Reconciliation cron '{expected}' exists")
            return
        if not self.fix:
            self.issue(
                "ERROR",
                f"Missing reconciliation cron '{expected}'",
                "This blueprint won't be periodically reconciled",
                "Run with --fix to create the missing cron",
            )
            return
        self.issue("ERROR", f"Missing reconciliation cron '{expected}'")
        spec = FunctionSpec(  # the Go CLI's: "reconcile" whatever the handler's function
            nodename="reconcile",
            funcname="reconcile",
            kwargs={"kind": blueprint.kind},
            maxexectime=-1,
            maxretries=-1,
            conditions=Conditions(
                colonyname=self.colonyname,
                executortype=definition.spec.handler.executortype,
                locationname=location,
            ),
        )
        workflow = WorkflowSpec(colonyname=self.colonyname, functionspecs=[spec])
        cron = Cron(
            colonyname=self.colonyname,
            name=expected,
            interval=60,
            waitforprevprocessgraph=True,
            workflowspec=json.dumps(workflow.to_dict()),
        )
        try:
            self.crons[expected] = self.client.add_cron(cron)
        except ColoniesError as e:
            typer.echo(f"  [FAILED] Failed to create cron: {e}")
        else:
            self.fixed += 1
            typer.echo(f"  [FIXED] Created cron '{expected}'")

    def summary(self) -> None:
        if not self.found:
            typer.echo("No issues found!")
            return
        if self.fix:
            typer.echo(f"Found {self.found} issue(s), fixed {self.fixed}")
            if self.fixed < self.found:
                typer.echo("\nSome issues could not be auto-fixed:")
                typer.echo("  - Missing reconcilers: deploy a reconciler at the required location")
                typer.echo("  - Offline reconcilers: restart the reconciler process")
            return
        typer.echo(f"Found {self.found} issue(s)\n")
        typer.echo("Hints:")
        typer.echo("  - Run with --fix to automatically fix issues where possible")
        typer.echo("  - Check reconciler logs: colonies blueprint log --name <blueprint>")
        typer.echo(
            "  - Force reconciliation:  colonies blueprint reconcile --name <blueprint> --force"
        )
        typer.echo("  - List all executors:    colonies executor ls")


def _named_replica(executorname: str, blueprintname: str, generation: int) -> bool:
    """The Go CLI's fallback for executors without a blueprint ID: ``<name>-<x>-<gen>``."""
    hyphens = blueprintname.count("-")
    parts = executorname.split("-")
    if len(parts) != hyphens + 3 or "-".join(parts[: hyphens + 1]) != blueprintname:
        return False
    try:
        return int(parts[-1]) == generation
    except ValueError:
        return True


@app.command()
def doctor(
    name: Annotated[
        str, typer.Option("--name", help="Blueprint (default: check every blueprint).")
    ] = "",
    fix: Annotated[bool, typer.Option("--fix", help="Fix issues where possible.")] = False,
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Diagnose blueprints: reconcilers, locations, replicas, crons (member key)."""
    colony = colony_name(colonyname, "--colonyname")
    with connect(host, port, MEMBER, prvkey) as client:
        if fix:
            typer.echo("Running in FIX mode - will attempt to fix issues automatically\n")
        checked = [client.get_blueprint(colony, name)] if name else client.get_blueprints(colony)
        checker = Doctor(client, colony, fix)
        for blueprint in checked:
            checker.check(blueprint)
        checker.summary()
