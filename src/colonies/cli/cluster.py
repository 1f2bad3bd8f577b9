"""``colonies cluster info``: the servers behind the API and which one leads (server key).

Works against the Go server (its etcd cluster) and ours (the replicas sharing a PostgreSQL
database, or the one SQLite server); ours run no etcd and no relay, so those ports are 0.
"""

from __future__ import annotations

import typer
from rich.text import Text

from colonies.cli.context import SERVER_OWNER, Host, Json, Port, ServerPrvKey, connect
from colonies.cli.output import print_json, print_table, table

app = typer.Typer(help="Show the cluster of servers.", no_args_is_help=True)


@app.command()
def info(
    host: Host = None, port: Port = None, serverprvkey: ServerPrvKey = None, as_json: Json = False
) -> None:
    """List the cluster's servers and mark the leader (server key)."""
    with connect(host, port, SERVER_OWNER, serverprvkey) as client:
        cluster = client.get_cluster()
    if as_json:
        print_json(cluster.to_dict())
        return
    result = table(
        "Name", "Host", "API port", "Etcd client port", "Etcd peer port", "Relay port", "Leader"
    )
    for node in cluster.nodes:
        leading = bool(cluster.leader.name) and node.name == cluster.leader.name
        result.add_row(
            node.name,
            node.host,
            str(node.apiport),
            str(node.port),
            str(node.peerport),
            str(node.relayport),
            Text("yes", style="green") if leading else Text("no"),
        )
    print_table(result)
