"""`hatui serve`: the read-only wallboard for browsers. One collector per cluster (the hub, in the
serve process) however many browsers watch; each browser's wallboard process is fed the hub's
readings over a private Unix socket and holds no credential and no SSH connection."""
