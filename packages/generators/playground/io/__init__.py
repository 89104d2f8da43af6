"""Where generated data lands: the lake (files), the orders database and the event bus."""
