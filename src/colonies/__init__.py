"""ColonyOS in Python: wire model, crypto, RPC envelope and SDK (portable: stdlib only)."""

__version__ = "0.1.0"
