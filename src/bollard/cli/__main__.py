"""`python -m bollard.cli`: the same as the `bollard` command."""

from bollard.cli import main

main()
