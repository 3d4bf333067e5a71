"""`python -m engine`: the command line.

May import: cli
"""

from engine.cli.main import main

main()
