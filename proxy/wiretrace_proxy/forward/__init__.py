"""The request path, on the event loop: bytes and times only."""
