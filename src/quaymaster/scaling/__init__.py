"""Service and cluster auto scaling: Application Auto Scaling, capacity provider strategies,
managed scaling of capacity providers, and Auto Scaling groups.

Every piece is a self-contained state object or a pure function that the
region calls on each whole minute of the virtual clock (docs/semantics.md,
"Scaling").
"""
