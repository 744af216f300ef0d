"""Relay's object identification: every object with an opaque global ID is a Node, found again by `node(id)`."""
