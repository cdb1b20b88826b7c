"""The recording path, on the writer thread: Capture -> CallRecord."""
