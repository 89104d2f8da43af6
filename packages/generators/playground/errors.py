class PlaygroundError(Exception):
    """A problem the user can fix: the message says what was wrong and what to do."""
