"""The ``dsge-agents`` command. One module per subcommand, each with ``register(subparsers)``."""
