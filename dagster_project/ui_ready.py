"""`make up`'s note to the person at the terminal: where the Dagster UI is, once it answers."""

from __future__ import annotations

import sys
import time
import urllib.request


def wait_for_ui(url: str, timeout_s: float = 600) -> float | None:
    """Seconds until the Dagster webserver at url answers, or None if it did not within timeout_s."""
    began = time.time()
    while time.time() - began < timeout_s:
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=2):
                return time.time() - began
        except OSError:
            time.sleep(1)
    return None


def ready_line(url: str, seconds: float) -> str:
    return (f"Dagster UI ready at {url} after {seconds:.0f} s (the local playground and both Azure solutions; "
            "Ctrl-C stops everything)")


def main(url: str, timeout_s: float = 600) -> int:
    seconds = wait_for_ui(url, timeout_s)
    if seconds is None:
        print(f"\n  The Dagster UI did not answer at {url} within {timeout_s:.0f} s: see the log above\n", flush=True)
        return 1
    print(f"\n  {ready_line(url, seconds)}\n", flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1]))
    except KeyboardInterrupt:  # Ctrl-C stops `make up` as a whole
        sys.exit(130)
