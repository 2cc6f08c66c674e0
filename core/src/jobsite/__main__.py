"""``python -m jobsite``: the same as the ``jobsite`` command."""

from jobsite.cli import main

main()
