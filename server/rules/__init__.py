"""Pure business rules: the working-day clock, the item catalog, traffic lights.

Nothing in this package imports Flask, SQLAlchemy or SpiffWorkflow, and nothing reads the
system clock: "now" and the calendar are always passed in, so every rule is testable alone.
"""
