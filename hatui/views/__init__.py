"""View models: pure functions from engine state to what the console and wallboard show."""
