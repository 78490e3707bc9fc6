"""`python -m fenliu`: the same commands as `fenliu`."""
from fenliu.cli import main

main(prog_name="fenliu")
