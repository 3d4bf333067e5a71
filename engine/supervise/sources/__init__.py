"""Where observations come from: the child, its probe, the machine, and files on disk."""
