"""`python -m rtsales` entry point."""

from rtsales.cli import main

main()
