"""Adapters that plug an :class:`~edge_embed.Embedder` into other libraries' embedding interfaces.

Each adapter is its own module and imports its library only when that module is imported.
"""
