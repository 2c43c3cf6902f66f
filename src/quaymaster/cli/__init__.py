"""The ``quaymaster`` command line: one module per subcommand."""
