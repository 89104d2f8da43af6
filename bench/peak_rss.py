"""Run a command and print its peak RSS in KiB.

A small launcher of its own, because ru_maxrss survives exec: a child forked from a big
process starts with that process's high-water mark."""

import os
import sys

if __name__ == "__main__":
    pid = os.posix_spawnp(sys.argv[1], sys.argv[1:], os.environ)
    _, status, usage = os.wait4(pid, 0)
    print(usage.ru_maxrss)
    sys.exit(os.waitstatus_to_exitcode(status))
