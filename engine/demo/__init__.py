"""The built-in demo training that `rlswarm-rules run` starts when given no command.

May import: nothing of engine (`train.py` runs as a script in the training's interpreter).
"""
