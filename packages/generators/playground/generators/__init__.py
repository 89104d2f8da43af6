"""Seeded, vectorised generators for the playground's sources, writing through playground.io."""
