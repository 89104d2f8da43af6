"""Seeded, vectorised generators for the playground's sources and the sinks they land in."""
