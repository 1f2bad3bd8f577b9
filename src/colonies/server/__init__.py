"""The ColonyOS server: an ASGI app over a ``Store``."""

from colonies.server.app import create_app
from colonies.server.context import ServerConfig

__all__ = ["ServerConfig", "create_app"]
