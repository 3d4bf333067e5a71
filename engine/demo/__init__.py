"""The built-in demo training that `rlswarm-rules run` starts when given no command."""
