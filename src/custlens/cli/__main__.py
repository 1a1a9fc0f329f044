"""`python -m custlens.cli`."""

from custlens.cli import main

main()
