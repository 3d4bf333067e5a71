"""rlswarm-rules: supervise long trainings, evaluate alert rules, deliver alerts."""
