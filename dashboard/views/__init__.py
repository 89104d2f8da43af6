"""One page of the dashboard per module, each a `render()`."""
