"""The Capsule Python worker: runs untrusted cells for a host over framed pipes (docs/protocol.md).

Standard library only. Modules are imported lazily so a worker is ready fast; run it with
``python -I -S -m capsule_worker``.
"""
