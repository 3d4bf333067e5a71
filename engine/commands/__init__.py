"""The commands of the `rlswarm-rules` CLI, one module per topic."""
