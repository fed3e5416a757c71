"""The command line: one module per `gatewayd` subcommand, each with add_arguments() and run()."""
