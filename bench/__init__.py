"""The colonies benchmark suite: ``bench/run`` (see docs/performance.md).

Every scenario starts its own server as a separate process on 127.0.0.1 with a fresh data
directory, drives it with ``AsyncClient`` load generators and returns ``Result`` rows.
"""
