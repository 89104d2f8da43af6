"""`make up`'s note to the person at the terminal: where the Dagster UI is, once it answers."""

from __future__ import annotations

import sys
import time
import urllib.request


def main(url: str, timeout_s: float = 600) -> int:
    began = time.time()
    while time.time() - began < timeout_s:
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=2):
                print(f"\n  Dagster UI ready at {url} after {time.time() - began:.0f} s "
                      "(the local playground and both Azure solutions; Ctrl-C stops everything)\n", flush=True)
                return 0
        except OSError:
            time.sleep(1)
    print(f"\n  The Dagster UI did not answer at {url} within {timeout_s:.0f} s: see the log above\n", flush=True)
    return 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1]))
    except KeyboardInterrupt:  # Ctrl-C stops `make up` as a whole
        sys.exit(130)
