"""``python -I -S -m capsule_worker`` (or ``import capsule_worker.__main__``) runs the worker.

Importing this module starts the worker: the host's launcher does exactly that with ``-c``.
"""


def main():
    """Run the worker until the host sends ``shutdown`` or closes the pipe."""
    from capsule_worker.boot import run

    run()


main()
