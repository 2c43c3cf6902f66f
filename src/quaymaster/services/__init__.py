"""Services over time: REPLICA and DAEMON scheduling, rolling deployments, events."""
