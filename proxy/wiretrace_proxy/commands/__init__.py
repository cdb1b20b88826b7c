"""The CLI's commands."""
