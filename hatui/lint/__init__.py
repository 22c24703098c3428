"""`hatui lint`: keepalived configs checked on their own and against each other."""
