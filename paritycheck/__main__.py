"""``python -m paritycheck``."""

from paritycheck.cli import main

main()
