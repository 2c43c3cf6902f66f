"""Load balancer target groups and blue/green traffic shifting (docs/semantics.md, "Blue/green")."""
