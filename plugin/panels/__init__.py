"""One panel per workflow tab of the dock."""
