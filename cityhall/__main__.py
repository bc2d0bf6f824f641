"""Allow `python -m cityhall ...`, the same as the `cityhall` console script."""

from cityhall.cli import main

main()
